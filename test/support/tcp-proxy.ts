import { connect, createServer, type Server, type Socket } from "node:net";
import { listenOnLoopback } from "./http-servers.ts";

/**
 * How a cut looks to clients: `refuse` closes the port, so connecting fails at once
 * (ECONNREFUSED), as when the server is stopped; `blackhole` accepts connections and never says a
 * word, as when the server or its network vanishes without a trace. Either way every open
 * connection is destroyed (ECONNRESET / closed) when the cut starts.
 */
export type CutMode = "refuse" | "blackhole";

export interface TcpProxy {
  /** The port on 127.0.0.1 clients connect to; it stays the same across cuts. */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's, e.g. a database URL to go through it. */
  via(url: string): string;
  /** Cuts the way through: destroys every open connection and refuses or swallows new ones. */
  cut(mode?: CutMode): Promise<void>;
  /** Opens the way again; new connections reach the target. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });

/**
 * A TCP relay on 127.0.0.1 in front of a real service (Postgres, Redis), which a test can cut and
 * restore to see how the code under test lives through the service going away and coming back.
 */
export const startTcpProxy = async ({ host, port }: { host: string; port: number }): Promise<TcpProxy> => {
  const relayed = new Set<Socket>();
  const held = new Set<Socket>();
  let mode: CutMode | "open" = "open";

  const server = createServer((client) => {
    if (mode === "blackhole") {
      held.add(client);
      client.on("error", () => {});
      client.on("close", () => held.delete(client));
      return;
    }
    const upstream = connect({ host, port });
    relayed.add(client);
    relayed.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      relayed.delete(client);
      relayed.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const proxyPort = await listenOnLoopback(server);

  const destroyAll = (sockets: Set<Socket>) => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    port: proxyPort,
    via: (url) => {
      const rewritten = new URL(url);
      rewritten.hostname = HOST;
      rewritten.port = String(proxyPort);
      return rewritten.href;
    },
    cut: async (how = "refuse") => {
      mode = how;
      destroyAll(relayed);
      if (how === "refuse") {
        destroyAll(held);
        await closeServer(server);
      } else if (!server.listening) await listenOnLoopback(server, proxyPort);
    },
    restore: async () => {
      destroyAll(held);
      mode = "open";
      if (!server.listening) await listenOnLoopback(server, proxyPort);
    },
    close: async () => {
      mode = "refuse";
      destroyAll(relayed);
      destroyAll(held);
      await closeServer(server);
    },
  };
};
