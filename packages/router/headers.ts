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
  if (!connection) return null;
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
