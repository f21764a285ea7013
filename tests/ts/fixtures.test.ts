// The `unions` fixture's client at run time: responses with `oneOf` bodies are
// checked by discriminator, or by which single variant they fit.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createClient, type FetchFunction } from "pet-shelter-client";

function answering(status: number, body: unknown): FetchFunction {
  return async () => ({ status, headers: { get: () => null }, text: async () => JSON.stringify(body) });
}

const dog = { kind: "dog", id: "01900000-0000-7000-8000-000000000001", name: "Rex", goodBoy: null };

test("a discriminated body is checked against the variant it names", async () => {
  const ok = await createClient({ baseUrl: "http://x", fetch: answering(201, dog) }).admitPet({ body: { kind: "dog", name: "Rex" } });
  assert.equal(ok.status, 201);
  if (ok.status === 201 && ok.data.kind === "dog") assert.equal(ok.data.goodBoy, null);

  const parrot = await createClient({ baseUrl: "http://x", fetch: answering(201, { ...dog, kind: "parrot" }) }).admitPet({ body: { kind: "dog", name: "Rex" } });
  assert.equal(parrot.status, "invalid-response");

  const nameless = await createClient({ baseUrl: "http://x", fetch: answering(201, { kind: "cat", id: dog.id }) }).admitPet({ body: { kind: "cat", name: "Tom" } });
  assert.equal(nameless.status, "invalid-response");
  if (nameless.status === "invalid-response") assert.deepEqual(nameless.problems, ["body.name is missing"]);
});

test("an untagged body must fit exactly one variant", async () => {
  const shelter = (contact: unknown) => ({ id: dog.id, pets: [dog], contact });
  const get = (body: unknown) => createClient({ baseUrl: "http://x", fetch: answering(200, body) }).getShelter({ shelterId: dog.id });
  assert.equal((await get(shelter({ email: "a@example.com" }))).status, 200);
  assert.equal((await get(shelter({ fax: "1" }))).status, "invalid-response");
  assert.equal((await get({ ...shelter({ email: "a@example.com" }), stock: { kibble: 3 } })).status, 200);
  assert.equal((await get({ ...shelter({ email: "a@example.com" }), stock: { kibble: "lots" } })).status, "invalid-response", "map values are checked");
});

test("a base schema with a discriminator is checked as the subtype its tag names", async () => {
  const shelter = (mascot: unknown) => ({ id: dog.id, pets: [dog], contact: { email: "a@example.com" }, mascot });
  const get = (body: unknown) => createClient({ baseUrl: "http://x", fetch: answering(200, body) }).getShelter({ shelterId: dog.id });
  const horse = await get(shelter({ species: "Horse", name: "Ed", hooves: 4 }));
  assert.equal(horse.status, 200);
  if (horse.status === 200 && horse.data.mascot?.species === "Horse") assert.equal(horse.data.mascot.hooves, 4);
  assert.equal((await get(shelter({ species: "bird", name: "Tweety" }))).status, 200);
  assert.equal((await get(shelter({ species: "Animal", name: "Ed" }))).status, "invalid-response", "the base alone is no variant");
  const hoofless = await get(shelter({ species: "Horse", name: "Ed" }));
  assert.equal(hoofless.status, "invalid-response");
  if (hoofless.status === "invalid-response") assert.deepEqual(hoofless.problems, ["body.mascot.hooves is missing"]);
});

test("properties beside a oneOf are checked with the variant the tag names", async () => {
  const record = (body: unknown) => createClient({ baseUrl: "http://x", fetch: answering(201, body) })
    .recordAdoption({ body: { adopter: "Ann", channel: "phone", contact: "555-0100" } });
  const web = await record({ adopter: "Ann", channel: "web", contact: "ann@example.com" });
  assert.equal(web.status, 201);
  if (web.status === 201 && web.data.channel === "web") assert.equal(web.data.contact, "ann@example.com");
  const noContact = await record({ adopter: "Ann", channel: "phone" });
  assert.equal(noContact.status, "invalid-response");
  if (noContact.status === "invalid-response") assert.deepEqual(noContact.problems, ["body.contact is missing"]);
  const noAdopter = await record({ channel: "walkIn", visitedOn: "2026-12-01" });
  assert.equal(noAdopter.status, "invalid-response");
  if (noAdopter.status === "invalid-response") assert.deepEqual(noAdopter.problems, ["body.adopter is missing"]);
});

