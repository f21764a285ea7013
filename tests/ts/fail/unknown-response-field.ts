// MUST NOT compile: a User has no `password`. (expected: TS2339)
import { createClient } from "keel-api-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
const result = await api.getUser({ userId: "0190" });
export const leaked = result.status === 200 ? result.data.password : undefined;
