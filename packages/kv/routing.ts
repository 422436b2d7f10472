import { z } from "zod";
import { Cloud, type RoutingTable } from "#core";
import type { KeyValueStore } from "./store.ts";

const key = (workload: string): string => `routing:${workload}`;

const StoredTable = z.object({
  workload: z.string(),
  version: z.number(),
  backends: z.array(
    z.object({ cloud: Cloud, region: z.string(), revision: z.int(), weight: z.number(), url: z.string() }),
  ),
});

/** Where the reconciler publishes routing tables and the router reads them. */
export interface RoutingTables {
  get(workload: string): Promise<RoutingTable | null>;
  /** Stores a table unless a newer version is already there. */
  publish(table: RoutingTable): Promise<void>;
  remove(workload: string): Promise<void>;
}

/** Routing tables kept as JSON under `routing:<workload>`. */
export const kvRoutingTables = (kv: KeyValueStore): RoutingTables => {
  const get = async (workload: string): Promise<RoutingTable | null> => {
    const stored = await kv.getVersioned(key(workload));
    if (stored === null) return null;
    const parsed = StoredTable.safeParse(JSON.parse(stored.value));
    return parsed.success ? parsed.data : null;
  };
  return {
    get,
    publish: async (table) => {
      // Two publishers may race; versions move with the weights in Postgres, so the newer one wins.
      await kv.setIfNewer(key(table.workload), table.version, JSON.stringify(table));
    },
    remove: (workload) => kv.delete(key(workload)),
  };
};
