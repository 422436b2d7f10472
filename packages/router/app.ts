import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import type { GetConnInfo } from "hono/conninfo";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Backend, RoutingTable } from "#core";
import { adaptResponseHeadersInPlace, downstreamResponseHeaders, forwardRequestHeaders } from "./headers.ts";
import { OutcomeCounters, type OutcomeKey } from "./outcomes.ts";
import { pickBackend } from "./pick.ts";
import { resolveWorkload } from "./resolve.ts";
import type { RoutingTableSource } from "./table-source.ts";

/** Sends one request to a backend: fetch's contract, body decoding included. */
export type Upstream = (request: Request) => Promise<Response>;

export interface RouterOptions {
  /** Where routing tables come from; put a store behind `cachedTableSource`. */
  readonly table: RoutingTableSource;
  /**
   * How requests reach backends: the platform's fetch on edge runtimes; on Node a pooled
   * keep-alive client is several times faster than the global fetch.
   */
  readonly fetch?: Upstream;
  /** A number in [0, 1) per pick; seed it in tests. */
  readonly random?: () => number;
  /** Where outcomes are counted; pass one in to read or drain it. */
  readonly counters?: OutcomeCounters;
  /** Milliseconds from any fixed origin, for latencies. */
  readonly now?: () => number;
  /** The runtime's conninfo helper (e.g. `getConnInfo` from `@hono/node-server/conninfo`), for `x-forwarded-for`. */
  readonly getConnInfo?: GetConnInfo;
}

/** The response header naming the backend that answered, as `<cloud>/<region>/<revision>`. */
export const BACKEND_HEADER = "x-devsim-backend";

export const backendName = (backend: Backend): string =>
  `${backend.cloud}/${backend.region}/${backend.revision}`;

/** Methods that may be sent again when the connection fails; POST and PATCH may not. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Statuses whose responses have no body; `new Response` refuses one. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** Streaming a request body needs `duplex: "half"`, which the DOM typings do not know yet. */
type StreamingRequestInit = RequestInit & { readonly duplex: "half" };

type RouterErrorCode = "not_found" | "unavailable" | "bad_gateway" | "internal";

const fail = (
  c: Context,
  status: ContentfulStatusCode,
  code: RouterErrorCode,
  message: string,
  details: Record<string, unknown>,
): Response => c.json({ error: { code, message, details } }, status);

const upstreamUrl = (backend: Backend, path: string): string => backend.url.replace(/\/+$/, "") + path;

const relay = (response: Response, backend: Backend): Response => {
  const name = backendName(backend);
  // A response the transport built itself (a test's, Node's pooled one) is handed on as it is, body and all.
  if (adaptResponseHeadersInPlace(response.headers, BACKEND_HEADER, name)) return response;
  // fetch's responses have immutable headers, so those are copied into a new response.
  const headers = downstreamResponseHeaders(response.headers);
  headers.set(BACKEND_HEADER, name);
  return new Response(NULL_BODY.has(response.status) ? null : response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
};

/**
 * Routes every request to a backend of its workload, chosen by weight, and relays the answer with
 * `x-devsim-backend` set. Connection failures are retried once on another backend for idempotent
 * methods; outcomes are counted per backend attempt.
 *
 * @example
 * const app = new Hono()
 * app.get("/healthz", (c) => c.text("ok"))
 * app.all("*", trafficRouter({ table: cachedTableSource(kvTables) }))
 */
export const trafficRouter = ({
  table,
  fetch = globalThis.fetch,
  random = Math.random,
  counters = new OutcomeCounters(),
  now = () => performance.now(),
  getConnInfo,
}: RouterOptions): MiddlewareHandler =>
  async function trafficRouter(c) {
    const request = c.req.raw;
    const url = new URL(request.url);
    const host = request.headers.get("host") ?? url.host;
    const resolved = resolveWorkload(url, host);
    if (resolved === null) {
      return fail(
        c,
        404,
        "not_found",
        "no workload in the path (/w/<workload>/...) or the host (<workload>.<domain>)",
        {
          workload: null,
        },
      );
    }
    const { workload, path } = resolved;
    let routing: RoutingTable | null;
    try {
      routing = await table.get(workload);
    } catch {
      return fail(c, 503, "unavailable", `the routing table of workload '${workload}' cannot be read`, {
        workload,
      });
    }
    if (routing === null) return fail(c, 404, "not_found", `workload '${workload}' not found`, { workload });
    const first = pickBackend(routing.backends, random());
    if (first === null) {
      return fail(c, 503, "unavailable", `workload '${workload}' has no backend with weight`, { workload });
    }

    const idempotent = IDEMPOTENT.has(request.method);
    // GET and HEAD have no body; not asking spares a Node adapter from building the whole request.
    const source = request.method === "GET" || request.method === "HEAD" ? null : request.body;
    // A retry needs the body a second time; the spare branch is dropped as soon as it is not needed.
    const [body, spare] = idempotent && source ? source.tee() : [source, null];
    const from = { clientAddress: getConnInfo?.(c).remote.address, host, proto: url.protocol.slice(0, -1) };

    const attempt = async (
      backend: Backend,
      attemptBody: ReadableStream | null,
    ): Promise<Response | null> => {
      const key: OutcomeKey = {
        workload,
        cloud: backend.cloud,
        region: backend.region,
        revision: backend.revision,
      };
      const started = now();
      try {
        const init: StreamingRequestInit = {
          method: request.method,
          body: attemptBody,
          duplex: "half",
          redirect: "manual",
          signal: request.signal,
        };
        const outgoing = new Request(upstreamUrl(backend, path), init);
        // Filled in place: headers given in `init` would be built once here and copied once more.
        forwardRequestHeaders(outgoing.headers, request.headers, from);
        const response = await fetch(outgoing);
        counters.record(key, response.status, now() - started);
        return response;
      } catch {
        // A client that hung up says nothing about the backend.
        if (!request.signal.aborted) counters.record(key, 502, now() - started);
        return null;
      }
    };

    let backend = first;
    let response = await attempt(first, body);
    const retry =
      response === null && idempotent && !request.signal.aborted
        ? pickBackend(routing.backends, random(), first)
        : null;
    if (retry === null) {
      // Not awaited: a tee branch's cancel settles only once the other branch is done too.
      void spare?.cancel();
    } else {
      backend = retry;
      response = await attempt(retry, spare);
    }
    if (response !== null) return relay(response, backend);
    c.header(BACKEND_HEADER, backendName(backend));
    return fail(
      c,
      502,
      "bad_gateway",
      `backend ${backendName(backend)} of workload '${workload}' is unreachable`,
      {
        workload,
        backend: { cloud: backend.cloud, region: backend.region, revision: backend.revision },
      },
    );
  };

/**
 * The router as an app of its own: every request goes to `trafficRouter`, and an unexpected
 * failure answers a JSON 500.
 *
 * @example
 * serve({ fetch: createRouter({ table }).fetch, port: 8080 })
 */
export const createRouter = (options: RouterOptions): Hono => {
  const app = new Hono();
  app.onError((error, c) => {
    console.error(error);
    return fail(c, 500, "internal", "internal error", {});
  });
  app.all("*", trafficRouter(options));
  return app;
};
