// The `unions` fixture's client at run time: responses with `oneOf` bodies are
// checked by discriminator, or by which single variant they fit.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createClient, type FetchFunction } from "pet-shelter-client";

function answering(status: number, body: unknown): FetchFunction {
  return async () => ({ status, headers: { get: () => null }, text: async () => JSON.stringify(body) });
}

const dog = { kind: "dog", id: "01900000-0000-7000-8000-000000000001", name: "Rex", goodBoy: null };

test("a discriminated body is checked against the variant it names", async () => {
  const ok = await createClient({ baseUrl: "http://x", fetch: answering(201, dog) }).admitPet({ body: { kind: "dog", name: "Rex" } });
  assert.equal(ok.status, 201);
  if (ok.status === 201 && ok.data.kind === "dog") assert.equal(ok.data.goodBoy, null);

  const parrot = await createClient({ baseUrl: "http://x", fetch: answering(201, { ...dog, kind: "parrot" }) }).admitPet({ body: { kind: "dog", name: "Rex" } });
  assert.equal(parrot.status, "invalid-response");

  const nameless = await createClient({ baseUrl: "http://x", fetch: answering(201, { kind: "cat", id: dog.id }) }).admitPet({ body: { kind: "cat", name: "Tom" } });
  assert.equal(nameless.status, "invalid-response");
  if (nameless.status === "invalid-response") assert.deepEqual(nameless.problems, ["body.name is missing"]);
});

test("an untagged body must fit exactly one variant", async () => {
  const shelter = (contact: unknown) => ({ id: dog.id, pets: [dog], contact });
  const get = (body: unknown) => createClient({ baseUrl: "http://x", fetch: answering(200, body) }).getShelter({ shelterId: dog.id });
  assert.equal((await get(shelter({ email: "a@example.com" }))).status, 200);
  assert.equal((await get(shelter({ fax: "1" }))).status, "invalid-response");
  assert.equal((await get({ ...shelter({ email: "a@example.com" }), stock: { kibble: 3 } })).status, 200);
  assert.equal((await get({ ...shelter({ email: "a@example.com" }), stock: { kibble: "lots" } })).status, "invalid-response", "map values are checked");
});
