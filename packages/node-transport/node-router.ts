import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { Agent, type Dispatcher } from "undici";
import type { Backend } from "#core";
import {
  type Attempted,
  BACKEND_HEADER,
  backendName,
  Forwarder,
  type ForwarderOptions,
  failureBody,
  forwardRawRequestHeaders,
  IDEMPOTENT,
  type Route,
  type RouterFailure,
  rawResponseHeaders,
} from "#router";

export interface NodeRouterOptions extends ForwarderOptions {
  /** Most connections kept to one backend; requests beyond that wait for a free one. 128 by default. */
  readonly connectionsPerOrigin?: number;
  /** How long opening a connection may take; 5 s by default. */
  readonly connectTimeoutMs?: number;
  /** How long a backend may take to send its response headers; 30 s by default. */
  readonly headersTimeoutMs?: number;
  /** How long a response body may pause between chunks; 0 (never) by default, so streams may idle. */
  readonly bodyTimeoutMs?: number;
  /** How long an idle connection is kept for the next request; 4 s by default, or less if the backend says so. */
  readonly keepAliveTimeoutMs?: number;
  /** Request bodies of idempotent requests up to this size are kept, so a retry can send them again; 64 KiB by default. */
  readonly retryBodyLimitBytes?: number;
  /** How long `close()` lets requests in flight finish before it cuts them off; 2 s by default. */
  readonly closeGraceMs?: number;
}

export interface NodeRouter {
  /** The request listener for `http.createServer`. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Lets requests in flight finish (for at most `closeGraceMs`), then closes every backend connection. */
  close(): Promise<void>;
}

/** A backend URL's `http://host:port` and base path (empty, or `/base` without a trailing slash). */
interface Split {
  readonly origin: string;
  readonly base: string;
}

const splitUrl = (backendUrl: string): Split => {
  const url = backendUrl.replace(/\/+$/, "");
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash === -1 ? { origin: url, base: "" } : { origin: url.slice(0, slash), base: url.slice(slash) };
};

const answerFailure = (res: ServerResponse, failure: RouterFailure): void => {
  const body = JSON.stringify(failureBody(failure));
  const headers = ["content-type", "application/json", "content-length", String(Buffer.byteLength(body))];
  if (failure.backend) headers.push(BACKEND_HEADER, backendName(failure.backend));
  res.writeHead(failure.status, headers);
  res.end(body);
};

/** A request's whole body, when it declares a length of at most `limit`; null when it must be streamed. */
const bufferedBody = async (req: IncomingMessage, limit: number): Promise<Buffer | null> => {
  const length = Number(req.headers["content-length"]);
  if (req.headers["transfer-encoding"] !== undefined || !(length <= limit)) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const hasBody = (req: IncomingMessage): boolean =>
  req.headers["transfer-encoding"] !== undefined ||
  (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");

/**
 * One attempt: dispatches the request on undici's pool and writes the answer straight to the
 * client as it comes, with backpressure both ways. Settles when the headers arrive (answered) or
 * when the backend could not be reached (not answered, nothing written, so a retry is possible).
 */
class Relay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #name: string;
  readonly #settle: (result: Attempted<undefined>) => void;
  readonly #done: () => void;
  readonly #failed: (error: unknown) => void;
  #controller: Dispatcher.DispatchController | null = null;
  #answered = false;
  #over = false;

  constructor(
    res: ServerResponse,
    backend: Backend,
    settle: (result: Attempted<undefined>) => void,
    done: () => void,
    failed: (error: unknown) => void,
  ) {
    this.#res = res;
    this.#name = backendName(backend);
    this.#settle = settle;
    this.#done = done;
    this.#failed = failed;
  }

  /** The client went away: stop talking to the backend. */
  abort(): void {
    this.#controller?.abort(new Error("the client closed the connection"));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) this.abort();
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    statusText?: string,
  ): void {
    // Informational answers (100, 103) come before the real one.
    if (status < 200 || this.#answered) return;
    this.#answered = true;
    try {
      this.#res.writeHead(status, statusText, rawResponseHeaders(headers, BACKEND_HEADER, this.#name));
    } catch (error) {
      // Headers Node refuses to send: the client gets a cut connection rather than a lie.
      controller.abort(error instanceof Error ? error : new Error(String(error)));
      this.#res.destroy();
    }
    this.#report({ answered: true, status, response: undefined });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once("drain", () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.#answered) {
      // Cut short after the headers went out: the client must see a broken answer, not a short one.
      this.#res.destroy(error);
    } else {
      this.#report({ answered: false });
    }
    this.#finish();
  }

  /**
   * Hands the outcome on. What runs then (counting, a retry, the answer) runs inside undici's
   * callbacks, where a throw would reach undici and not this request: it is answered here instead.
   */
  #report(result: Attempted<undefined>): void {
    try {
      this.#settle(result);
    } catch (error) {
      this.#failed(error);
    }
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    this.#done();
  }
}

