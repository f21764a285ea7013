// The client's own behaviour, against a stub `fetch`: retries, timeouts, aborts,
// undocumented statuses and response checking. No server needed.
import assert from "node:assert/strict";
import { test } from "node:test";

import { KeelError, createClient, orThrow, type FetchFunction, type FetchRequestInit } from "keel-api-client";

const user = {
  id: "01900000-0000-7000-8000-000000000001",
  email: "ada@example.com",
  displayName: "Ada",
  avatarUrl: null,
  role: "customer",
  phone: null,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
};

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

/** A fetch that answers from a script and records what it was asked. */
function scripted(replies: Reply[]): { fetch: FetchFunction; calls: Array<{ url: string; init: FetchRequestInit | undefined }> } {
  const calls: Array<{ url: string; init: FetchRequestInit | undefined }> = [];
  const fetch: FetchFunction = async (url, init) => {
    calls.push({ url, init });
    const reply = replies.shift();
    if (!reply) throw new Error("no scripted reply left");
    const headers = new Map(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      status: reply.status,
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      text: async () => (reply.body === undefined ? "" : JSON.stringify(reply.body)),
    };
  };
  return { fetch, calls };
}

const problem = (status: number) => ({ type: "urn:keel:problem:x", title: "X", status, detail: "d" });

test("a declared success narrows to typed data and documented headers", async () => {
  const { fetch, calls } = scripted([{ status: 200, body: user, headers: { ETag: '"1"' } }]);
  const api = createClient({ baseUrl: "http://api.test/", fetch, token: async () => "t0k3n" });
  const result = await api.getUser({ userId: "a/b" });
  assert.equal(result.status, 200);
  if (result.status === 200) {
    assert.equal(result.data.email, "ada@example.com");
    assert.equal(result.etag, '"1"');
  }
  assert.equal(calls[0]?.url, "http://api.test/v1/users/a%2Fb", "path segments are encoded");
  const headers = calls[0]?.init?.headers as Record<string, string>;
  assert.equal(headers.authorization, "Bearer t0k3n");
});

test("query parameters are sent when given and left out when not", async () => {
  const { fetch, calls } = scripted([{ status: 200, body: { items: [] } }]);
  const api = createClient({ baseUrl: "http://api.test", fetch });
  await api.listUsers({ limit: 5, emailContains: "a b", order: "newestFirst" });
  assert.equal(calls[0]?.url, "http://api.test/v1/users?limit=5&order=newestFirst&emailContains=a+b");
});

test("a declared error status carries the typed problem", async () => {
  const { fetch } = scripted([{ status: 404, body: problem(404) }]);
  const result = await createClient({ baseUrl: "http://api.test", fetch }).getUser({ userId: "x" });
  assert.equal(result.ok, false);
  assert.equal(result.status === 404 ? result.error.status : undefined, 404);
});

test("a status the contract does not declare is reported as undocumented", async () => {
  const { fetch } = scripted([{ status: 418, body: { teapot: true } }]);
  const result = await createClient({ baseUrl: "http://api.test", fetch }).getUser({ userId: "x" });
  assert.equal(result.status, "undocumented");
  if (result.status === "undocumented") assert.equal(result.httpStatus, 418);
});

test("a body of the wrong shape is reported as an invalid response", async () => {
  const { fetch } = scripted([{ status: 200, body: { ...user, email: 42, createdAt: undefined }, headers: { etag: '"1"' } }]);
  const result = await createClient({ baseUrl: "http://api.test", fetch }).getUser({ userId: "x" });
  assert.equal(result.status, "invalid-response");
  if (result.status === "invalid-response") {
    assert.deepEqual(result.problems.sort(), ["body.createdAt is missing", "body.email is not a string"]);
  }
});

test("a missing documented header is an invalid response", async () => {
  const { fetch } = scripted([{ status: 200, body: user }]);
  const result = await createClient({ baseUrl: "http://api.test", fetch }).getUser({ userId: "x" });
  assert.equal(result.status, "invalid-response");
});

test("idempotent calls retry on 503, honouring Retry-After", async () => {
  const { fetch, calls } = scripted([
    { status: 503, headers: { "retry-after": "0" } },
    { status: 200, body: user, headers: { etag: '"1"' } },
  ]);
  const result = await createClient({ baseUrl: "http://api.test", fetch }).getUser({ userId: "x" });
  assert.equal(result.status, 200);
  assert.equal(calls.length, 2);
});

