// MUST NOT compile: `microchip` is write-only, so a response shape has none. (expected: TS2339)
import type { Cat } from "pet-shelter-client";

export const chip = (cat: Cat) => cat.microchip;
