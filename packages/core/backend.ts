import type { Cloud } from "./cloud.ts";

/** One revision of a workload running in one target: the unit the router sends traffic to. */
export interface Backend {
  readonly cloud: Cloud;
  readonly region: string;
  readonly revision: number;
  /** Relative share of the workload's traffic; the router picks in proportion to it. */
  readonly weight: number;
  readonly url: string;
}

/** What the router reads for one workload. */
export interface RoutingTable {
  readonly workload: string;
  readonly backends: readonly Backend[];
  /** Grows with every publication, so a reader can tell a newer table from an older one. */
  readonly version: number;
}
