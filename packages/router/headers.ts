/** Headers about one connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The names the `connection` header lists, lower-cased; they are hop-by-hop too. */
const namedByConnection = (connection: string | null): Set<string> | null => {
  // The usual value names only a header dropped anyway.
  if (!connection || connection === "keep-alive" || connection === "Keep-Alive") return null;
  const names = new Set<string>();
  for (const name of connection.split(",")) {
    const trimmed = name.trim();
    if (TOKEN.test(trimmed)) names.add(trimmed.toLowerCase());
  }
  return names;
};

/**
 * A copy without hop-by-hop headers (those the `connection` header names included) and without
 * `skip`, built in one pass: the router's hot path, where copying and then deleting costs more.
 */
const withoutHopByHop = (source: Headers, skip: ReadonlySet<string>): Headers => {
  const named = namedByConnection(source.get("connection"));
  const headers = new Headers();
  // Iteration yields lower-case names, and each set-cookie on its own.
  for (const [name, value] of source) {
    if (HOP_BY_HOP.has(name) || skip.has(name) || named?.has(name)) continue;
    headers.append(name, value);
  }
  return headers;
};

/** `host` belongs to the backend's URL; fetch decodes what it receives, so the runtime chooses the codings. */
const NOT_FORWARDED = new Set(["host", "accept-encoding"]);
const NOTHING = new Set<string>();
/** They describe the body before fetch decoded it. */
const ENCODED_BODY = new Set(["content-encoding", "content-length"]);

/** What the router knows about the client's side of the request. */
export interface ForwardedFrom {
  /** The client's address, when the runtime can tell it. */
  readonly clientAddress?: string | undefined;
  /** The `Host` the client asked for. */
  readonly host: string | null;
  /** `http` or `https`. */
  readonly proto: string;
}

/**
 * Appends to `target` the headers to send a backend, as `upstreamRequestHeaders` describes them.
 * The router fills a new Request's own headers this way, which spares building them twice.
 */
export const forwardRequestHeaders = (target: Headers, incoming: Headers, from: ForwardedFrom): void => {
  const named = namedByConnection(incoming.get("connection"));
  let forwardedFor: string | null = null;
  // Iteration yields lower-case names, duplicates joined, and each set-cookie on its own.
  for (const [name, value] of incoming) {
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name) || named?.has(name)) continue;
    if (name === "x-forwarded-for" && from.clientAddress) forwardedFor = value;
    else if (!(name === "x-forwarded-host" && from.host) && name !== "x-forwarded-proto") {
      target.append(name, value);
    }
  }
  if (from.clientAddress) {
    target.append(
      "x-forwarded-for",
      forwardedFor ? `${forwardedFor}, ${from.clientAddress}` : from.clientAddress,
    );
  }
  if (from.host) target.append("x-forwarded-host", from.host);
  target.append("x-forwarded-proto", from.proto);
};

/**
 * The headers to send a backend: the client's, without hop-by-hop ones, `host` and
 * `accept-encoding` (fetch decodes what it receives, so the runtime chooses what it asks for),
 * and with `x-forwarded-for` (appended to), `x-forwarded-host` and `x-forwarded-proto` set.
 * Runs after the client's `connection` header is honoured, so a client cannot strip these.
 */
export const upstreamRequestHeaders = (incoming: Headers, from: ForwardedFrom): Headers => {
  const headers = new Headers();
  forwardRequestHeaders(headers, incoming, from);
  return headers;
};

/**
 * The headers to send the client: the backend's, without hop-by-hop ones. fetch has already
 * decoded any `content-encoding`, so that header and the encoded length no longer describe the body.
 */
export const downstreamResponseHeaders = (upstream: Headers): Headers => {
  return withoutHopByHop(upstream, upstream.has("content-encoding") ? ENCODED_BODY : NOTHING);
};

/**
 * Turns the backend's response headers into the client's in place, as `downstreamResponseHeaders`
 * would, and sets `name: value`; false, with nothing changed, when the headers are immutable (as
 * fetch's are). Saves copying the response on the router's hot path when its transport builds
 * responses of its own.
 */
export const adaptResponseHeadersInPlace = (headers: Headers, name: string, value: string): boolean => {
  try {
    // The first change doubles as the test: immutable headers throw before anything changes.
    headers.set(name, value);
  } catch {
    return false;
  }
  // One pass to find what must go, then only the deletes needed: most answers carry two or three.
  let named: Set<string> | null = null;
  let encoded = false;
  const doomed: string[] = [];
  for (const [header, headerValue] of headers) {
    if (HOP_BY_HOP.has(header)) doomed.push(header);
    if (header === "connection") named = namedByConnection(headerValue);
    else if (header === "content-encoding") encoded = true;
  }
  if (named !== null) doomed.push(...named);
  if (encoded) doomed.push(...ENCODED_BODY);
  for (const header of doomed) headers.delete(header);
  // The connection header may have named this one too.
  if (named?.has(name)) headers.set(name, value);
  return true;
};

/**
 * The headers to send a backend, as a flat `[name, value, ...]` list, from a client's raw header
 * list (Node's `rawHeaders`, names as sent): the same rules as `upstreamRequestHeaders`, except
 * that `accept-encoding` is passed on, because a transport that relays bytes untouched lets the
 * client and the backend agree on codings themselves.
 */
export const forwardRawRequestHeaders = (raw: readonly string[], from: ForwardedFrom): string[] => {
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === "connection") {
      const listed = namedByConnection(raw[i + 1] ?? null);
      if (listed) named = named ? new Set([...named, ...listed]) : listed;
    }
  }
  const out: string[] = [];
  let forwardedFor: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const value = raw[i + 1] ?? "";
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === "host" || named?.has(lower)) continue;
    if (lower === "x-forwarded-for" && from.clientAddress) {
      forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
    } else if (!(lower === "x-forwarded-host" && from.host) && lower !== "x-forwarded-proto") {
      out.push(name, value);
    }
  }
  if (from.clientAddress) {
    out.push("x-forwarded-for", forwardedFor ? `${forwardedFor}, ${from.clientAddress}` : from.clientAddress);
  }
  if (from.host) out.push("x-forwarded-host", from.host);
  out.push("x-forwarded-proto", from.proto);
  return out;
};

/**
 * The headers to send the client, as a flat `[name, value, ...]` list, from a backend's parsed
 * headers (lower-case names, repeated ones as arrays): without hop-by-hop ones, and with `name`
 * set to `value` in place of any the backend sent. Bytes are relayed as they came, so
 * `content-encoding` and `content-length` stay.
 */
export const rawResponseHeaders = (
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  name: string,
  value: string,
): string[] => {
  const connection = headers.connection;
  const named = namedByConnection(
    typeof connection === "string" ? connection : (connection?.join(",") ?? null),
  );
  const out: string[] = [];
  for (const header in headers) {
    if (HOP_BY_HOP.has(header) || header === name || named?.has(header)) continue;
    const v = headers[header];
    if (typeof v === "string") out.push(header, v);
    else if (v !== undefined) for (const one of v) out.push(header, one);
  }
  out.push(name, value);
  return out;
};
