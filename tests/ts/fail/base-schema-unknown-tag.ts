// MUST NOT compile: an `Animal` is a `bird` or a `Horse`; the base's own name is no tag. (expected: TS2322)
import type { Animal } from "pet-shelter-client";

export const animal: Animal = { species: "Animal", name: "Ed", hooves: 4 };
