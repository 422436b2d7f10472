import type { Backend, RoutingTable } from "#core";
import { nodeRouter } from "#node-transport";
import {
  cachedTableSource,
  createRouter,
  OutcomeCounters,
  type RoutingTableSource,
  staticTableSource,
} from "#router";
import { listen, listenNode } from "../../packages/cli/serve.ts";

// The router for bench/router.ts, in a process of its own and wired as `devsim up` wires it: the
// Node front end (`nodeRouter`) over cachedTableSource with outcome counters, or, as a baseline,
// the web front end (`createRouter`, for edge runtimes) on the global fetch, served by
// @hono/node-server.
// Run as `node bench/router/server.ts <node|fetch> <kv|static> <workload> <url>=<weight>...`;
// prints {"url": ...} once it listens. `kv` keeps the table in the in-memory KV, as `devsim up`
// does; `static` serves a fixed table and spares loading the KV package (about 16 MB resident).

const [transport, tableKind, workload, ...targets] = process.argv.slice(2);
if (
  (transport !== "node" && transport !== "fetch") ||
  (tableKind !== "kv" && tableKind !== "static") ||
  workload === undefined ||
  targets.length === 0
) {
  process.stderr.write(
    "usage: node bench/router/server.ts <node|fetch> <kv|static> <workload> <url>=<weight>...\n",
  );
  process.exit(2);
}

const clouds = ["aws", "gcp", "azure", "digitalocean"] as const;
const backends: Backend[] = targets.map((target, i) => {
  const at = target.lastIndexOf("=");
  return {
    cloud: clouds[i % clouds.length] ?? "aws",
    region: `bench-${i + 1}`,
    revision: 1,
    weight: Number(target.slice(at + 1)),
    url: target.slice(0, at),
  };
});

const routingTable: RoutingTable = { workload, version: 1, backends };
const routing: RoutingTableSource =
  tableKind === "static"
    ? staticTableSource([routingTable])
    : await (async () => {
        const { kvRoutingTables, memoryStore } = await import("#kv");
        const tables = kvRoutingTables(memoryStore());
        await tables.publish(routingTable);
        return tables;
      })();

const cached = cachedTableSource(routing);
const counters = new OutcomeCounters();
const native = transport === "node" ? nodeRouter({ table: cached, counters }) : null;
const server = native
  ? await listenNode(native.listener, "127.0.0.1", 0, "router")
  : await listen(createRouter({ table: cached, counters }).fetch, "127.0.0.1", 0, "router");
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);

process.on("SIGTERM", () => {
  void server.close().then(() => native?.close());
});
