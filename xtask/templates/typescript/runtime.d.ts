// The fixed part of every Keel TypeScript client: transport, results, retries.
// It names no DOM or Node type, so it type-checks with `lib: ["ES2022"]` alone.

/** The response headers, as `fetch`'s `Headers` offers them. */
export interface ResponseHeaders {
  get(name: string): string | null;
}

/** The part of `AbortSignal` the client uses; a DOM or Node `AbortSignal` fits. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * The request the client hands to `fetch`. The client always sends `method`, a
 * `Record<string, string>` of `headers`, a `body` (JSON text, form text or `FormData`)
 * and a `signal`; the types are wider so that the platform's `fetch` fits as it is.
 */
export interface FetchRequestInit {
  method?: string;
  headers?: object;
  body?: unknown;
  signal?: AbortSignalLike | null;
}

/** The part of a `fetch` `Response` the client reads. */
export interface FetchResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  text(): Promise<string>;
  /** Read for downloads (`format: binary`); the platform's `Response` has it. */
  arrayBuffer?(): Promise<ArrayBuffer>;
}

/**
 * A `fetch`. Declared through a method so that its parameter is compared
 * bivariantly: the platform's `fetch(input, init?: RequestInit)` then fits
 * without this file naming any DOM type.
 */
export type FetchFunction = {
  fetch(url: string, init?: FetchRequestInit): Promise<FetchResponse>;
}["fetch"];

/**
 * A file in a `multipart/form-data` body (`format: binary`): a `Blob`, or a
 * `File`, whose name goes as the part's file name. Declared by the shape the
 * client relies on, so that this file names no DOM type.
 */
export interface BinaryFile {
  readonly size: number;
  readonly type: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The bearer token for a call; return nothing to send none. May be async. */
export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;

export interface RetryOptions {
  /** Tries in all, the first included (default 3). */
  attempts?: number;
  /** The first back-off, doubled for each retry, with full jitter (default 100 ms). */
  baseDelayMs?: number;
  /** The longest back-off between tries, `Retry-After` included (default 10 000 ms). */
  maxDelayMs?: number;
}

export interface ClientOptions {
  /** Where the API is, e.g. `https://api.example.com` (no trailing path). */
  baseUrl: string;
  /** `fetch` to use (default: the global one); the platform's `fetch` fits. */
  fetch?: FetchFunction;
  /** Supplies `Authorization: Bearer …` for each call. */
  token?: TokenProvider;
  /**
   * The keys of the contract's `apiKey` schemes, by scheme name; each goes in the
   * header, query parameter or cookie its scheme names, with the calls that need it.
   */
  apiKeys?: Record<string, TokenProvider>;
  /** Per-call timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /**
   * Retries, for idempotent methods (GET, PUT, DELETE) and for calls that carry an
   * `idempotencyKey`, on network errors and 408/429/502/503/504, honouring
   * `Retry-After`. `false` disables them.
   */
  retry?: RetryOptions | false;
  /** Check every response body against the contract (default true). */
  validateResponses?: boolean;
  /** Headers sent with every call. */
  headers?: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignalLike;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
  /** Sent as `Idempotency-Key`; makes a POST or PATCH safe to retry. */
  idempotencyKey?: string;
  retry?: RetryOptions | false;
}

/** No response the contract declares: why. Every result type includes these. */
export type Failure =
  | { ok: false; status: "network-error"; error: unknown }
  | { ok: false; status: "timeout"; error: unknown }
  | { ok: false; status: "aborted"; error: unknown }
  | { ok: false; status: "undocumented"; httpStatus: number; headers: ResponseHeaders; body: unknown }
  | { ok: false; status: "invalid-response"; httpStatus: number; headers: ResponseHeaders; body: unknown; problems: string[] };

/** Any operation's result: a declared status or a `Failure`. */
export type AnyResult = { ok: boolean; status: number | `${1 | 2 | 3 | 4 | 5}XX` | "default" | Failure["status"] };

/** Thrown by `orThrow` and by the list iterators; `result` is what came back. */
export declare class KeelError<R extends AnyResult = AnyResult> extends Error {
  readonly result: R;
  constructor(result: R);
}

/** The successful variants of a result, or a `KeelError` holding the others. */
export declare function orThrow<R extends AnyResult>(result: R | Promise<R>): Promise<Extract<R, { ok: true }>>;

/** The problems of `value` against the contract's schema `name` (none: it conforms); used by `parseEvent`. */
export declare function conforms(name: string, value: unknown, schemas: Record<string, unknown>): string[];
