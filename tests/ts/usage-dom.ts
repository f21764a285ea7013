// With the DOM library, the platform's `fetch` and `AbortSignal` fit the client's options.
import { createClient } from "keel-api-client";

const controller = new AbortController();
const api = createClient({ baseUrl: "https://api.example.com", fetch, timeoutMs: 5_000 });
export const pending = api.getUser({ userId: "0190" }, { signal: controller.signal, retry: { attempts: 2 } });
