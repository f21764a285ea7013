// The fixed part of every Keel TypeScript client: transport, results, retries.
// Plain ESM with no dependencies; the types are in runtime.d.ts.

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
const RETRY_STATUS = new Set([408, 429, 502, 503, 504]);

export class KeelError extends Error {
  constructor(result) {
    super(describe(result));
    this.name = "KeelError";
    this.result = result;
  }
}

function describe(result) {
  if (typeof result.status === "number" || result.status === "default" || /^[1-5]XX$/.test(result.status)) {
    const detail = result.error && typeof result.error === "object" && "detail" in result.error ? `: ${result.error.detail}` : "";
    return `the API answered ${result.httpStatus ?? result.status}${detail}`;
  }
  if (result.status === "undocumented") return `the API answered ${result.httpStatus}, which the contract does not declare`;
  if (result.status === "invalid-response") return `the ${result.httpStatus} response does not match the contract: ${result.problems.join("; ")}`;
  return `the call failed (${result.status}): ${String(result.error)}`;
}

export async function orThrow(result) {
  const settled = await result;
  if (settled.ok) return settled;
  throw new KeelError(settled);
}

/** Percent-encodes one path segment. */
export function segment(value) {
  return encodeURIComponent(String(value));
}

/**
 * Sends one operation. `op` is the generated description of the operation:
 * method, path (already encoded), query, headers, body, and its responses.
 */
export async function send(config, op, options = {}) {
  const retry = resolveRetry(config.retry, options.retry);
  const retryable = IDEMPOTENT.has(op.method) || options.idempotencyKey !== undefined;
  const attempts = retry && retryable ? retry.attempts : 1;
  let result;
  for (let attempt = 1; ; attempt++) {
    result = await once(config, op, options);
    if (attempt >= attempts || !worthRetrying(result) || options.signal?.aborted) return result;
    await sleep(backoff(retry, attempt, result.headers), options.signal);
  }
}

/** Network errors and statuses that say "try again later"; never a timeout, which already waited. */
function worthRetrying(result) {
  if (result.status === "network-error") return true;
  const code = typeof result.status === "number" ? result.status : result.httpStatus;
  return code !== undefined && RETRY_STATUS.has(code);
}

function resolveRetry(client, call) {
  const chosen = call === undefined ? client : call;
  if (chosen === false) return null;
  return {
    attempts: Math.max(1, chosen?.attempts ?? 3),
    baseDelayMs: chosen?.baseDelayMs ?? 100,
    maxDelayMs: chosen?.maxDelayMs ?? 10_000,
  };
}

/** `Retry-After` (seconds or an HTTP date) when the server sends it, else exponential back-off with full jitter. */
function backoff(retry, attempt, headers) {
  const header = headers?.get("retry-after");
  if (header) {
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), retry.maxDelayMs);
  }
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.random() * ceiling;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