test("a status declared by range or `default` is keyed by it and keeps the actual status", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const problem = { type: "about:blank", title: "I'm a teapot", status: 418 };
  const teapot = await catalog({ baseUrl: "http://x", fetch: answering(418, problem) }).search({ q: "tea" });
  assert.equal(teapot.status, "4XX");
  if (teapot.status === "4XX") assert.deepEqual([teapot.ok, teapot.httpStatus, teapot.error.title], [false, 418, "I'm a teapot"]);

  const conflict = await catalog({ baseUrl: "http://x", fetch: answering(409, { ...problem, status: 409 }) }).addBook({ body: { title: "Dune", authors: ["F. H."] } });
  assert.equal(conflict.status, "default");
  if (conflict.status === "default") assert.equal(conflict.httpStatus, 409);

  const undeclared = await catalog({ baseUrl: "http://x", fetch: answering(409, problem) }).getCategory({ categoryId: "x" });
  assert.equal(undeclared.status, "undocumented", "without a range or `default`, an undeclared status is still a failure");

  const badBody = await catalog({ baseUrl: "http://x", fetch: answering(418, { title: 1 }) }).search({ q: "tea" });
  assert.equal(badBody.status, "invalid-response", "a body under a range is checked like any other");
});

test("query arrays explode or join as the contract says, and cookies travel in one header", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  let seen: { url: string; cookie: string | undefined } | undefined;
  const capture: FetchFunction = async (url, init) => {
    seen = { url: String(url), cookie: (init?.headers as Record<string, string> | undefined)?.["cookie"] };
    return { status: 200, headers: { get: () => null }, text: async () => "[]" };
  };
  const result = await catalog({ baseUrl: "http://x", fetch: capture }).listBooks({ tag: ["sci-fi", "a b"], ids: ["1", "2"], authors: ["Herbert", "Le|Guin"], years: [1965, 1969], session: "s=1; x" });
  assert.equal(result.status, 200);
  // `spaceDelimited` (a space, written `+`) and `pipeDelimited` (`|`, written `%7C`).
  assert.equal(seen?.url, "http://x/books?tag=sci-fi&tag=a+b&ids=1%2C2&authors=Herbert+Le%7CGuin&years=1965%7C1969");
  assert.equal(seen?.cookie, "session=s%3D1%3B%20x");
  await catalog({ baseUrl: "http://x", fetch: capture }).listBooks({ authors: [], years: [] });
  assert.equal(seen?.url, "http://x/books", "an empty delimited array is not sent");
});

test("label and matrix path parameters are written as RFC 6570 writes them", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  let url: string | undefined;
  const capture: FetchFunction = async (u) => {
    url = String(u);
    return { status: 200, headers: { get: () => null }, text: async () => "[]" };
  };
  const api = catalog({ baseUrl: "http://x", fetch: capture });
  await api.findOnShelf({ shelf: 3, row: "top row", ids: [1, 22], tags: ["sci-fi", "a,b"] });
  assert.equal(url, "http://x/shelves/.3/;row=top%20row/;ids=1;ids=22/.sci-fi,a%2Cb");
  await api.findOnShelf({ shelf: 3, row: "", ids: [], tags: ["x"] });
  assert.equal(url, "http://x/shelves/.3/;row=/;ids/.x", "an empty matrix array is its name alone");
});

test("object parameters are written as OpenAPI's style table writes them (ADR 23)", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const seen: { url: string; headers: Record<string, string> }[] = [];
  const capture: FetchFunction = async (url, init) => {
    seen.push({ url: String(url), headers: { ...(init?.headers as Record<string, string>) } });
    return { status: 200, headers: { get: () => null }, text: async () => "[]" };
  };
  const api = catalog({ baseUrl: "http://x", fetch: capture });
  await api.pickBooks({
    pick: { title: "a b", year: 1965, signed: false },
    near: { lat: 1.5, lon: 2 },
    range: { from: 3, to: 9 },
    spine: { color: "a b" },
    xEdition: { lang: "fr" },
  });
  // `form` exploded (each property a pair), not (`k,v,k,v`), `deepObject` (`name[k]=v`), `pipeDelimited` (`k|v`).
  assert.equal(seen[0]?.url, "http://x/picks?title=a+b&year=1965&signed=false&near=lat%2C1.5%2Clon%2C2&range%5Bfrom%5D=3&range%5Bto%5D=9&spine=color%7Ca+b");
  assert.equal(seen[0]?.headers["X-Edition"], "lang=fr", "`simple`, exploded");
  await api.pickBooks({ pick: { title: "Dune" } });
  assert.equal(seen[1]?.url, "http://x/picks?title=Dune", "absent objects and properties are not sent");
  assert.equal(seen[1]?.headers["X-Edition"], undefined);
  await api.findPlace({ spot: { aisle: 3, side: "left" }, corner: { x: 1, y: 2 }, room: { floor: 2, wing: "a;b" }, desk: { number: 7, lamp: true } });
  assert.equal(seen[2]?.url, "http://x/places/aisle%2C3%2Cside%2Cleft/.x=1.y=2/;room=floor,2,wing,a%3Bb/;number=7;lamp=true");
});

