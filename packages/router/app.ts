import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import type { GetConnInfo } from "hono/conninfo";
import type { Backend } from "#core";
import {
  type Attempted,
  BACKEND_HEADER,
  backendName,
  type Forwarded,
  Forwarder,
  type ForwarderOptions,
  failureBody,
  IDEMPOTENT,
  type RouterFailure,
} from "./forward.ts";
import { adaptResponseHeadersInPlace, downstreamResponseHeaders, forwardRequestHeaders } from "./headers.ts";

/** Sends one request to a backend: fetch's contract, body decoding included. */
export type Upstream = (request: Request) => Promise<Response>;

export interface RouterOptions extends ForwarderOptions {
  /** How requests reach backends: the platform's fetch by default. */
  readonly fetch?: Upstream;
  /** The runtime's conninfo helper (e.g. `getConnInfo` from `@hono/node-server/conninfo`), for `x-forwarded-for`. */
  readonly getConnInfo?: GetConnInfo;
}

/** Statuses whose responses have no body; `new Response` refuses one. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** Streaming a request body needs `duplex: "half"`, which the DOM typings do not know yet. */
type StreamingRequestInit = RequestInit & { readonly duplex: "half" };

const fail = (c: Context, failure: RouterFailure): Response => {
  if (failure.backend) c.header(BACKEND_HEADER, backendName(failure.backend));
  return c.json(failureBody(failure), failure.status);
};

const upstreamUrl = (backend: Backend, path: string): string => backend.url.replace(/\/+$/, "") + path;

const relay = (response: Response, backend: Backend): Response => {
  const name = backendName(backend);
  // A response the transport built itself (a test's) is handed on as it is, body and all.
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
 * `x-devsim-backend` set, over the web platform's fetch: the router for edge and serverless
 * runtimes (on Node, `nodeRouter` from `#node-transport` is the faster front end over the same
 * `Forwarder`). Connection failures of idempotent methods are retried once on another backend.
 *
 * @example
 * const app = new Hono()
 * app.get("/healthz", (c) => c.text("ok"))
 * app.all("*", trafficRouter({ table: cachedTableSource(kvTables) }))
 */
export const trafficRouter = ({
  fetch = globalThis.fetch,
  getConnInfo,
  ...options
}: RouterOptions): MiddlewareHandler => {
  const forwarder = new Forwarder(options);
  return async function trafficRouter(c) {
    const request = c.req.raw;
    const url = new URL(request.url);
    const host = request.headers.get("host") ?? url.host;
    const route = await forwarder.route(url, host);
    if ("status" in route) return fail(c, route);

    const idempotent = IDEMPOTENT.has(request.method);
    // GET and HEAD have no body; not asking spares a Node adapter from building the whole request.
    const source = request.method === "GET" || request.method === "HEAD" ? null : request.body;
    // A retry needs the body a second time; the spare branch is dropped as soon as it is not needed.
    const [body, spare] = idempotent && source ? source.tee() : [source, null];
    const from = { clientAddress: getConnInfo?.(c).remote.address, host, proto: url.protocol.slice(0, -1) };

    const send = async (backend: Backend, n: number): Promise<Attempted<Response>> => {
      try {
        const init: StreamingRequestInit = {
          method: request.method,
          body: n === 0 ? body : spare,
          duplex: "half",
          redirect: "manual",
          signal: request.signal,
        };
        const outgoing = new Request(upstreamUrl(backend, route.path), init);
        // Filled in place: headers given in `init` would be built once here and copied once more.
        forwardRequestHeaders(outgoing.headers, request.headers, from);
        const response = await fetch(outgoing);
        return { answered: true, status: response.status, response };
      } catch {
        return { answered: false };
      }
    };

    const result = await new Promise<Forwarded<Response>>((resolve, reject) => {
      forwarder.forward(
        route,
        {
          retryable: idempotent,
          clientGone: () => request.signal.aborted,
          // What runs after an attempt runs in its settle: a throw there fails this request.
          attempt: (backend, n, settle) => {
            send(backend, n).then(settle).catch(reject);
          },
        },
        resolve,
      );
    });
    // Not awaited: a tee branch's cancel settles only once the other branch is done too.
    if (spare !== null && !spare.locked) void spare.cancel();
    if ("status" in result) return fail(c, result);
    return relay(result.response, result.backend);
  };
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
    return fail(c, { status: 500, code: "internal", message: "internal error", details: {} });
  });
  app.all("*", trafficRouter(options));
  return app;
};
