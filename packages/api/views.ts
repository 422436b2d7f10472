import type { z } from "@hono/zod-openapi";
import type { Rollout, Workload } from "#core";
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
  healthCheck: w.healthCheck,
  targets: w.targets.map((t) => ({ ...t })),
  strategy: w.strategy,
  stableRevision: w.stableRevision,
  latestRevision: w.latestRevision,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

export const rolloutView = (r: Rollout): RolloutView => ({
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
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  finishedAt: r.finishedAt,
});

/** Running backends with each weight as a percentage of the workload's traffic. */
export const trafficView = (backends: readonly BackendRecord[]): TrafficView => {
  const running = backends.filter((b) => b.state === "running");
  const total = running.reduce((sum, b) => sum + b.weight, 0);
  return {
    backends: running.map((b) => ({
      cloud: b.cloud,
      region: b.region,
      revision: b.revision,
      weight: total > 0 ? Math.round((b.weight / total) * 10_000) / 100 : 0,
      url: b.url,
    })),
  };
};
