import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { DevsimError } from "#core";
import { createSimControlApp } from "./control-api.ts";
import { createSimWorld, type SimWorld, type SimWorldOptions } from "./world.ts";

export interface SimServerOptions extends SimWorldOptions {
  /** Default 127.0.0.1: the simulator is for this machine unless asked otherwise. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
}

export interface SimServer {
  /** Base URL of the control API, without a trailing slash. */
  readonly url: string;
  readonly world: SimWorld;
  /** Stops every deployment and the control API. */
  close(): Promise<void>;
}

/** Hosts a simulated world behind its HTTP control API. */
export const startSimServer = async (options: SimServerOptions = {}): Promise<SimServer> => {
  const { host = "127.0.0.1", port = 0, ...worldOptions } = options;
  const world = createSimWorld(worldOptions);
  const app = createSimControlApp(world);

  let server: ReturnType<typeof serve> | undefined;
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve({ fetch: app.fetch, hostname: host, port }, resolve);
    server.once("error", reject);
  }).catch(async (error: unknown) => {
    await world.close();
    throw new DevsimError(
      "unavailable",
      `could not listen on ${host}:${port}`,
      { host, port },
      { cause: error },
    );
  });
  const listening = server;
  if (!listening) throw new DevsimError("internal", "server missing after listen");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await world.close();
      await new Promise<void>((resolve) => {
        listening.close(() => resolve());
        // Keep-alive connections from clients would otherwise hold the close open.
        if ("closeAllConnections" in listening) listening.closeAllConnections();
      });
    })();
    return closing;
  };

  const hostInUrl = address.address.includes(":") ? `[${address.address}]` : address.address;
  return { url: `http://${hostInUrl}:${address.port}`, world, close };
};
