import { createServer } from "node:http";
import { Agent, type Dispatcher } from "undici";
import { listenAndAnnounce } from "./announce.ts";

// The floor under the router's Node front end, for bench/router.ts: the same transport (node:http
// in, an undici keep-alive pool out) doing only what any proxy must: a weighted pick, the request
// relayed without its hop-by-hop headers, the answer streamed back. No routing table, no retries,
// no passive health, no counting. Whatever the router costs beyond this is its own logic.
// Run as `node bench/router/bare-proxy.ts <prefix> <url>=<weight>...`; prints {"url": ...} once it listens.

const [prefix = "/", ...targets] = process.argv.slice(2);
const upstreams = targets.map((target) => {
  const at = target.lastIndexOf("=");
  return { origin: target.slice(0, at), weight: Number(target.slice(at + 1)) };
});
const total = upstreams.reduce((sum, u) => sum + u.weight, 0);
const pick = (): string => {
  let point = Math.random() * total;
  for (const u of upstreams) {
    point -= u.weight;
    if (point < 0) return u.origin;
  }
  return upstreams[upstreams.length - 1]?.origin ?? "";
};

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host"]);
const agent = new Agent({ connections: 128 });

const server = createServer((req, res) => {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? "";
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, req.rawHeaders[i + 1] ?? "");
  }
  const path = `/${(req.url ?? "/").slice(prefix.length)}`;
  const method = (req.method ?? "GET") as Dispatcher.HttpMethod;
  agent.dispatch(
    { origin: pick(), path, method, headers, body: req.method === "GET" ? null : req },
    {
      onRequestStart() {},
      onResponseStart(_controller, status, answer) {
        const out: string[] = [];
        for (const name in answer) {
          const value = answer[name];
          if (HOP_BY_HOP.has(name) || value === undefined) continue;
          for (const one of Array.isArray(value) ? value : [value]) out.push(name, one);
        }
        res.writeHead(status, out);
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) {
          controller.pause();
          res.once("drain", () => controller.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      },
    },
  );
});
listenAndAnnounce(server, () => void agent.close());
