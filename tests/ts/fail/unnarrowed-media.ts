// MUST NOT compile: `data` is JSON or bytes until `media` says which. (expected: TS2339)
import { createClient } from "book-catalog-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
const result = await api.exportTitles({ format: "json" });
export const added = result.status === 200 ? result.data.push("Emma") : 0;
