import { createServer } from "node:http";
import { listenAndAnnounce } from "./announce.ts";

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
listenAndAnnounce(server);
