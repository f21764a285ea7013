// MUST NOT compile: `order` is "oldestFirst" | "newestFirst". (expected: TS2322)
import { createClient } from "keel-api-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
export const call = api.listUsers({ order: "sideways" });
