import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

// A backend for bench/router.ts: answers every request with a tiny JSON body naming itself.
// Run as `node bench/router/backend.ts <name>`; prints {"url": ...} once it listens.

const name = process.argv[2] ?? "backend";
const body = JSON.stringify({ backend: name, ok: true });
const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };

const server = createServer((req, res) => {
  // Drain any request body, so keep-alive connections stay usable.
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
// Outlive the proxies' idle connections, so an idle keep-alive connection is never closed under them.
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
});
