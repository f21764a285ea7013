// MUST NOT compile: `displayName` is required by NewUser. (expected: TS2741)
import { createClient } from "keel-api-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
export const call = api.createUser({ body: { email: "ada@example.com" } });
