// The mock server (`cargo xtask mock`) answers every operation from the
// contract and validates requests against it (KEEL_MOCK_URL).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createClient } from "keel-api-client";

const baseUrl = process.env.KEEL_MOCK_URL;
const mock = createClient({ baseUrl: baseUrl ?? "http://127.0.0.1:1", validateResponses: true, retry: false });
const skip = baseUrl === undefined && "KEEL_MOCK_URL is not set";

test("every operation answers with a response that matches the contract", { skip }, async () => {
  const id = "01900000-0000-7000-8000-000000000001";
  assert.equal((await mock.listUsers()).status, 200);
  assert.equal((await mock.createUser({ body: { email: "a@example.com", displayName: "A" } })).status, 201);
  const user = await mock.getUser({ userId: id });
  assert.equal(user.status, 200);
  if (user.status === 200) assert.equal(user.data.displayName, "Ada Lovelace", "the contract's example, when it has one");
  assert.equal((await mock.updateUser({ userId: id, ifMatch: '"1"', body: { displayName: "B" } })).status, 200);
  assert.equal((await mock.deleteUser({ userId: id })).status, 204);
  assert.equal((await mock.getJwks()).status, 200);
  const all = [];
  for await (const user of mock.listUsersAll()) all.push(user);
  assert.ok(all.length >= 1);
});

test("requests that break the contract get a 400 problem naming the field", { skip }, async () => {
  const bad = await mock.createUser({ body: { email: "not-an-email", displayName: "A" } });
  assert.equal(bad.status, 400, JSON.stringify(bad));
  if (bad.status === 400) assert.deepEqual((bad.error.errors ?? []).map((e) => e.pointer), ["/email"]);

  const badId = await mock.getUser({ userId: "not-a-uuid" });
  assert.equal(badId.status, 400);
  if (badId.status === 400) assert.equal(badId.error.errors?.[0]?.parameter, "userId");

  const badLimit = await mock.listUsers({ limit: 1000 });
  assert.equal(badLimit.status, 400);
});
