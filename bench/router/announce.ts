import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Serves on a free loopback port and prints {"url": ...} once listening, as `startNode` waits for;
 * stops on SIGTERM, then runs `onStop`.
 */
export const listenAndAnnounce = (server: Server, onStop: () => void = () => {}): void => {
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  });
  process.on("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    onStop();
  });
};