test("a POST is retried only with an idempotency key", async () => {
  const created = { status: 201, body: user, headers: { etag: '"1"', location: "/v1/users/x" } };
  // The contract declares the 503 (database unavailable), so it comes back typed.
  const unavailable = { status: 503, body: problem(503), headers: { "retry-after": "0" } };
  const plain = scripted([unavailable, created]);
  const once = await createClient({ baseUrl: "http://api.test", fetch: plain.fetch, retry: { baseDelayMs: 1 } })
    .createUser({ body: { email: "a@b.c", displayName: "A" } });
  assert.equal(once.status, 503);
  assert.equal(plain.calls.length, 1, "no retry without a key");

  const keyed = scripted([unavailable, created]);
  const twice = await createClient({ baseUrl: "http://api.test", fetch: keyed.fetch, retry: { baseDelayMs: 1 } })
    .createUser({ body: { email: "a@b.c", displayName: "A" } }, { idempotencyKey: "k-1" });
  assert.equal(twice.status, 201);
  assert.equal(keyed.calls.length, 2);
  assert.equal((keyed.calls[1]?.init?.headers as Record<string, string>)["idempotency-key"], "k-1");
});

test("a call that outlives its timeout ends as a timeout", async () => {
  const hanging: FetchFunction = (_url, init) =>
    new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
  const result = await createClient({ baseUrl: "http://api.test", fetch: hanging, retry: false }).getUser({ userId: "x" }, { timeoutMs: 20 });
  assert.equal(result.status, "timeout");
});

test("a call aborted by its signal ends as aborted", async () => {
  const hanging: FetchFunction = (_url, init) =>
    new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
  const controller = new AbortController();
  const pending = createClient({ baseUrl: "http://api.test", fetch: hanging }).getUser({ userId: "x" }, { signal: controller.signal });
  controller.abort();
  assert.equal((await pending).status, "aborted");
});

test("orThrow returns the success and throws a KeelError holding anything else", async () => {
  const ok = scripted([{ status: 200, body: user, headers: { etag: '"1"' } }]);
  const success = await orThrow(createClient({ baseUrl: "http://api.test", fetch: ok.fetch }).getUser({ userId: "x" }));
  assert.equal(success.data.displayName, "Ada");

  const missing = scripted([{ status: 404, body: problem(404) }]);
  await assert.rejects(orThrow(createClient({ baseUrl: "http://api.test", fetch: missing.fetch }).getUser({ userId: "x" })), (error) => {
    assert.ok(error instanceof KeelError);
    assert.equal(error.result.status, 404);
    return true;
  });
});

test("the list iterator follows nextCursor to the last page", async () => {
  const second = { ...user, id: "01900000-0000-7000-8000-000000000002" };
  const { fetch, calls } = scripted([
    { status: 200, body: { items: [user], nextCursor: "c1" } },
    { status: 200, body: { items: [second] } },
  ]);
  const ids: string[] = [];
  for await (const item of createClient({ baseUrl: "http://api.test", fetch }).listUsersAll({ limit: 1 })) ids.push(item.id);
  assert.deepEqual(ids, [user.id, second.id]);
  assert.match(calls[1]?.url ?? "", /cursor=c1/);
});

test("parseEvent types a contract event and names what is wrong with others", async () => {
  const { parseEvent, EVENTS } = await import("keel-api-client");
  assert.deepEqual(EVENTS, [
    { name: "order.cancelled", version: 1, schema: "OrderCancelled" },
    { name: "order.confirmed", version: 1, schema: "OrderConfirmed" },
    { name: "order.paid", version: 1, schema: "OrderPaid" },
    { name: "order.payment_failed", version: 1, schema: "OrderPaymentFailed" },
    { name: "order.placed", version: 1, schema: "OrderPlaced" },
    { name: "order.rejected", version: 1, schema: "OrderRejected" },
    { name: "order.stock_reserved", version: 1, schema: "OrderStockReserved" },
    { name: "payment.refund_requested", version: 1, schema: "RefundRequested" },
    { name: "payment.refunded", version: 1, schema: "PaymentRefunded" },
    { name: "user.deleted", version: 1, schema: "UserDeleted" },
    { name: "user.registered", version: 1, schema: "UserRegistered" },
  ]);
  const payload = {
    userId: user.id,
    email: user.email,
    displayName: user.displayName,
    role: "customer",
    registeredAt: user.createdAt,
  };
  const parsed = parseEvent({ name: "user.registered", version: 1, payload });
  assert.ok(parsed.ok);
  if (parsed.ok && parsed.event.name === "user.registered") {
    // Narrowed by name: the payload is a UserRegistered.
    const displayName: string = parsed.event.payload.displayName;
    assert.equal(displayName, "Ada");
  }
  const unknown = parseEvent({ name: "user.registered", version: 9, payload });
  assert.deepEqual(unknown, { ok: false, problems: ["no event user.registered version 9 in the contract"] });
  const broken = parseEvent({ name: "user.registered", version: 1, payload: { ...payload, displayName: 7 } });
  assert.equal(broken.ok, false);
  assert.ok(!broken.ok && broken.problems.some((p) => p.includes("displayName")), JSON.stringify(broken));
});
