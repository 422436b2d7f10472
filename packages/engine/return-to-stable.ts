import { type BackendWeight, DevsimError, type RolloutStatus } from "#core";
import {
  appendEvent,
  finishRollout,
  listBackends,
  lockRollout,
  markBackendRemoving,
  type RolloutRecord,
  setWorkloadWeights,
  type WorkloadRecord,
} from "#store";
import { targetKey, targetWeights } from "#strategy";
import type { EngineDeps } from "./deps.ts";
import { publishRouting } from "./routing.ts";

export interface ReturnToStable {
  readonly status: Extract<RolloutStatus, "aborted" | "rolled_back">;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
  /** How long the abandoned revision keeps running for requests in flight. */
  readonly drainMs: number;
}

/**
 * Ends a live rollout and puts all traffic back on its stable revision in one write, wherever
 * that revision still runs (a target whose stable revision a rolling update already removed keeps
 * the new one). The new revision's backends left without traffic are removed after draining.
 * Throws `invalid_transition` when the rollout already ended.
 */
export const returnToStable = async (
  deps: EngineDeps,
  workload: WorkloadRecord,
  rolloutId: string,
  { status, message, data = {}, drainMs }: ReturnToStable,
): Promise<RolloutRecord> => {
  const ended = await deps.sql.begin(async (tx) => {
    const rollout = await lockRollout(tx, rolloutId);
    if (!rollout)
      throw new DevsimError("not_found", `rollout '${rolloutId}' not found`, { rollout: rolloutId });
    if (rollout.status !== "progressing" && rollout.status !== "paused") {
      throw new DevsimError("invalid_transition", `rollout ${rolloutId} is ${rollout.status}`, {
        rollout: rolloutId,
        status: rollout.status,
      });
    }
    const stable = rollout.fromRevision;
    const backends = await listBackends(tx, workload.id);
    if (stable !== null) {
      const shares = targetWeights(workload.targets);
      const has = (key: string, revision: number) =>
        backends.some((b) => targetKey(b) === key && b.revision === revision);
      const weights: BackendWeight[] = workload.targets.flatMap((t) => {
        const key = targetKey(t);
        const revision = has(key, stable) ? stable : has(key, rollout.toRevision) ? rollout.toRevision : null;
        return revision === null
          ? []
          : [{ cloud: t.cloud, region: t.region, revision, weight: shares.get(key) ?? 0 }];
      });
      await setWorkloadWeights(tx, workload.id, weights);
      const kept = new Set(weights.map((w) => `${targetKey(w)}/${w.revision}`));
      for (const b of backends) {
        if (b.revision === rollout.toRevision && !kept.has(`${targetKey(b)}/${b.revision}`)) {
          await markBackendRemoving(tx, workload.id, b, drainMs);
        }
      }
    }
    await finishRollout(tx, rollout.id, rollout.version, status, message);
    await appendEvent(tx, { workloadId: workload.id, rolloutId: rollout.id, type: status, message, data });
    return { ...rollout, status, message };
  });
  await publishRouting(deps, workload);
  return ended;
};