async function once(config, op, options) {
  const controller = new AbortController();
  let timedOut = false;
  const timeoutMs = options.timeoutMs ?? config.timeoutMs ?? 30_000;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // JSON first, then the other media types the operation may answer in.
    const alternatives = [...new Set(Object.values(op.responses).flatMap((r) => r.bytesMedia ?? []))];
    const accept = ["application/json", "application/problem+json", ...alternatives].join(", ");
    const headers = { accept, ...config.headers, ...op.headers };
    const token = config.token ? await config.token() : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    // An `apiKey` scheme's key, where the scheme says: `[scheme, in, name]`.
    const [keyScheme, keyIn, keyName] = op.apiKey ?? [];
    const keyProvider = keyScheme === undefined ? undefined : config.apiKeys?.[keyScheme];
    const key = keyProvider ? await keyProvider() : undefined;
    if (key && keyIn === "header") headers[keyName] = key;
    if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey;
    let body;
    if (op.body !== undefined && op.form) {
      // A form: one pair per property, arrays as repeated keys.
      headers["content-type"] = "application/x-www-form-urlencoded";
      const form = new URLSearchParams();
      for (const [name, value] of Object.entries(op.body)) {
        if (value === undefined || value === null) continue;
        for (const item of Array.isArray(value) ? value : [value]) form.append(name, String(item));
      }
      body = form.toString();
    } else if (op.body !== undefined && op.binary) {
      // The bytes themselves (a `Blob`).
      headers["content-type"] = "application/octet-stream";
      body = op.body;
    } else if (op.body !== undefined && op.multipart) {
      // One part per property, arrays as repeated parts: files as they are,
      // objects as JSON parts, other values as text. `fetch` writes the
      // content type with its boundary.
      body = new FormData();
      for (const [name, value] of Object.entries(op.body)) {
        if (value === undefined || value === null) continue;
        for (const item of Array.isArray(value) ? value : [value]) {
          if (item instanceof Blob) body.append(name, item);
          else if (typeof item === "object") body.append(name, new Blob([JSON.stringify(item)], { type: "application/json" }));
          else body.append(name, String(item));
        }
      }
    } else if (op.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(op.body);
    }
    const query = new URLSearchParams();
    for (const [name, value, explode = true] of op.query) {
      if (value === undefined || value === null) continue;
      // Arrays: one pair per item (`explode`), or the items joined by commas.
      if (!Array.isArray(value)) query.append(name, String(value));
      else if (explode) for (const item of value) query.append(name, String(item));
      else query.append(name, value.map(String).join(","));
    }
    // Cookie parameters travel in one `Cookie` header. Browsers do not let a
    // script set it (their own cookies go instead); Node.js and other runtimes do.
    if (key && keyIn === "query") query.append(keyName, key);
    const keyCookie = key && keyIn === "cookie" ? [[keyName, key]] : [];
    const cookies = [...(op.cookies ?? []), ...keyCookie].filter(([, value]) => value !== undefined && value !== null);
    if (cookies.length > 0) headers.cookie = cookies.map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`).join("; ");
    const search = query.toString();
    const url = `${config.baseUrl.replace(/\/+$/, "")}${op.path}${search ? `?${search}` : ""}`;
    const fetcher = config.fetch ? (u, i) => config.fetch(u, i) : (u, i) => globalThis.fetch(u, i);
    let response;
    let text;
    try {
      response = await fetcher(url, { method: op.method, headers, body, signal: controller.signal });
      // A download is read as bytes; anything else as text.
      text = readsBytes(declared(op, response.status), response) && response.arrayBuffer
        ? new Uint8Array(await response.arrayBuffer())
        : await response.text();
    } catch (error) {
      if (timedOut) return { ok: false, status: "timeout", error };
      if (options.signal?.aborted) return { ok: false, status: "aborted", error };
      return { ok: false, status: "network-error", error };
    }
    return decode(config, op, response, text);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The key a status is declared under: the exact status first, then its range
 * (`4XX`), then `default`; a result under a range or `default` is keyed by it
 * and carries the actual status.
 */
function declaredKey(op, status) {
  const range = `${Math.floor(status / 100)}XX`;
  return status in op.responses ? status : range in op.responses ? range : "default";
}

function declared(op, status) {
  return op.responses[declaredKey(op, status)];
}

/** The media type of a `Content-Type`, without parameters, lowercase. */
function essence(contentType) {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/** Whether a declared response arrives as bytes: a download, or a response in several media types sent in one of its bytes media types. */
function readsBytes(declared, response) {
  if (!declared) return false;
  if (declared.binary) return true;
  return (declared.bytesMedia ?? []).includes(essence(response.headers?.get?.("content-type")));
}

function decode(config, op, response, text) {
  const status = response.status;
  const headers = response.headers;
  let body = text;
  if (typeof text === "string") {
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const key = declaredKey(op, status);
  const declared = op.responses[key];
  if (!declared) return { ok: false, status: "undocumented", httpStatus: status, headers, body };
  const problems = [];
  const result = key === status
    ? { ok: status >= 200 && status < 300, status, headers }
    : { ok: key === "2XX", status: key, httpStatus: status, headers };
  if (declared.bytesMedia) {
    // Several media types: JSON, or bytes in one of the others; `media` says which.
    const media = essence(headers.get("content-type"));
    if (declared.bytesMedia.includes(media)) {
      if (!(body instanceof Uint8Array)) problems.push("body is not bytes");
      result.media = media;
    } else if (media === "application/json") {
      if (config.validateResponses !== false) check(declared.body, body, "body", op.schemas, problems);
      result.media = media;
    } else {
      problems.push(`content type ${JSON.stringify(media)} is not declared`);
    }
    result[result.ok ? "data" : "error"] = body;
  } else if (declared.binary) {
    if (!(body instanceof Uint8Array)) problems.push("body is not bytes");
    result[result.ok ? "data" : "error"] = body;
  } else if (declared.body) {
    if (config.validateResponses !== false) check(declared.body, body, "body", op.schemas, problems);
    result[result.ok ? "data" : "error"] = body;
  }
  for (const [name, field, required] of declared.headers ?? []) {
    const value = headers.get(name);
    if (value === null && required) problems.push(`the ${name} header is missing`);
    if (value !== null) result[field] = value;
  }
  if (problems.length > 0) return { ok: false, status: "invalid-response", httpStatus: status, headers, body, problems };
  return result;
}

/** The problems of `value` against the contract's schema `name` (none: it conforms). */
export function conforms(name, value, schemas) {
  const problems = [];
  check({ ref: name }, value, "payload", schemas, problems);
  return problems;
}

/** Checks a value against a schema description generated from the contract. */
function check(schema, value, path, schemas, problems) {
  if (value === null) {
    if (!schema.nullable) problems.push(`${path} is null`);
    return;
  }
  if (schema.ref) return check({ ...schemas[schema.ref], nullable: schema.nullable }, value, path, schemas, problems);
  switch (schema.type) {
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) return void problems.push(`${path} is not an object`);
      for (const name of schema.required) if (!(name in value)) problems.push(`${path}.${name} is missing`);
      for (const [name, property] of Object.entries(schema.properties)) {
        if (name in value && value[name] !== undefined) check(property, value[name], `${path}.${name}`, schemas, problems);
      }
      if (schema.additional) {
        for (const [name, item] of Object.entries(value)) {
          if (!(name in schema.properties)) check(schema.additional, item, `${path}.${name}`, schemas, problems);
        }
      }
      // `oneOf`/`anyOf` beside the properties: the same object is one of its variants too.
      if (schema.union) check({ ref: schema.union }, value, path, schemas, problems);
      return;
    }
    case "map":
      if (typeof value !== "object" || Array.isArray(value)) return void problems.push(`${path} is not an object`);
      for (const [key, item] of Object.entries(value)) check(schema.values, item, `${path}.${key}`, schemas, problems);
      return;
    case "array":
      if (!Array.isArray(value)) return void problems.push(`${path} is not an array`);
      value.forEach((item, index) => check(schema.items, item, `${path}[${index}]`, schemas, problems));
      return;
    case "any":
      return;
    case "anyOf":
    case "oneOf": {
      if (schema.discriminator) {
        const tag = value?.[schema.discriminator];
        const variant = schema.mapping[tag];
        if (variant === undefined) return void problems.push(`${path}.${schema.discriminator} is ${JSON.stringify(tag)}, not one of ${Object.keys(schema.mapping).join(", ")}`);
        return check({ ref: variant }, value, path, schemas, problems);
      }
      const fits = schema.variants.filter((variant) => {
        const found = [];
        check({ ref: variant }, value, path, schemas, found);
        return found.length === 0;
      });
      if (schema.type === "oneOf" && fits.length !== 1) problems.push(`${path} matches ${fits.length} of ${schema.variants.join(", ")}, not exactly one`);
      if (schema.type === "anyOf" && fits.length === 0) problems.push(`${path} matches none of ${schema.variants.join(", ")}`);
      return;
    }
    case "enum":
      if (!schema.values.includes(value)) problems.push(`${path} is ${JSON.stringify(value)}, not one of ${schema.values.join(", ")}`);
      return;
    case "integer":
      if (!Number.isInteger(value)) problems.push(`${path} is not an integer`);
      return;
    default:
      if (typeof value !== schema.type) problems.push(`${path} is not a ${schema.type}`);
  }
}

/** Yields every item of a cursor-paginated list, page after page. */
export async function* paginate(fetchPage, params, options) {
  let cursor = params.cursor;
  for (;;) {
    const result = await fetchPage({ ...params, cursor }, options);
    if (!result.ok) throw new KeelError(result);
    yield* result.data.items;
    cursor = result.data.nextCursor;
    if (cursor === undefined || cursor === null) return;
  }
}
