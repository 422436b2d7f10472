import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import type { ContractFault, FaultInjector } from "../../adapters/contract.ts";
import { closeServer, listenOnLoopback } from "../support/http-servers.ts";

// What the cloud API fakes share: a loopback HTTP(S) server that records every request and can be
// told to misbehave for a number of calls, and a certificate authority made for this test run.

/** A CA and a server certificate for 127.0.0.1 and localhost, valid for this test run only. */
export interface TestTls {
  /** The CA's certificate (PEM): what a client must trust. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

let testTls: TestTls | undefined;

/**
 * Makes (once per process) a throw-away CA and a server certificate with the openssl CLI: Node can
 * verify certificates but cannot issue them.
 */
export const createTestTls = (): TestTls => {
  if (testTls) return testTls;
  const dir = mkdtempSync(join(tmpdir(), "devsim-tls-"));
  try {
    const openssl = (...args: string[]): void => {
      execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=devsim test CA",
    );
    openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    writeFileSync(
      join(dir, "server.ext"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "server.ext",
    );
    const read = (name: string): string => readFileSync(join(dir, name), "utf8");
    testTls = { ca: read("ca.pem"), cert: read("server.pem"), key: read("server.key") };
    return testTls;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** One request as the fake received it. */
export interface RecordedRequest {
  readonly method: string;
  /** The path without the query, as sent (percent-encoding kept). */
  readonly path: string;
  /** The raw query string, without `?`, as sent. */
  readonly rawQuery: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The request id the fake answered with. */
  readonly requestId: string;
}

/** An answer; a non-string body is sent as JSON. */
export interface CloudReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export type AnsweredFault = Exclude<ContractFault, "timeout">;

/** Counts of injected faults still to show; every fake exposes its own. */
export interface FaultPlan extends FaultInjector {
  /** How many calls each fault still has to hit. */
  remaining(): Readonly<Record<ContractFault, number>>;
}

export interface CloudApiOptions {
  /** Serve HTTPS with this certificate; plain HTTP when absent. */
  readonly tls?: TestTls;
  /** The response header carrying the request id, e.g. `x-ms-request-id`. */
  readonly requestIdHeader: string;
  /** Conflicts hit only requests that change something. */
  readonly isWrite: (request: RecordedRequest) => boolean;
  /** Eventual consistency hits only reads of one resource, which then reads as absent. */
  readonly isRead: (request: RecordedRequest) => boolean;
  /** The cloud's own answer for an injected fault. */
  readonly faultReply: (fault: AnsweredFault, request: RecordedRequest) => CloudReply;
  readonly handle: (request: RecordedRequest) => CloudReply | Promise<CloudReply>;
  /** Sees each request first, before any fault: lets a test act at a precise moment. */
  readonly onRequest?: (request: RecordedRequest) => void;
}

export interface CloudApi {
  /** Base URL, e.g. `https://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  readonly faults: FaultPlan;
  close(): Promise<void>;
}

const FAULTS: readonly ContractFault[] = [
  "throttle",
  "timeout",
  "server-error",
  "conflict",
  "eventual-consistency",
];

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

/**
 * Starts a fake cloud API on 127.0.0.1. Before `handle` sees a request, an injected fault may take
 * it: `timeout` holds it unanswered until the client gives up, the others answer `faultReply`.
 */
export const startCloudApi = async (options: CloudApiOptions): Promise<CloudApi> => {
  const counts: Record<ContractFault, number> = {
    throttle: 0,
    timeout: 0,
    "server-error": 0,
    conflict: 0,
    "eventual-consistency": 0,
  };
  const requests: RecordedRequest[] = [];
  let served = 0;

  const faultFor = (request: RecordedRequest): ContractFault | undefined => {
    const applies = (fault: ContractFault): boolean => {
      if (counts[fault] <= 0) return false;
      if (fault === "conflict") return options.isWrite(request);
      if (fault === "eventual-consistency") return options.isRead(request);
      return true;
    };
    const fault = FAULTS.find(applies);
    if (fault) counts[fault] -= 1;
    return fault;
  };

  const listener = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = new URL(req.url ?? "/", "http://fake");
    const rawUrl = req.url ?? "/";
    const queryAt = rawUrl.indexOf("?");
    served += 1;
    const request: RecordedRequest = {
      method: req.method ?? "GET",
      path: queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt),
      rawQuery: queryAt < 0 ? "" : rawUrl.slice(queryAt + 1),
      query: Object.fromEntries(target.searchParams),
      headers: req.headers,
      body: await readBody(req),
      requestId: `fake-${served.toString().padStart(6, "0")}`,
    };
    requests.push(request);
    options.onRequest?.(request);
    const fault = faultFor(request);
    if (fault === "timeout") return;
    let reply: CloudReply;
    try {
      reply = fault ? options.faultReply(fault, request) : await options.handle(request);
    } catch (error) {
      reply = { status: 500, body: { error: String(error) } };
    }
    const body =
      reply.body === undefined
        ? ""
        : typeof reply.body === "string"
          ? reply.body
          : JSON.stringify(reply.body);
    res.statusCode = reply.status;
    if (typeof reply.body !== "string" && reply.body !== undefined)
      res.setHeader("content-type", "application/json");
    res.setHeader(options.requestIdHeader, request.requestId);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    res.end(body);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void listener(req, res);
  };

  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : createHttpServer(handler);
  const port = await listenOnLoopback(server);
  const scheme = options.tls ? "https" : "http";

  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    requests,
    faults: {
      async inject(fault, calls) {
        counts[fault] += calls;
      },
      async clear() {
        for (const fault of FAULTS) counts[fault] = 0;
      },
      remaining: () => ({ ...counts }),
    },
    // Held (timed-out) requests and pooled connections are dropped with it.
    close: () => closeServer(server),
  };
};

export interface TlsFront {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  close(): Promise<void>;
}

/**
 * A TLS terminator in front of a plain-HTTP server, so a fake cluster can be reached as a real
 * cloud hands it out: an `https://` endpoint and the CA that signed its certificate.
 */
export const startTlsFront = async (target: string, tls: TestTls): Promise<TlsFront> => {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert: tls.cert, key: tls.key }, (client) => {
    const socket = netConnect(Number(upstream.port), upstream.hostname);
    sockets.add(socket);
    sockets.add(client);
    client.pipe(socket).pipe(client);
    const end = (): void => {
      socket.destroy();
      client.destroy();
      sockets.delete(socket);
      sockets.delete(client);
    };
    socket.on("error", end).on("close", end);
    client.on("error", end).on("close", end);
  });
  const host = `127.0.0.1:${await listenOnLoopback(server)}`;
  return {
    url: `https://${host}`,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};
