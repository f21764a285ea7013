// MUST NOT compile: an optional response header (`format: date`) may be absent. (expected: TS2322)
import { createClient } from "book-catalog-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
const result = await api.getLoan({ bookId: "0190" });
export const day: string = result.status === 200 ? result.xLoanedOn : "";