test("arrays in a header, a cookie or the path are one value, items joined by commas", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const seen: { url: string; headers: Record<string, string> }[] = [];
  const capture: FetchFunction = async (url, init) => {
    seen.push({ url: String(url), headers: { ...(init?.headers as Record<string, string>) } });
    return { status: 200, headers: { get: () => null }, text: async () => "[]" };
  };
  const client = catalog({ baseUrl: "http://x", fetch: capture });
  await client.listBooks({ xGenres: ["drama", "sci fi"], recent: [7, 11] });
  assert.equal(seen[0]?.headers["X-Genres"], "drama,sci fi");
  assert.equal(seen[0]?.headers["cookie"], "recent=7%2C11");
  // Absent and empty are the same: no header, no cookie.
  await client.listBooks({ xGenres: [], recent: [] });
  assert.equal(seen[1]?.headers["X-Genres"], undefined);
  assert.equal(seen[1]?.headers["cookie"], undefined);
  await client.compareBooks({ bookIds: ["a", "b"] });
  assert.equal(seen[2]?.url, "http://x/books/compare/a%2Cb");
});

test("a body offered as JSON and XML is sent as JSON; an XML response comes back as bytes", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  let type: string | undefined;
  const xml = new TextEncoder().encode("<note><text>Emma</text></note>");
  const answering = (contentType: string, body: string | Uint8Array): FetchFunction => async (_url, init) => {
    type = (init?.headers as Record<string, string> | undefined)?.["content-type"];
    return new Response(body, { status: 200, headers: { "content-type": contentType } });
  };
  const sent = await catalog({ baseUrl: "http://x", fetch: answering("application/xml", xml) }).importNote({ body: { text: "Emma" } });
  assert.equal(type, "application/json");
  assert.equal(sent.status, 200);
  if (sent.status === 200 && sent.media === "application/xml") assert.deepEqual(sent.data, xml);
  else assert.fail(`expected XML bytes: ${JSON.stringify(sent)}`);
  const record = await catalog({ baseUrl: "http://x", fetch: answering("application/xml", xml) }).getBookRecord({ bookId: "0190" });
  assert.equal(record.status, 200);
  if (record.status === 200) assert.deepEqual(record.data, xml);
});

test("a form-only body is sent form-encoded, arrays as repeated keys", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  let sent: { body: unknown; type: string | undefined } | undefined;
  const capture: FetchFunction = async (_url, init) => {
    sent = { body: init?.body, type: (init?.headers as Record<string, string> | undefined)?.["content-type"] };
    return { status: 204, headers: { get: () => null }, text: async () => "" };
  };
  const result = await catalog({ baseUrl: "http://x", fetch: capture }).subscribe({ body: { email: "a+b@example.com", topics: ["fiction", "science"] } });
  assert.equal(result.status, 204);
  assert.deepEqual(sent, { body: "email=a%2Bb%40example.com&topics=fiction&topics=science", type: "application/x-www-form-urlencoded" });
  // Offered as JSON and as a form, a body goes as JSON.
  await catalog({ baseUrl: "http://x", fetch: capture }).reviewBook({ bookId: "1", body: { rating: 4 } });
  assert.deepEqual(sent, { body: "{\"rating\":4}", type: "application/json" });
});

