// MUST NOT compile: `id` is read-only, so a request shape has none. (expected: TS2353)
import type { PetInput } from "pet-shelter-client";

export const input: PetInput = { kind: "cat", id: "0190", name: "Tom" };
