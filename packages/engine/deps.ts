import type postgres from "postgres";
import type { CloudAdapters } from "#adapters";
import type { Cloud, Logger, MetricSource } from "#core";
import type { RoutingTables } from "#kv";

/** What the engine talks to; the composition root (CLI or function) builds it. */
export interface EngineDeps {
  readonly sql: postgres.Sql;
  readonly adapters: CloudAdapters;
  readonly routing: RoutingTables;
  readonly log: Logger;
  /** Where analysis reads what users saw. */
  readonly outcomes: MetricSource;
}

/** Where each cloud may deploy; a target naming another region is refused at the edge. */
export type RegionCatalog = Readonly<Record<Cloud, readonly string[]>>;