/**
 * The router's front end for Node: the same routing, retries, passive health and counting as
 * `createRouter` (both run on `Forwarder`), without building web Requests and Responses: requests
 * go out on undici's keep-alive pool and answers are written to the client as they arrive, bytes
 * untouched (codings included). Several times the throughput of the web front end on Node.
 *
 * A retry needs the body again, so an idempotent request's body is kept when it declares a length
 * up to `retryBodyLimitBytes`; larger or chunked bodies are streamed and not retried.
 *
 * @example
 * const router = nodeRouter({ table: cachedTableSource(kvTables) })
 * createServer(router.listener).listen(8080)
 */
export const nodeRouter = ({
  connectionsPerOrigin = 128,
  connectTimeoutMs = 5_000,
  headersTimeoutMs = 30_000,
  bodyTimeoutMs = 0,
  keepAliveTimeoutMs = 4_000,
  retryBodyLimitBytes = 64 * 1024,
  closeGraceMs = 2_000,
  ...options
}: NodeRouterOptions): NodeRouter => {
  const forwarder = new Forwarder(options);
  const agent = new Agent({
    connections: connectionsPerOrigin,
    connect: { timeout: connectTimeoutMs },
    headersTimeout: headersTimeoutMs,
    bodyTimeout: bodyTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
  });
  // Tables are replaced, never changed, so a backend object's URL is split once for its life.
  const splits = new WeakMap<Backend, Split>();
  const splitOf = (backend: Backend): Split => {
    let split = splits.get(backend);
    if (split === undefined) {
      split = splitUrl(backend.url);
      splits.set(backend, split);
    }
    return split;
  };
  let inFlight = 0;
  let settled: (() => void) | null = null;
  const done = (): void => {
    inFlight -= 1;
    if (inFlight === 0) settled?.();
  };

  const internalError = (res: ServerResponse, error: unknown): void => {
    console.error(error);
    if (res.headersSent) res.destroy();
    else answerFailure(res, { status: 500, code: "internal", message: "internal error", details: {} });
  };

  /** Relays a routed request; `body` is what to send (kept whole when `retryable`). */
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    body: Buffer | IncomingMessage | null,
    retryable: boolean,
  ): void => {
    const method = (req.method ?? "GET") as Dispatcher.HttpMethod;
    const headers = forwardRawRequestHeaders(req.rawHeaders, {
      clientAddress: req.socket.remoteAddress,
      host: req.headers.host ?? null,
      proto: (req.socket as TLSSocket).encrypted ? "https" : "http",
    });
    let current: Relay | null = null;
    let gone = false;
    res.on("close", () => {
      if (res.writableFinished) return;
      gone = true;
      current?.abort();
    });
    forwarder.forward(
      route,
      {
        retryable,
        clientGone: () => gone,
        attempt: (backend, _n, settle) => {
          const { origin, base } = splitOf(backend);
          inFlight += 1;
          current = new Relay(res, backend, settle, done, (error) => internalError(res, error));
          // undici reports even a request it refuses through the handler, never by throwing.
          agent.dispatch({ origin, path: base + route.path, method, headers, body }, current);
        },
      },
      (result) => {
        if ("status" in result && !gone) answerFailure(res, result);
      },
    );
  };

  /** A routed request: its body kept for a retry when it may be sent again, or streamed. */
  const routed = (req: IncomingMessage, res: ServerResponse, route: Route | RouterFailure): void => {
    if ("status" in route) {
      answerFailure(res, route);
      return;
    }
    if (!hasBody(req)) {
      send(req, res, route, null, IDEMPOTENT.has(req.method ?? "GET"));
      return;
    }
    if (!IDEMPOTENT.has(req.method ?? "GET")) {
      send(req, res, route, req, false);
      return;
    }
    bufferedBody(req, retryBodyLimitBytes)
      .then((body) => (body === null ? send(req, res, route, req, false) : send(req, res, route, body, true)))
      .catch((error: unknown) => internalError(res, error));
  };

  // Callbacks all the way, no async function: most requests then settle without a single promise.
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      let url: URL;
      try {
        // Concatenated rather than resolved against a base: a path starting with `//` is not a host.
        url = new URL(`http://router.invalid${req.url ?? "/"}`);
      } catch {
        answerFailure(res, {
          status: 404,
          code: "not_found",
          message: "no such path",
          details: { workload: null },
        });
        return;
      }
      const route = forwarder.route(url, req.headers.host ?? null);
      if (route instanceof Promise) {
        route.then((found) => routed(req, res, found)).catch((error: unknown) => internalError(res, error));
      } else {
        routed(req, res, route);
      }
    } catch (error) {
      internalError(res, error);
    }
  };

  const close = async (): Promise<void> => {
    if (inFlight > 0) {
      // A stream that never ends would hold close() forever; past the grace period it is cut off.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        settled = resolve;
        timer = setTimeout(resolve, closeGraceMs);
      });
      clearTimeout(timer);
    }
    await agent.destroy();
  };

  return { listener, close };
};
