import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from "node:http";
import type { Server as NetServer, Socket } from "node:net";

// Real node:http servers on loopback, for tests of the router and its transports.

export interface TestServer {
  readonly server: Server;
  readonly url: string;
  /** Every connection the server accepted, open or closed. */
  readonly sockets: Socket[];
}

const open: Server[] = [];

/** Listens on 127.0.0.1 at `port` (0: a free one), for any TCP server, and resolves with the port. */
export const listenOnLoopback = (server: NetServer, port = 0): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("expected a TCP address"));
      else resolve(address.port);
    });
  });

/** Starts a server on 127.0.0.1 at a free port; `closeTestServers` closes it. */
export const listen = async (handler: RequestListener): Promise<TestServer> => {
  const server = createServer(handler);
  const sockets: Socket[] = [];
  server.on("connection", (socket) => sockets.push(socket));
  open.push(server);
  const port = await listenOnLoopback(server);
  return { server, url: `http://127.0.0.1:${port}`, sockets };
};

export const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Pooled connections stay open; without this, close would wait for them to time out.
    server.closeAllConnections();
  });

/** Closes every server `listen` started; call it after each test. */
export const closeTestServers = async (): Promise<void> => {
  await Promise.all(open.splice(0).map(closeServer));
};

/**
 * One request over node:http, and the answer as it came over the wire: status, headers and body
 * bytes. Unlike fetch, it sends the Host header it is given and leaves codings alone.
 */
export const rawRequest = (
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ res: IncomingMessage; body: Buffer }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ res, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(init.body);
  });

/** The URL of a port that was just closed, so connecting to it is refused. */
export const deadUrl = async (): Promise<string> => {
  const { server, url } = await listen(() => {});
  await closeServer(server);
  return url;
};

/** What `echoServer` answers: the request it received, as JSON. */
export interface Echo {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A backend that answers every request with what it received (see `Echo`), and two cookies. */
export const echoServer = (name: string): Promise<TestServer> =>
  listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    res.setHeader("content-type", "application/json");
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.end(
      JSON.stringify({
        name,
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      } satisfies Echo),
    );
  });