test("a multipart body is sent as FormData: files as they are, arrays as repeated parts, objects as JSON", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  let sent: { body: unknown; type: string | undefined } | undefined;
  const capture: FetchFunction = async (_url, init) => {
    sent = { body: init?.body, type: (init?.headers as Record<string, string> | undefined)?.["content-type"] };
    return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify({ fileName: "c.png", contentType: "image/png", size: 256, sum: 32640, head: "AAECAwQFBgc=", pageSizes: [1, 0] }) };
  };
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const cover = new File([bytes], "c.png", { type: "image/png" });
  const result = await catalog({ baseUrl: "http://x", fetch: capture }).uploadCover({
    bookId: "1",
    body: { cover, pages: [new Blob([new Uint8Array([9])]), new Blob([])], caption: "Première", stars: 4, price: { amount: 1299, currency: "EUR" } },
  });
  assert.equal(result.status, 200);
  assert.ok(sent?.body instanceof FormData);
  assert.equal(sent?.type, undefined, "fetch writes the content type with its boundary");
  // On the wire and parsed back, as a server reads it.
  const request = new Request("http://x", { method: "POST", body: sent.body });
  assert.match(request.headers.get("content-type") ?? "", /^multipart\/form-data; boundary=/);
  const parsed = await request.formData();
  const file = parsed.get("cover");
  assert.ok(file instanceof File);
  assert.deepEqual([file.name, file.type, file.size], ["c.png", "image/png", 256]);
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), bytes, "every byte value arrives unchanged");
  assert.deepEqual(
    await Promise.all(parsed.getAll("pages").map(async (page) => (page instanceof Blob ? [...new Uint8Array(await page.arrayBuffer())] : page))),
    [[9], []],
  );
  assert.equal(parsed.get("caption"), "Première");
  assert.equal(parsed.get("stars"), "4");
  const price = parsed.get("price");
  assert.ok(price instanceof Blob);
  assert.equal(price.type, "application/json");
  assert.deepEqual(JSON.parse(await price.text()), { amount: 1299, currency: "EUR" });
});

test("date-time, date and byte response headers come back as the text sent", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const answering = (headers: Record<string, string>): FetchFunction => async () => new Response(null, { status: 200, headers });
  const loan = await catalog({ baseUrl: "http://x", fetch: answering({ "X-Due-At": "2026-12-24T18:00:00.250Z", "X-Loaned-On": "2026-12-01", "X-Loan-Token": "cmVuZXf/" }) }).getLoan({ bookId: "1" });
  assert.equal(loan.status, 200);
  if (loan.status === 200) {
    assert.deepEqual([loan.xDueAt, loan.xLoanedOn, loan.xLoanToken], ["2026-12-24T18:00:00.250Z", "2026-12-01", "cmVuZXf/"]);
    assert.equal(new Date(loan.xDueAt).getTime(), Date.UTC(2026, 11, 24, 18, 0, 0, 250), "RFC 3339 text, as `Date` reads it");
  }
  const bare = await catalog({ baseUrl: "http://x", fetch: answering({ "X-Due-At": "2026-12-24T18:00:00Z" }) }).getLoan({ bookId: "1" });
  assert.equal(bare.status, 200);
  if (bare.status === 200) assert.deepEqual([bare.xLoanedOn, bare.xLoanToken], [undefined, undefined]);
  const undated = await catalog({ baseUrl: "http://x", fetch: answering({}) }).getLoan({ bookId: "1" });
  assert.equal(undated.status, "invalid-response");
  if (undated.status === "invalid-response") assert.deepEqual(undated.problems, ["the x-due-at header is missing"]);
});

test("raw bytes go up as application/octet-stream and downloads come back as bytes", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256);
  let sent: { body: unknown; type: string | undefined } | undefined;
  // Node's own `Response`: the client reads a download with `arrayBuffer()`.
  const platform: FetchFunction = async (_url, init) => {
    sent = { body: init?.body, type: (init?.headers as Record<string, string> | undefined)?.["content-type"] };
    return new Response(bytes, { status: 200, headers: { "content-type": "image/png" } });
  };
  const down = await catalog({ baseUrl: "http://x", fetch: platform }).downloadCover({ bookId: "1", size: 70_000 });
  assert.equal(down.status, 200);
  if (down.status === 200) assert.deepEqual(down.data, bytes, "not decoded as text on the way");

  const upload = new Blob([bytes]);
  const receipt = { fileName: "", contentType: "", size: 70_000, sum: 0, head: "", pageSizes: [] };
  const answering: FetchFunction = async (_url, init) => {
    sent = { body: init?.body, type: (init?.headers as Record<string, string> | undefined)?.["content-type"] };
    return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify(receipt) };
  };
  const up = await catalog({ baseUrl: "http://x", fetch: answering }).replaceCover({ bookId: "1", body: upload });
  assert.equal(up.status, 200);
  assert.deepEqual(sent, { body: upload, type: "application/octet-stream" });
});

