import type { Backend } from "#core";
import { type Db, listBackends, nextRoutingVersion } from "#store";
import type { EngineDeps } from "./deps.ts";

/** The backends that receive traffic: running, with a weight and an endpoint. */
const servingBackends = async (db: Db, workloadId: string): Promise<Backend[]> =>
  (await listBackends(db, workloadId))
    .filter((b) => b.state === "running" && b.weight > 0 && b.url !== "")
    .map(({ cloud, region, revision, weight, url }) => ({ cloud, region, revision, weight, url }));

/** Builds a workload's routing table from Postgres and publishes it for the routers. */
export const publishRouting = async (
  deps: Pick<EngineDeps, "sql" | "routing">,
  workload: { readonly id: string; readonly name: string },
): Promise<void> => {
  const backends = await servingBackends(deps.sql, workload.id);
  const version = await nextRoutingVersion(deps.sql);
  await deps.routing.publish({ workload: workload.name, version, backends });
};
