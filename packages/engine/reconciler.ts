import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { AnalysisSettings, DevsimError } from "#core";
import {
  advanceRollout,
  appendEvent,
  claimDueWorkloads,
  findActiveRollout,
  findWorkloadById,
  finishRollout,
  holdRollout,
  listBackends,
  listDegradedTargets,
  markBackendRemoving,
  markStepStarted,
  type RolloutRecord,
  releaseRollout,
  releaseWorkload,
  renewLease,
  setRolloutStatus,
  setStableRevision,
  type WorkloadRecord,
} from "#store";
import { analyse } from "./analysis-step.ts";
import type { EngineDeps } from "./deps.ts";
import { healWorkload, removeMarkedBackends } from "./heal.ts";
import { degradedReason } from "./health/degraded.ts";
import { returnToStable } from "./return-to-stable.ts";
import { DEFAULT_DRAIN_MS, POLL_MS, RETRY_MS, runStep } from "./steps.ts";

export interface ReconcilerOptions {
  /** Names this copy in leases; unique per process. */
  readonly owner?: string;
  /** How long a claim lasts unless renewed; a copy that dies holds work at most this long. */
  readonly leaseMs?: number;
  /** How long one claim may work before it gives the workload back. */
  readonly budgetMs?: number;
  /** How often an idle workload's deployments are checked against the cloud. */
  readonly healIntervalMs?: number;
  /** How long a backend keeps serving after it left the routing table, before it is removed. */
  readonly drainMs?: number;
  /** How many workloads one pass claims. */
  readonly batchSize?: number;
  /** Called after every pass with its duration, for metrics. */
  readonly onPass?: (durationMs: number, workloads: number) => void;
}

export interface Reconciler {
  readonly owner: string;
  /** Claims due workloads and works on them; returns how many it claimed. */
  reconcileOnce(): Promise<number>;
}

/** How often a rollout held for a failover looks again; the health pass also asks when the workload recovers. */
const HOLD_MS = 1_000;

/** Milliseconds until the workload is due again, or null when it only needs a look on request. */
type NextDue = number | null;

/**
 * The only writer of rollout progress. Any number of copies may run: each pass claims due
 * workloads under a lease, advances each one's rollout as far as it can go without waiting, and
 * gives them back with the time they are next due.
 */
