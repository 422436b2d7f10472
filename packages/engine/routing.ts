import { readRoutingTable } from "#store";
import type { EngineDeps } from "./deps.ts";

/** Publishes a workload's routing table, as Postgres has it now, for the routers. */
export const publishRouting = async (
  deps: Pick<EngineDeps, "sql" | "routing">,
  workload: { readonly id: string },
): Promise<void> => {
  const table = await readRoutingTable(deps.sql, workload.id);
  if (table) await deps.routing.publish(table);
};
