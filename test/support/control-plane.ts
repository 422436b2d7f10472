import { createSimAdapters } from "#adapters/sim";
import { type Logger, SIM_REGIONS, silentLogger } from "#core";
import type { CommandDeps } from "#engine";
import { type KeyValueStore, kvMetricSource, kvRoutingTables } from "#kv";
import type { Sql } from "#store";

/** A control plane for tests and benchmarks: the given database and KV, the simulated clouds at `simUrl`. */
export const controlPlaneFor = ({
  sql,
  simUrl,
  kv,
  log = silentLogger,
}: {
  sql: Sql;
  simUrl: string;
  kv: KeyValueStore;
  log?: Logger;
}): CommandDeps => ({
  sql,
  adapters: createSimAdapters(simUrl),
  routing: kvRoutingTables(kv),
  outcomes: kvMetricSource(kv),
  log,
  regions: SIM_REGIONS,
  kick: () => {},
});