export const createReconciler = (deps: EngineDeps, options: ReconcilerOptions = {}): Reconciler => {
  const {
    owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    leaseMs = 15_000,
    budgetMs = 5_000,
    healIntervalMs = 5_000,
    batchSize = 16,
    drainMs = DEFAULT_DRAIN_MS,
    onPass,
  } = options;
  const lastHealed = new Map<string, number>();

  const event = (w: WorkloadRecord, r: RolloutRecord | null, type: string, message: string, data = {}) =>
    appendEvent(deps.sql, { workloadId: w.id, rolloutId: r?.id ?? null, type, message, data });

  const fail = async (w: WorkloadRecord, r: RolloutRecord, message: string): Promise<void> => {
    // The status and its event land together, so no reader sees the rollout failed without the why.
    const applied = await deps.sql.begin(async (tx) => {
      if (!(await finishRollout(tx, r.id, r.version, "failed", message))) return false;
      await appendEvent(tx, {
        workloadId: w.id,
        rolloutId: r.id,
        type: "rollout_failed",
        message,
        data: { step: r.currentStep },
      });
      return true;
    });
    if (!applied) return;
    // Whatever of the new revision never took traffic is removed; targets it already serves keep it.
    for (const b of await listBackends(deps.sql, w.id)) {
      if (b.revision === r.toRevision && b.weight === 0 && b.state === "running") {
        await markBackendRemoving(deps.sql, w.id, b, drainMs);
      }
    }
    deps.log.warn({ workload: w.name, rollout: r.id, reason: message }, "rollout failed");
  };

  const rollBack = async (w: WorkloadRecord, r: RolloutRecord, message: string, data = {}): Promise<void> => {
    await returnToStable(deps, w, r.id, { status: "rolled_back", message, data, drainMs }).catch(
      (error: unknown) => {
        // Aborted or finished meanwhile: nothing left to roll back.
        if (!(error instanceof DevsimError && error.code === "invalid_transition")) throw error;
      },
    );
    deps.log.warn({ workload: w.name, rollout: r.id, reason: message }, "rolled back");
  };

  const succeed = async (w: WorkloadRecord, r: RolloutRecord): Promise<void> => {
    const applied = await deps.sql.begin(async (tx) => {
      if (!(await finishRollout(tx, r.id, r.version, "succeeded", null))) return false;
      await setStableRevision(tx, w.id, r.toRevision);
      await appendEvent(tx, {
        workloadId: w.id,
        rolloutId: r.id,
        type: "rollout_succeeded",
        message: `revision ${r.toRevision} serves all traffic`,
        data: { fromRevision: r.fromRevision, toRevision: r.toRevision },
      });
      return true;
    });
    if (applied)
      deps.log.info({ workload: w.name, rollout: r.id, revision: r.toRevision }, "rollout succeeded");
  };

  const settingsOf = (r: RolloutRecord): AnalysisSettings =>
    r.strategy.type === "canary" ? r.strategy.analysis : AnalysisSettings.parse({});

  /**
   * Whether the rollout must wait for its workload to recover from a failover: its steps would
   * judge and move traffic on a degraded workload. The hold is recorded once; a rollout no longer
   * held goes on with its current step started over.
   */
  const heldForFailover = async (
    w: WorkloadRecord,
    r: RolloutRecord,
  ): Promise<{ held: boolean; rollout: RolloutRecord }> => {
    const degraded = await listDegradedTargets(deps.sql, w.id);
    if (degraded.length > 0) {
      const reason = degradedReason(w.name, degraded);
      if (await holdRollout(deps.sql, r.id, reason)) {
        await event(w, r, "rollout.held", `held at step ${r.currentStep}: ${reason}`, {
          step: r.currentStep,
          targets: degraded,
        });
        deps.log.warn({ workload: w.name, rollout: r.id, reason }, "rollout held");
      }
      return { held: true, rollout: r };
    }
    if (r.heldReason !== null && (await releaseRollout(deps.sql, r.id))) {
      await event(
        w,
        r,
        "rollout.resumed",
        `every target serves its full share again: step ${r.currentStep} starts over`,
        {
          step: r.currentStep,
        },
      );
    }
    return {
      held: false,
      rollout: { ...r, heldReason: null, stepStartedAt: r.heldReason === null ? r.stepStartedAt : null },
    };
  };

  const advance = async (w: WorkloadRecord, initial: RolloutRecord, deadline: number): Promise<NextDue> => {
    let r = initial;
    while (r.currentStep < r.steps.length) {
      if (Date.now() > deadline) return 0;
      const step = r.steps[r.currentStep];
      if (!step) break;
      const hold = await heldForFailover(w, r);
      if (hold.held) return HOLD_MS;
      r = hold.rollout;
      const current = r;
      const outcome = await runStep(
        {
          deps,
          workload: w,
          rollout: r,
          drainMs,
          analyse: (s) => analyse(deps, current, s, settingsOf(current)),
        },
        step,
      );
      switch (outcome.kind) {
        case "stale":
          return 0;
        case "fail":
          await fail(w, r, outcome.message);
          return 0;
        case "rollback":
          await rollBack(w, r, outcome.message, outcome.data);
          return 0;
        case "hold":
          await markStepStarted(deps.sql, r.id, r.version);
          if (await setRolloutStatus(deps.sql, r.id, "progressing", "paused", outcome.reason)) {
            await event(w, r, "paused", `step ${r.currentStep}: ${outcome.reason}`, { step: r.currentStep });
          }
          return healIntervalMs;
        case "wait": {
          await markStepStarted(deps.sql, r.id, r.version);
          const started = r.stepStartedAt ? Date.parse(r.stepStartedAt) : Date.now();
          if (Date.now() - started > r.progressDeadlineSeconds * 1000) {
            const message = `progress deadline of ${r.progressDeadlineSeconds}s exceeded: ${outcome.reason}`;
            // An analysis that never decided keeps users on stable; anything else failed to happen.
            if (step.kind === "analysis") await rollBack(w, r, message);
            else await fail(w, r, message);
            return 0;
          }
          return outcome.delayMs;
        }
        case "done": {
          const { event: e } = outcome;
          const applied = await deps.sql.begin(async (tx) => {
            if (!(await advanceRollout(tx, r.id, r.version, r.currentStep + 1))) return false;
            await appendEvent(tx, {
              workloadId: w.id,
              rolloutId: r.id,
              ...e,
              data: { ...e.data, step: r.currentStep },
            });
            return true;
          });
          // Someone else moved this rollout on (our lease lapsed, or a person promoted or aborted it): stop.
          if (!applied) return 0;
          r = { ...r, currentStep: r.currentStep + 1, version: r.version + 1, stepStartedAt: null };
          if (!(await renewLease(deps.sql, w.id, owner, leaseMs))) return 0;
        }
      }
    }
    await succeed(w, r);
    return healIntervalMs;
  };

  const teardown = async (w: WorkloadRecord): Promise<NextDue> => {
    const draining = await removeMarkedBackends(deps, w);
    const left = await listBackends(deps.sql, w.id);
    if (left.length === 0) {
      await event(w, null, "workload_removed", `every deployment of ${w.name} is removed`);
      return null;
    }
    return draining > 0 ? drainMs : RETRY_MS;
  };

  const work = async (id: string): Promise<NextDue> => {
    const started = Date.now();
    const w = await findWorkloadById(deps.sql, id);
    if (!w) return null;
    if (w.deletedAt !== null) return teardown(w);
    const draining = await removeMarkedBackends(deps, w);
    let healPending = false;
    if (Date.now() - (lastHealed.get(id) ?? 0) >= healIntervalMs) {
      const { pending } = await healWorkload(deps, w);
      // Until every backend serves again, heal on every pass; then only every interval.
      healPending = pending > 0;
      if (!healPending) lastHealed.set(id, Date.now());
    }
    const rollout = await findActiveRollout(deps.sql, id);
    if (rollout?.status !== "progressing") {
      if (healPending) return POLL_MS;
      return draining > 0 ? drainMs : healIntervalMs;
    }
    return advance(w, rollout, started + budgetMs);
  };

  const reconcileOnce = async (): Promise<number> => {
    const started = performance.now();
    const ids = await claimDueWorkloads(deps.sql, owner, leaseMs, batchSize);
    await Promise.all(
      ids.map(async (id) => {
        let next: NextDue = 0;
        try {
          next = await work(id);
        } catch (error) {
          next = 1_000;
          const err = error instanceof DevsimError ? { code: error.code, message: error.message } : error;
          deps.log.error({ workload: id, err }, "reconcile failed; will retry");
        }
        await releaseWorkload(deps.sql, id, owner, next);
      }),
    );
    onPass?.(performance.now() - started, ids.length);
    return ids.length;
  };

  return { owner, reconcileOnce };
};
