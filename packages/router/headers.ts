/** Headers about one connection, never forwarded (RFC 9110 §7.6.1), plus `host`, which belongs to the backend's URL. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Drops hop-by-hop headers, including those the `connection` header names. */
const withoutHopByHop = (source: Headers): Headers => {
  const headers = new Headers(source);
  for (const name of (source.get("connection") ?? "").split(",")) {
    const trimmed = name.trim();
    if (TOKEN.test(trimmed)) headers.delete(trimmed);
  }
  for (const name of HOP_BY_HOP) headers.delete(name);
  return headers;
};

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
 * The headers to send a backend: the client's, without hop-by-hop ones, `host` and
 * `accept-encoding` (fetch decodes what it receives, so the runtime chooses what it asks for),
 * and with `x-forwarded-for` (appended to), `x-forwarded-host` and `x-forwarded-proto` set.
 * Runs after the client's `connection` header is honoured, so a client cannot strip these.
 */
export const upstreamRequestHeaders = (incoming: Headers, from: ForwardedFrom): Headers => {
  const headers = withoutHopByHop(incoming);
  headers.delete("host");
  headers.delete("accept-encoding");
  if (from.clientAddress) {
    const before = headers.get("x-forwarded-for");
    headers.set("x-forwarded-for", before ? `${before}, ${from.clientAddress}` : from.clientAddress);
  }
  if (from.host) headers.set("x-forwarded-host", from.host);
  headers.set("x-forwarded-proto", from.proto);
  return headers;
};

/**
 * The headers to send the client: the backend's, without hop-by-hop ones. fetch has already
 * decoded any `content-encoding`, so that header and the encoded length no longer describe the body.
 */
export const downstreamResponseHeaders = (upstream: Headers): Headers => {
  const headers = withoutHopByHop(upstream);
  if (headers.has("content-encoding")) {
    headers.delete("content-encoding");
    headers.delete("content-length");
  }
  return headers;
};
