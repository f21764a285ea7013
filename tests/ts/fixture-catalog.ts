// The `catalog` fixture's client (tests/fixtures/catalog): `allOf` merged into
// one interface, `anyOf` narrowed by a property, free-form values as `unknown`,
// recursion, and results declared by range (`4XX`) or `default`.
import { createClient, type Author, type BinaryFile, type Book, type Category, type SearchHit } from "book-catalog-client";

export function title(hit: SearchHit): string {
  // `Book` has every property of `Resource`, `NewBook` and its own part.
  return hit.kind === "book" ? `${hit.title} (${hit.createdAt})` : hit.name;
}

export function depth(category: Category): number {
  return category.parent === undefined ? 0 : 1 + depth(category.parent);
}

export const pages = (book: Book): unknown => book.attributes?.["pages"] ?? book.note;

// Declared properties and any others, side by side.
export const links: Author["links"] = { homepage: "https://ursula.example", wikipedia: "https://w.example/ulg" };

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });
export const outcome = api.search({ q: "dune" }).then((r) => {
  switch (r.status) {
    case 200: return r.data.hits.map(title).join(", ");
    // A range carries the actual status beside the key it was declared under.
    case "4XX": return `${r.httpStatus}: ${r.error.detail ?? r.error.title}`;
    case "5XX": return `server error ${r.httpStatus}`;
    default: return r.status;
  }
});

export const added = api.addBook({ body: { title: "Dune", authors: ["Frank Herbert"], cover: "a2VlbA==" } }).then((r) =>
  r.status === 201 ? r.location : r.status === "default" ? `${r.httpStatus} ${r.error.title}` : r.status,
);

export const tagged = api.listBooks({ tag: ["sci-fi", "classic"], ids: ["0190"], session: "s1", xShelf: 3 }).then((r) => (r.ok ? r.data.length : r.status));

// A form-only body is typed like any other; the client form-encodes it.
// An integer enum is a union of number literals.
export const review = api.reviewBook({ bookId: "0190", body: { rating: 5, stars: 5 } });

export const subscribed = api.subscribe({ body: { email: "reader@example.com", topics: ["fiction"] } }).then((r) => r.status === 204);

// A multipart body: files are any `Blob` or `File` (typed by shape, so this
// checks without the DOM library too), an array of files, an object part.
export const uploaded = (cover: BinaryFile, page: BinaryFile) =>
  api
    .uploadCover({ bookId: "0190", body: { cover, pages: [page, page], caption: "First edition", stars: 4, price: { amount: 1299, currency: "EUR" } } })
    .then((r) => (r.status === 200 ? r.data.size + r.data.pageSizes.length : r.status));

// An OAuth 2 scope is a bearer token's scope: the client's `token` sends it.
export const withdrawn = createClient({ baseUrl: "http://127.0.0.1:8080", token: () => "librarian" })
  .withdrawBook({ bookId: "0190" })
  .then((r) => (r.status === 204 ? "withdrawn" : r.status === "default" ? r.error.title : r.status));

// Raw bytes: a `Blob` up, a `Uint8Array` down.
export const replaced = (image: BinaryFile) => api.replaceCover({ bookId: "0190", body: image }).then((r) => (r.status === 200 ? r.data.size : r.status));
// A response in several media types: `media` narrows `data`.
export const exported = api.exportTitles({ format: "csv" }).then((r): string[] | Uint8Array | string => (r.status === 200 ? (r.media === "text/csv" ? r.data : r.data.map((t) => t.toUpperCase())) : String(r.status)));
// Response headers with `format: date-time`, `date` and `byte` are their text, as
// such values are in bodies; an optional one may be absent.
export const dueBack = api.getLoan({ bookId: "0190" }).then((r): Date | string | undefined => (r.status === 200 ? (r.xLoanToken ?? r.xLoanedOn ?? new Date(r.xDueAt)) : r.status === 404 ? r.error.title : undefined));
export const downloaded = api.downloadCover({ bookId: "0190", size: 10 }).then((r): Uint8Array | string => (r.status === 200 ? r.data : r.status === 404 ? r.error.title : r.status));

// API keys by scheme name; the client puts each where its scheme says.
export const partner = createClient({ baseUrl: "http://127.0.0.1:8080", apiKeys: { partnerKey: () => "key" } })
  .partnerStats()
  .then((r) => (r.status === 200 ? r.data.name : r.status));
