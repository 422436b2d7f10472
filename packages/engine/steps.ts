import { AdapterError, type RolloutStep } from "#core";
import {
  type Db,
  listBackends,
  lockRolloutStatus,
  markBackendRemoving,
  type RolloutRecord,
  recordBackend,
  setBackendUrl,
  setWorkloadWeights,
  shiftTargetWeight,
  type WorkloadRecord,
} from "#store";
import type { EngineDeps } from "./deps.ts";
import { publishRouting } from "./routing.ts";
import { deploymentTarget, revisionSpec } from "./targets.ts";

/** What a finished step reports; it is written in the same transaction that moves the rollout on. */
export interface StepEvent {
  readonly type: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** What running a step came to. */
export type StepOutcome =
  | { readonly kind: "done"; readonly event: StepEvent }
  | { readonly kind: "wait"; readonly delayMs: number; readonly reason: string }
  /** Waits for a person: the rollout shows `paused` until promoted. */
  | { readonly kind: "hold"; readonly reason: string }
  | { readonly kind: "fail"; readonly message: string }
  /** The new revision is worse: traffic goes back to stable and the rollout ends `rolled_back`. */
  | { readonly kind: "rollback"; readonly message: string; readonly data: Readonly<Record<string, unknown>> }
  /** The rollout was aborted or finished by someone else while the step ran. */
  | { readonly kind: "stale" };

const done = (type: string, message: string, data: Readonly<Record<string, unknown>>): StepOutcome => ({
  kind: "done",
  event: { type, message, data },
});

/** How often a step that waits on a cloud looks again. */
export const POLL_MS = 250;
/** How long to back off after a cloud call failed in a way that may pass. */
export const RETRY_MS = 1_000;
/**
 * How long a backend keeps running after it left the routing table: routers hold a table for up
 * to a second, and requests in flight finish.
 */
export const DEFAULT_DRAIN_MS = 1_500;

type StepOf<K extends RolloutStep["kind"]> = Extract<RolloutStep, { kind: K }>;

export interface StepContext {
  readonly deps: EngineDeps;
  readonly workload: WorkloadRecord;
  readonly rollout: RolloutRecord;
  readonly drainMs: number;
  /** Runs an analysis step; given by the reconciler so analysis stays its own component. */
  readonly analyse: (step: StepOf<"analysis">) => Promise<StepOutcome>;
}

/**
 * Changes weights only while the rollout is live, holding its row: an abort that got there first
 * wins, and one that comes later waits for this to commit.
 */
const whileLive = async (ctx: StepContext, change: (tx: Db) => Promise<void>): Promise<boolean> => {
  const applied = await ctx.deps.sql.begin(async (tx) => {
    if ((await lockRolloutStatus(tx, ctx.rollout.id)) !== "progressing") return false;
    await change(tx);
    return true;
  });
  if (applied) await publishRouting(ctx.deps, ctx.workload);
  return applied;
};

const deploy = async (ctx: StepContext, step: StepOf<"deploy">): Promise<StepOutcome> => {
  const { deps, workload } = ctx;
  const key = { cloud: step.cloud, region: step.region, revision: step.revision };
  // Recorded before the cloud is asked, so whatever a crash leaves behind is known and gets cleaned up.
  await recordBackend(deps.sql, workload.id, key, step.replicas);
  const adapter = deps.adapters[step.cloud];
  const target = deploymentTarget(workload, step);
  const status = await adapter.deploy(
    target,
    await revisionSpec(deps.sql, workload, step.revision),
    step.replicas,
  );
  if (status.desiredReplicas !== step.replicas) await adapter.scale(target, step.revision, step.replicas);
  if (status.url) await setBackendUrl(deps.sql, workload.id, key, status.url);
  return done("deployed", `revision ${step.revision} deployed to ${step.cloud}/${step.region}`, key);
};

const awaitReady = async (ctx: StepContext, step: StepOf<"await_ready">): Promise<StepOutcome> => {
  const { deps, workload } = ctx;
  const adapter = deps.adapters[step.cloud];
  const target = deploymentTarget(workload, step);
  const status = await adapter.describe(target, step.revision);
  if (status === null) {
    // The cloud lost it (a restarted simulator, a hand-deleted service): ask again; deploy is idempotent.
    const deployStep = ctx.rollout.steps.find(
      (s) =>
        s.kind === "deploy" &&
        s.cloud === step.cloud &&
        s.region === step.region &&
        s.revision === step.revision,
    );
    const replicas = deployStep?.kind === "deploy" ? deployStep.replicas : 1;
    await adapter.deploy(target, await revisionSpec(deps.sql, workload, step.revision), replicas);
    return {
      kind: "wait",
      delayMs: POLL_MS,
      reason: `deployment missing in ${step.cloud}/${step.region}, deployed again`,
    };
  }
  if (status.url === null || status.desiredReplicas === 0 || status.readyReplicas < status.desiredReplicas) {
    return {
      kind: "wait",
      delayMs: POLL_MS,
      reason: `${status.readyReplicas}/${status.desiredReplicas} replicas ready in ${step.cloud}/${step.region}`,
    };
  }
  const key = { cloud: step.cloud, region: step.region, revision: step.revision };
  await setBackendUrl(deps.sql, workload.id, key, status.url);
  return done("ready", `revision ${step.revision} ready in ${step.cloud}/${step.region}`, {
    ...key,
    readyReplicas: status.readyReplicas,
  });
};

const shift = async (ctx: StepContext, step: StepOf<"shift">): Promise<StepOutcome> => {
  const { workload } = ctx;
  if (!(await whileLive(ctx, (tx) => shiftTargetWeight(tx, workload.id, step, step.to, step.weight)))) {
    return { kind: "stale" };
  }
  const message =
    step.to === null
      ? `traffic drained from ${step.cloud}/${step.region}`
      : `${step.cloud}/${step.region} traffic (weight ${step.weight}) moved to revision ${step.to}`;
  return done("traffic_shifted", message, {
    cloud: step.cloud,
    region: step.region,
    to: step.to,
    weight: step.weight,
  });
};

const setWeights = async (ctx: StepContext, step: StepOf<"set_weights">): Promise<StepOutcome> => {
  const backends = await listBackends(ctx.deps.sql, ctx.workload.id);
  const missing = step.weights.filter(
    (w) =>
      !backends.some(
        (b) => b.cloud === w.cloud && b.region === w.region && b.revision === w.revision && b.url !== "",
      ),
  );
  if (missing.length > 0) {
    const where = missing.map((m) => `${m.cloud}/${m.region} revision ${m.revision}`).join(", ");
    return { kind: "fail", message: `cannot send traffic to what does not run: ${where}` };
  }
  if (!(await whileLive(ctx, (tx) => setWorkloadWeights(tx, ctx.workload.id, step.weights))))
    return { kind: "stale" };
  const byRevision = new Map<number, number>();
  for (const w of step.weights) byRevision.set(w.revision, (byRevision.get(w.revision) ?? 0) + w.weight);
  const shares = [...byRevision].map(
    ([revision, weight]) => `revision ${revision} ${Math.round(weight * 100) / 100}%`,
  );
  return done("traffic_shifted", `traffic set: ${shares.join(", ")}`, { weights: step.weights });
};

const pause = async (ctx: StepContext, step: StepOf<"pause">): Promise<StepOutcome> => {
  if (step.durationSeconds === null) return { kind: "hold", reason: "waiting to be promoted" };
  const started = ctx.rollout.stepStartedAt ? Date.parse(ctx.rollout.stepStartedAt) : Date.now();
  const left = started + step.durationSeconds * 1000 - Date.now();
  if (left > 0)
    return { kind: "wait", delayMs: Math.min(left, 5_000), reason: `pausing ${step.durationSeconds}s` };
  return done("paused", `paused ${step.durationSeconds}s`, { durationSeconds: step.durationSeconds });
};

const remove = async (ctx: StepContext, step: StepOf<"remove">): Promise<StepOutcome> => {
  const { workload, drainMs } = ctx;
  const key = { cloud: step.cloud, region: step.region, revision: step.revision };
  // The cloud deployment goes later (see removeMarkedBackends), so the rollout need not wait for it.
  const keepMs = Math.max(drainMs, (step.keepSeconds ?? 0) * 1000);
  if (!(await whileLive(ctx, (tx) => markBackendRemoving(tx, workload.id, key, keepMs))))
    return { kind: "stale" };
  const after = keepMs >= 10_000 ? ` in ${Math.round(keepMs / 1000)}s` : "";
  return done("removing", `revision ${step.revision} leaves ${step.cloud}/${step.region}${after}`, {
    ...key,
    keepMs,
  });
};

/**
 * Runs one step. Every step is idempotent: running it again after a crash, whether or not the
 * first run took effect, ends in the same state.
 */
export const runStep = async (ctx: StepContext, step: RolloutStep): Promise<StepOutcome> => {
  try {
    switch (step.kind) {
      case "deploy":
        return await deploy(ctx, step);
      case "await_ready":
        return await awaitReady(ctx, step);
      case "shift":
        return await shift(ctx, step);
      case "set_weights":
        return await setWeights(ctx, step);
      case "pause":
        return await pause(ctx, step);
      case "analysis":
        return await ctx.analyse(step);
      case "remove":
        return await remove(ctx, step);
    }
  } catch (error) {
    if (error instanceof AdapterError && error.retryable) {
      return { kind: "wait", delayMs: RETRY_MS, reason: `${error.cloud}: ${error.message}` };
    }
    if (error instanceof AdapterError) return { kind: "fail", message: `${error.cloud}: ${error.message}` };
    throw error;
  }
};
