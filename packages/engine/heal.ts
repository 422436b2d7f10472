import { AdapterError } from "#core";
import {
  appendEvent,
  type BackendRecord,
  deleteBackend,
  listBackends,
  setBackendUrl,
  type WorkloadRecord,
} from "#store";
import type { EngineDeps } from "./deps.ts";
import { publishRouting } from "./routing.ts";
import { deploymentTarget, revisionSpec } from "./targets.ts";

export interface HealResult {
  /** Backends the cloud had lost and that were deployed again. */
  readonly repaired: number;
  /** Backends not ready yet: the workload wants another look soon. */
  readonly pending: number;
}

/** Runs `action` for one backend; a cloud that fails must not stop the others, and the next pass retries. */
const eachBackend = async (
  deps: EngineDeps,
  workload: WorkloadRecord,
  backends: readonly BackendRecord[],
  action: (b: BackendRecord) => Promise<void>,
): Promise<void> => {
  for (const b of backends) {
    try {
      await action(b);
    } catch (error) {
      if (!(error instanceof AdapterError)) throw error;
      deps.log.warn(
        {
          workload: workload.name,
          cloud: b.cloud,
          region: b.region,
          revision: b.revision,
          failure: error.failure,
        },
        `cloud call failed: ${error.message}`,
      );
    }
  }
};

/**
 * Removes from their clouds the backends marked for removal whose time has come (until then
 * routers may still send them requests, and a switch back may still want them), then forgets
 * them. Returns how many still wait.
 */
export const removeMarkedBackends = async (deps: EngineDeps, workload: WorkloadRecord): Promise<number> => {
  const marked = (await listBackends(deps.sql, workload.id)).filter((b) => b.state === "removing");
  const drained = marked.filter((b) => b.removeAfter === null || Date.parse(b.removeAfter) <= Date.now());
  await eachBackend(deps, workload, drained, async (b) => {
    await deps.adapters[b.cloud].remove(deploymentTarget(workload, b), b.revision);
    await deleteBackend(deps.sql, workload.id, b);
  });
  return marked.length - drained.length;
};

/**
 * Makes the clouds match Postgres for a workload's running backends: one the cloud no longer has
 * is deployed again, and its new endpoint is taken once it is ready. Then the routing table is
 * published, so a router that lost it (a restart, a flushed KV) gets it back.
 */
export const healWorkload = async (deps: EngineDeps, workload: WorkloadRecord): Promise<HealResult> => {
  let repaired = 0;
  let pending = 0;
  const running = (await listBackends(deps.sql, workload.id)).filter((b) => b.state === "running");
  await eachBackend(deps, workload, running, async (b) => {
    const adapter = deps.adapters[b.cloud];
    const target = deploymentTarget(workload, b);
    let status = await adapter.describe(target, b.revision);
    if (status === null) {
      // A survivor scaled up for a failover comes back at that size.
      const replicas = b.scaledReplicas ?? b.replicas;
      status = await adapter.deploy(target, await revisionSpec(deps.sql, workload, b.revision), replicas);
      repaired++;
      await appendEvent(deps.sql, {
        workloadId: workload.id,
        type: "redeployed",
        message: `revision ${b.revision} was missing in ${b.cloud}/${b.region} and was deployed again`,
        data: { cloud: b.cloud, region: b.region, revision: b.revision },
      });
    }
    // Traffic goes to an endpoint only once it serves; until then the router's retry covers the old one.
    if (status.url !== null && status.readyReplicas >= status.desiredReplicas && status.desiredReplicas > 0) {
      await setBackendUrl(deps.sql, workload.id, b, status.url);
    } else {
      pending++;
    }
  });
  await publishRouting(deps, workload);
  return { repaired, pending };
};
