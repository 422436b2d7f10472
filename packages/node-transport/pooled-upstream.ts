import { Agent, type Dispatcher } from "undici";
import type { Upstream } from "#router";
import { Exchange, fetchFailed } from "./exchange.ts";

export interface PooledUpstreamOptions {
  /** Most connections kept to one origin; requests beyond that wait for a free one. 128 by default. */
  readonly connectionsPerOrigin?: number;
  /** How long opening a connection may take; 5 s by default. */
  readonly connectTimeoutMs?: number;
  /** How long a backend may take to send its response headers; 30 s by default. */
  readonly headersTimeoutMs?: number;
  /** How long a response body may pause between chunks; 0 (never) by default, so streams may idle. */
  readonly bodyTimeoutMs?: number;
  /** How long an idle connection is kept for the next request; 4 s by default, or less if the backend says so. */
  readonly keepAliveTimeoutMs?: number;
  /** How long `close()` lets requests in flight finish before it cuts them off; 2 s by default. */
  readonly closeGraceMs?: number;
}

/** An `Upstream` over pooled keep-alive connections, and a way to close them. */
export interface PooledUpstream extends Upstream {
  /** Lets requests in flight finish (for at most `closeGraceMs`), then closes every connection. */
  close(): Promise<void>;
}

/** Headers undici sets itself and refuses from callers; fetch drops `host` as well. */
const TRANSPORT_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "expect",
]);

/** What fetch asks for when the caller does not say (over https it adds br and zstd). */
const acceptEncodingFor = (https: boolean): string => (https ? "br, gzip, deflate, zstd" : "gzip, deflate");

/**
 * The origin and path (with query, without fragment) of a Request's URL, which the Request has
 * already parsed and serialised: cheaper to cut than to parse again on every request.
 */
const splitUrl = (href: string): { origin: string; path: string; https: boolean } => {
  const https = href.startsWith("https://");
  if (!https && !href.startsWith("http://"))
    throw new TypeError(`only http and https are supported: ${href}`);
  const slash = href.indexOf("/", https ? 8 : 7);
  const hash = href.indexOf("#", slash);
  return { origin: href.slice(0, slash), path: href.slice(slash, hash === -1 ? undefined : hash), https };
};

const outgoingHeaders = (request: Request, https: boolean): string[] => {
  const flat: string[] = [];
  let acceptEncoding = false;
  for (const [name, value] of request.headers) {
    if (TRANSPORT_HEADERS.has(name)) continue;
    if (name === "accept-encoding") acceptEncoding = true;
    flat.push(name, value);
  }
  // As fetch: a range is asked of the bytes as stored, and otherwise the transport picks codings it can undo.
  if (!acceptEncoding) {
    flat.push("accept-encoding", request.headers.has("range") ? "identity" : acceptEncodingFor(https));
  }
  return flat;
};

/**
 * An `Upstream` for Node: fetch's contract (method, headers, streamed bodies both ways, the
 * request's signal, bodies decoded as fetch decodes them with their encoding headers left as they
 * came, a thrown `TypeError` when no answer comes), over keep-alive connections pooled per origin
 * by undici. Two liberties: headers about its own connection to the backend (`connection`,
 * `keep-alive`, `transfer-encoding`) are not passed on, and a body that arrived whole with its
 * headers is handed over as bytes rather than as a stream, which servers write in one go.
 *
 * @example
 * const upstream = pooledUpstream()
 * const router = createRouter({ table, fetch: upstream })
 * // ...
 * await upstream.close()
 */
export const pooledUpstream = ({
  connectionsPerOrigin = 128,
  connectTimeoutMs = 5_000,
  headersTimeoutMs = 30_000,
  bodyTimeoutMs = 0,
  keepAliveTimeoutMs = 4_000,
  closeGraceMs = 2_000,
}: PooledUpstreamOptions = {}): PooledUpstream => {
  const agent = new Agent({
    connections: connectionsPerOrigin,
    connect: { timeout: connectTimeoutMs },
    headersTimeout: headersTimeoutMs,
    bodyTimeout: bodyTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
  });

  let inFlight = 0;
  let closing = false;
  let settled: (() => void) | null = null;
  const done = (): void => {
    inFlight -= 1;
    if (inFlight === 0) settled?.();
  };

  const upstream = (request: Request): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      if (request.signal.aborted) {
        reject(request.signal.reason);
        return;
      }
      let url: ReturnType<typeof splitUrl>;
      try {
        if (closing) throw new Error("the upstream is closed");
        url = splitUrl(request.url);
      } catch (error) {
        reject(fetchFailed(error));
        return;
      }
      inFlight += 1;
      agent.dispatch(
        {
          origin: url.origin,
          path: url.path,
          method: request.method as Dispatcher.HttpMethod,
          headers: outgoingHeaders(request, url.https),
          // A web ReadableStream is an async iterable of chunks, which undici streams out.
          body: request.body as unknown as AsyncIterable<Uint8Array> | null,
        } as Dispatcher.DispatchOptions,
        new Exchange(request, { resolve, reject }, done),
      );
    });

  const close = async (): Promise<void> => {
    closing = true;
    if (inFlight > 0) {
      // A stream that never ends would hold close() forever; past the grace period it is cut off.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        settled = resolve;
        timer = setTimeout(resolve, closeGraceMs);
      });
      clearTimeout(timer);
    }
    // Nothing worth waiting for is left: idle keep-alive connections and any stragglers go at once.
    await agent.destroy();
  };

  return Object.assign(upstream, { close });
};
