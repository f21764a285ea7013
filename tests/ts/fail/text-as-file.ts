// MUST NOT compile: a file (`format: binary`) is a Blob, not its text. (expected: TS2322)
import { createClient } from "book-catalog-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
export const call = api.uploadCover({ bookId: "0190", body: { cover: "the bytes" } });
