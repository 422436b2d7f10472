import type { z } from "@hono/zod-openapi";
import type { Backend, Rollout, RolloutEvent, Workload } from "#core";
import type { BackendRecord } from "#store";
import type { RolloutSchema, TrafficSchema, WorkloadSchema } from "./schemas.ts";

export type WorkloadView = z.infer<typeof WorkloadSchema>;
export type RolloutView = z.infer<typeof RolloutSchema>;
export type TrafficView = z.infer<typeof TrafficSchema>;

export const workloadView = (w: Workload): WorkloadView => ({
  name: w.name,
  project: w.project,
  image: w.image,
  port: w.port,
  healthCheck: { ...w.healthCheck },
  targets: w.targets.map((t) => ({ ...t })),
  strategy: w.strategy,
  failover: {
    ...w.failover,
    cloudOrder: [...w.failover.cloudOrder],
    recoverySteps: [...w.failover.recoverySteps],
  },
  stableRevision: w.stableRevision,
  latestRevision: w.latestRevision,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

/** A rollout as clients see it; `heldReason` comes with the records the store reads. */
export const rolloutView = (r: Rollout & { readonly heldReason?: string | null }): RolloutView => ({
  id: r.id,
  workload: r.workload,
  status: r.status,
  fromRevision: r.fromRevision,
  toRevision: r.toRevision,
  strategy: r.strategy,
  steps: r.steps.map((s) =>
    s.kind === "set_weights" ? { ...s, weights: s.weights.map((w) => ({ ...w })) } : { ...s },
  ),
  currentStep: r.currentStep,
  message: r.message,
  heldReason: r.heldReason ?? null,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  finishedAt: r.finishedAt,
});

/**
 * Running backends with each weight as a percentage of the workload's traffic: the rollout's
 * weights, or with `routed` (the effective routing table) what routers do, failover included.
 */
export const trafficView = (backends: readonly BackendRecord[], routed?: readonly Backend[]): TrafficView => {
  const running = backends.filter((b) => b.state === "running");
  const key = (b: Pick<Backend, "cloud" | "region" | "revision">) => `${b.cloud}/${b.region}/${b.revision}`;
  const effective = routed && new Map(routed.map((b) => [key(b), b.weight]));
  const weightOf = (b: BackendRecord) => (effective ? (effective.get(key(b)) ?? 0) : b.weight);
  const total = running.reduce((sum, b) => sum + weightOf(b), 0);
  return {
    backends: running.map((b) => ({
      cloud: b.cloud,
      region: b.region,
      revision: b.revision,
      weight: total > 0 ? Math.round((weightOf(b) / total) * 10_000) / 100 : 0,
      url: b.url,
    })),
  };
};

/** An event as the API shows it: its data copied into a plain object. */
export const eventView = (e: RolloutEvent) => ({ ...e, data: { ...e.data } });
