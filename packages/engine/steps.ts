import { AdapterError, type RolloutStep } from "#core";
import {
  deleteBackend,
  markBackendRemoving,
  type RolloutRecord,
  recordBackend,
  setBackendUrl,
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
  | { readonly kind: "fail"; readonly message: string };

const done = (type: string, message: string, data: Readonly<Record<string, unknown>>): StepOutcome => ({
  kind: "done",
  event: { type, message, data },
});

/** How often a step that waits on a cloud looks again. */
export const POLL_MS = 250;
/** How long to back off after a cloud call failed in a way that may pass. */
export const RETRY_MS = 1_000;

type StepOf<K extends RolloutStep["kind"]> = Extract<RolloutStep, { kind: K }>;

export interface StepContext {
  readonly deps: EngineDeps;
  readonly workload: WorkloadRecord;
  readonly rollout: RolloutRecord;
  /**
   * How long a backend stays up after it left the routing table, so routers that still hold the
   * previous table (they cache it for up to a second) and requests in flight finish on it.
   */
  readonly drainMs: number;
}

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
  const { deps, workload } = ctx;
  await shiftTargetWeight(deps.sql, workload.id, step, step.to, step.weight);
  await publishRouting(deps, workload);
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

const remove = async (ctx: StepContext, step: StepOf<"remove">): Promise<StepOutcome> => {
  const { deps, workload, rollout } = ctx;
  const key = { cloud: step.cloud, region: step.region, revision: step.revision };
  if (rollout.stepStartedAt === null) {
    await markBackendRemoving(deps.sql, workload.id, key);
    await publishRouting(deps, workload);
    return {
      kind: "wait",
      delayMs: ctx.drainMs,
      reason: `draining revision ${step.revision} in ${step.cloud}/${step.region}`,
    };
  }
  const drainedAt = Date.parse(rollout.stepStartedAt) + ctx.drainMs;
  if (Date.now() < drainedAt) return { kind: "wait", delayMs: drainedAt - Date.now(), reason: "draining" };
  await deps.adapters[step.cloud].remove(deploymentTarget(workload, step), step.revision);
  await deleteBackend(deps.sql, workload.id, key);
  return done("removed", `revision ${step.revision} removed from ${step.cloud}/${step.region}`, key);
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
