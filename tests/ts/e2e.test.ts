// The users flow through the generated TypeScript client against the real
// server that `cargo xtask test` started (KEEL_BASE_URL). Responses are checked
// against the contract, so an undocumented status or shape fails the test.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createClient, orThrow } from "keel-api-client";

const baseUrl = process.env.KEEL_BASE_URL;
const anonymous = createClient({ baseUrl: baseUrl ?? "http://127.0.0.1:1", validateResponses: true, retry: false });
const unique = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
const password = "correct horse battery staple";

test("sign up, log in, and the users flow with a 409 and a 412 as typed problems", { skip: baseUrl === undefined && "KEEL_BASE_URL is not set" }, async () => {
  const email = `ts-${unique}@example.com`;
  const created = await anonymous.registerUser({ body: { email, displayName: "From TypeScript", password } });
  assert.equal(created.status, 201, JSON.stringify(created));
  if (created.status !== 201) return;
  assert.equal(created.data.email, email);
  assert.equal(created.data.role, "customer");
  assert.equal(created.location, `/v1/users/${created.data.id}`);

  const duplicate = await anonymous.registerUser({ body: { email: email.toUpperCase(), displayName: "Again", password } });
  assert.equal(duplicate.status, 409, JSON.stringify(duplicate));
  if (duplicate.status === 409) {
    assert.equal(duplicate.error.type, "urn:keel:problem:email-taken");
    assert.equal(duplicate.error.status, 409);
  }

  const tokens = await orThrow(anonymous.issueToken({ body: { email, password } }));
  let accessToken = tokens.data.accessToken;
  const api = createClient({ baseUrl: baseUrl ?? "", token: () => accessToken, validateResponses: true, retry: false });

  const read = await orThrow(api.getUser({ userId: created.data.id }));
  assert.equal(read.etag, created.etag);

  const updated = await api.updateUser({ userId: created.data.id, ifMatch: read.etag, body: { avatarUrl: "https://example.com/a.png" } });
  assert.equal(updated.status, 200, JSON.stringify(updated));
  if (updated.status === 200) assert.equal(updated.data.avatarUrl, "https://example.com/a.png");

  const stale = await api.updateUser({ userId: created.data.id, ifMatch: read.etag, body: { displayName: "Late" } });
  assert.equal(stale.status, 412, JSON.stringify(stale));
  if (stale.status === 412) assert.equal(stale.error.type, "urn:keel:problem:stale-version");

  const forbidden = await api.listUsers();
  assert.equal(forbidden.status, 403, "listing everyone is for administrators");
  const nobody = await createClient({ baseUrl: baseUrl ?? "", retry: false }).getUser({ userId: created.data.id });
  assert.equal(nobody.status, 401);

  const invalid = await anonymous.registerUser({ body: { email: "nope", displayName: "", password: "short" } });
  assert.equal(invalid.status, 400);
  if (invalid.status === 400) {
    const pointers = [...new Set((invalid.error.errors ?? []).map((e) => e.pointer))].sort();
    assert.deepEqual(pointers, ["/displayName", "/email", "/password"]);
  }

  // A refresh gives a working token; the old refresh token is used up.
  const refreshed = await orThrow(anonymous.refreshToken({ body: { refreshToken: tokens.data.refreshToken } }));
  accessToken = refreshed.data.accessToken;
  assert.equal((await api.getUser({ userId: created.data.id })).status, 200);
  assert.equal((await anonymous.refreshToken({ body: { refreshToken: tokens.data.refreshToken } })).status, 401);

  assert.equal((await api.deleteUser({ userId: created.data.id })).status, 204);
  assert.equal((await api.getUser({ userId: created.data.id })).status, 404);
});
