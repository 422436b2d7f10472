import { getConnInfo } from "@hono/node-server/conninfo";
import type { Backend, RoutingTable } from "#core";
import { pooledUpstream } from "#node-transport";
import {
  cachedTableSource,
  createRouter,
  OutcomeCounters,
  type RoutingTableSource,
  staticTableSource,
} from "#router";
import { listen } from "../../packages/cli/serve.ts";

// The router for bench/router.ts, in a process of its own and wired as `devsim up` wires it:
// createRouter over cachedTableSource, with outcome counters, conninfo and the pooled upstream (or,
// as a baseline, the global fetch), served by the same `listen` (@hono/node-server).
// Run as `node bench/router/server.ts <pooled|fetch> <kv|static> <workload> <url>=<weight>...`;
// prints {"url": ...} once it listens. `kv` keeps the table in the in-memory KV, as `devsim up`
// does; `static` serves a fixed table and spares loading the KV package (about 16 MB resident).

const [transport, tableKind, workload, ...targets] = process.argv.slice(2);
if (
  (transport !== "pooled" && transport !== "fetch") ||
  (tableKind !== "kv" && tableKind !== "static") ||
  workload === undefined ||
  targets.length === 0
) {
  process.stderr.write(
    "usage: node bench/router/server.ts <pooled|fetch> <kv|static> <workload> <url>=<weight>...\n",
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

const table: RoutingTable = { workload, version: 1, backends };
const routing: RoutingTableSource =
  tableKind === "static"
    ? staticTableSource([table])
    : await (async () => {
        const { kvRoutingTables, memoryStore } = await import("#kv");
        const tables = kvRoutingTables(memoryStore());
        await tables.publish(table);
        return tables;
      })();

const pooled = transport === "pooled" ? pooledUpstream() : null;
const router = createRouter({
  table: cachedTableSource(routing),
  // Without one, createRouter uses the global fetch.
  ...(pooled ? { fetch: pooled } : {}),
  counters: new OutcomeCounters(),
  getConnInfo,
});
const server = await listen(router.fetch, "127.0.0.1", 0, "router");
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);

process.on("SIGTERM", () => {
  void server.close().then(() => pooled?.close());
});
