// The `unions` fixture's client (tests/fixtures/unions): discriminated and
// untagged `oneOf`, and separate request/response shapes for read-only and
// write-only properties, type-checked like the project's own client.
import {
  createClient, type Adoption, type Animal, type Capacity, type Contact, type Pet, type PetInput, type PetList, type ShelterProfileBadge,
} from "pet-shelter-client";

export function describe(pet: Pet): string {
  switch (pet.kind) {
    case "cat": return `${pet.name} (${pet.id})`;
    case "dog": return pet.goodBoy === null ? pet.name : `${pet.name}${pet.goodBoy ? " (good)" : ""}`;
    default: { const unreachable: never = pet; return unreachable; }
  }
}

export function reach(contact: Contact): string {
  return "email" in contact ? contact.email : contact.phone;
}

const admitted: PetInput = { kind: "cat", name: "Tom", microchip: "985-112" };
const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
export const result = api.admitPet({ body: admitted }).then((r) => (r.status === 201 ? describe(r.data) : r.status));

export const names = (pets: PetList): string[] => pets.map(describe);
export const recent = api.listRecentPets().then((r) => (r.status === 200 ? names(r.data) : []));

export const city = api.getShelter({ shelterId: "0190" }).then((r) => (r.status === 200 ? r.data.labels?.["city"] ?? "" : ""));

// A base schema with a discriminator and no `oneOf` is the union of the schemas
// that extend it, narrowed by the discriminator; the base's properties are in each.
export function greet(animal: Animal): string {
  switch (animal.species) {
    case "bird": return `${animal.name} (${animal.wingspan ?? 0} m)`;
    case "Horse": return `${animal.name} (${animal.hooves} hooves)`;
    // `zebra` is the schema's name in the contract; its type is `Zebra`.
    case "zebra": return `${animal.name} (${animal.stripes ?? 0} stripes)`;
    default: { const unreachable: never = animal; return unreachable; }
  }
}
export const mascot = api.getShelter({ shelterId: "0190" }).then((r) => (r.status === 200 && r.data.mascot ? greet(r.data.mascot) : ""));

// `oneOf`/`anyOf` over primitives and inline schemas: unions of their types.
export function seats(capacity: Capacity): number {
  if (typeof capacity === "number") return capacity;
  if (capacity === "unlimited") return Infinity;
  return capacity.max - capacity.min;
}
export function badgeText(badge: ShelterProfileBadge): string {
  if (typeof badge === "string") return badge;
  if (Array.isArray(badge)) return badge.join(" ");
  if (typeof badge === "boolean") return badge ? "yes" : "no";
  return badge.text;
}
export const capacity: Capacity[] = [3, "unlimited", { min: 1, max: 9 }];

// Properties beside a `oneOf`: one object, narrowed by the discriminator;
// `phone` and `web` are both a `RemoteAdoption`, each its own member.
export function adoptedVia(adoption: Adoption): string {
  switch (adoption.channel) {
    case "walkIn": return `${adoption.adopter} visited on ${adoption.visitedOn}`;
    case "phone":
    case "web": return `${adoption.adopter} at ${adoption.contact} (${adoption.channel})`;
    case "partner": return `${adoption.adopter} through ${adoption.partner}`;
    default: { const unreachable: never = adoption; return unreachable; }
  }
}
export const adopted = api.recordAdoption({ body: { adopter: "Ann", channel: "web", contact: "ann@example.com" } })
  .then((r) => (r.status === 201 ? adoptedVia(r.data) : r.status));
