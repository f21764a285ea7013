// MUST NOT compile: `data` exists only once the status says success. (expected: TS2339)
import { createClient } from "keel-api-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
const result = await api.getUser({ userId: "0190" });
export const email = result.data.email;
