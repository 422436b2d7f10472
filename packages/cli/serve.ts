import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { DevsimError } from "#core";

export interface Listening {
  readonly url: string;
  /** Stops accepting, ends open connections, and resolves when the server is closed. */
  close(): Promise<void>;
}

/** Serves a Node request listener over HTTP; a taken port is a clear error, not a crash. */
export const listenNode = async (
  listener: RequestListener,
  host: string,
  port: number,
  what: string,
): Promise<Listening> => {
  const server = createServer(listener);
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once("listening", () => resolve(server.address() as AddressInfo));
    server.once("error", reject);
    server.listen(port, host);
  }).catch((error: unknown) => {
    const reason =
      error instanceof Error && "code" in error && error.code === "EADDRINUSE"
        ? "is in use"
        : "cannot be used";
    throw new DevsimError(
      "unavailable",
      `${what}: port ${port} on ${host} ${reason}`,
      { host, port },
      { cause: error },
    );
  });
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

/** Serves a fetch handler (a Hono app's `fetch`) over HTTP on Node. */
export const listen = (
  fetch: (request: Request) => Response | Promise<Response>,
  host: string,
  port: number,
  what: string,
): Promise<Listening> => listenNode(getRequestListener(fetch), host, port, what);
