// The README's usage example, compiled by `cargo xtask test` with `tsc --strict`
// under TypeScript 5.x and 7.x, with `lib: ["ES2022"]` alone and with DOM.
// README:begin
import { createClient, orThrow } from "keel-api-client";

const api = createClient({ baseUrl: "http://127.0.0.1:8080", token: async () => "access-token" });
const created = await api.createUser({ body: { email: "ada@example.com", displayName: "Ada", role: "customer" } });
if (created.status === 201) {
  const renamed = await orThrow(api.updateUser({ userId: created.data.id, ifMatch: created.etag, body: { displayName: "Ada L." } }));
  console.log(renamed.data.displayName);
} else if (created.status === 409) console.log(created.error.detail);
for await (const user of api.listUsersAll({ emailContains: "example.com" })) console.log(user.email);
// README:end

// Every status narrows, and the compiler checks that none is forgotten.
export function describe(result: Awaited<ReturnType<typeof api.getUser>>): string {
  switch (result.status) {
    case 200: return `${result.data.email} (${result.etag})`;
    case 400: case 401: case 403: case 404: case 429: case 500: return result.error.title;
    case 503: return `unavailable: try again in ${result.retryAfter ?? "a moment"} s`;
    case "network-error": case "timeout": case "aborted": return String(result.error);
    case "undocumented": return `unexpected ${result.httpStatus}`;
    case "invalid-response": return result.problems.join("; ");
    default: { const unreachable: never = result; return unreachable; }
  }
}

declare const console: { log(...values: unknown[]): void };