test("a response in several media types is JSON or bytes, as its content type says", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const csv = new TextEncoder().encode('title\nDune\n"Emma, again"\n');
  let accept: string | undefined;
  const answering = (type: string, body: string | Uint8Array): FetchFunction => async (_url, init) => {
    accept = (init?.headers as Record<string, string> | undefined)?.["accept"];
    return new Response(body, { status: 200, headers: { "content-type": type } });
  };
  const asCsv = await catalog({ baseUrl: "http://x", fetch: answering("text/csv; charset=utf-8", csv) }).exportTitles({ format: "csv" });
  assert.equal(accept, "application/json, application/problem+json, text/csv");
  assert.equal(asCsv.status, 200);
  if (asCsv.status === 200) {
    assert.equal(asCsv.media, "text/csv");
    if (asCsv.media === "text/csv") assert.deepEqual(asCsv.data, csv);
  }
  const asJson = await catalog({ baseUrl: "http://x", fetch: answering("application/json", '["Dune"]') }).exportTitles();
  assert.equal(asJson.status, 200);
  if (asJson.status === 200) {
    assert.equal(asJson.media, "application/json");
    if (asJson.media === "application/json") assert.deepEqual(asJson.data, ["Dune"]);
  }
  // JSON is checked against its schema; an undeclared media type is refused.
  const wrong = await catalog({ baseUrl: "http://x", fetch: answering("application/json", "[1]") }).exportTitles();
  assert.equal(wrong.status, "invalid-response");
  const png = await catalog({ baseUrl: "http://x", fetch: answering("image/png", csv) }).exportTitles();
  assert.equal(png.status, "invalid-response");
  if (png.status === "invalid-response") assert.deepEqual(png.problems, ['content type "image/png" is not declared']);
});

test("an API key goes in the header, query parameter or cookie its scheme names", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const seen: { url: string; headers: Record<string, string> }[] = [];
  const capture: FetchFunction = async (url, init) => {
    seen.push({ url: String(url), headers: (init?.headers ?? {}) as Record<string, string> });
    return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify({ name: "p" }) };
  };
  const keys = { partnerKey: () => "k1", feedKey: () => "k 2", shelfKey: async () => "k;3" };
  const client = catalog({ baseUrl: "http://x", fetch: capture, apiKeys: keys });
  await client.partnerStats();
  await client.partnerFeed();
  await client.partnerShelf({ session: "s" });
  assert.equal(seen[0]?.headers["X-Partner-Key"], "k1");
  assert.equal(seen[1]?.url, "http://x/partner/feed?key=k+2");
  assert.equal(seen[1]?.headers["X-Partner-Key"], undefined, "each call sends only its own scheme's key");
  assert.equal(seen[2]?.headers["cookie"], "session=s; shelf_key=k%3B3");
  // Without a key for the scheme, nothing is sent (the server answers 401).
  await catalog({ baseUrl: "http://x", fetch: capture }).partnerFeed();
  assert.equal(seen[3]?.url, "http://x/partner/feed");
});

test("an optional multipart body may be left out: no body, no content type", async () => {
  const { createClient: catalog } = await import("book-catalog-client");
  const sent: { body: unknown; type: string | undefined }[] = [];
  const capture: FetchFunction = async (_url, init) => {
    sent.push({ body: init?.body, type: (init?.headers as Record<string, string> | undefined)?.["content-type"] });
    return { status: 204, headers: { get: () => null }, text: async () => "" };
  };
  const client = catalog({ baseUrl: "http://x", fetch: capture });
  assert.equal((await client.attachNote({ bookId: "1" })).status, 204);
  assert.deepEqual(sent[0], { body: undefined, type: undefined });
  await client.attachNote({ bookId: "1", body: { text: "margins" } });
  assert.ok(sent[1]?.body instanceof FormData);
  assert.equal((sent[1].body as FormData).get("text"), "margins");
});
