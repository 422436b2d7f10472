import { z } from "zod";
import { Cloud } from "./cloud.ts";
import { RolloutStrategy } from "./strategy.ts";

/** A DNS label: the workload name is routed by `Host: <name>.<anything>`. */
export const WorkloadName = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits and '-'");

/** A container image reference: `[registry[:port]/]path[:tag][@sha256:digest]`. */
export const Image = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    "must be an image reference such as 'registry.example.com/team/app:1.2.3'",
  );

/** How a simulated revision behaves: a bad release is one with a high error rate or latency. */
export const SimProfile = z.strictObject({
  errorRate: z.number().min(0).max(1).default(0),
  latencyMs: z.number().min(0).max(60_000).default(0),
  ready: z.boolean().default(true),
});
export type SimProfile = z.infer<typeof SimProfile>;

export const HealthCheck = z.strictObject({
  path: z.string().regex(/^\/[^\s]*$/, "must be an absolute path such as '/healthz'"),
});
export type HealthCheck = z.infer<typeof HealthCheck>;

export const Target = z.strictObject({
  cloud: Cloud,
  region: z.string().min(1).max(64),
  replicas: z.int().min(1).max(100),
});
export type Target = z.infer<typeof Target>;

const uniqueTargets = (targets: readonly Target[], ctx: z.RefinementCtx): void => {
  const seen = new Set<string>();
  targets.forEach((t, i) => {
    const key = `${t.cloud}/${t.region}`;
    if (seen.has(key)) ctx.addIssue({ code: "custom", path: [i], message: `duplicate target ${key}` });
    seen.add(key);
  });
};

export const Targets = z.array(Target).min(1).max(32).superRefine(uniqueTargets);

/** What a client sends to create a workload. */
export const WorkloadInput = z.strictObject({
  name: WorkloadName,
  project: WorkloadName.default("default"),
  image: Image,
  port: z.int().min(1).max(65_535),
  healthCheck: HealthCheck,
  targets: Targets,
  strategy: RolloutStrategy.default({ type: "rolling", progressDeadlineSeconds: 600 }),
  sim: SimProfile.optional(),
});
export type WorkloadInput = z.infer<typeof WorkloadInput>;

/** What a client sends to replace a workload's spec; a changed image or sim profile starts a rollout. */
export const WorkloadUpdate = WorkloadInput.omit({ name: true, project: true });
export type WorkloadUpdate = z.infer<typeof WorkloadUpdate>;

export interface Workload {
  readonly id: string;
  readonly name: string;
  readonly project: string;
  /** The image of the latest revision: what the workload should run. */
  readonly image: string;
  readonly port: number;
  readonly healthCheck: HealthCheck;
  readonly targets: readonly Target[];
  readonly strategy: RolloutStrategy;
  /** The revision serving traffic, or null before the first rollout succeeds. */
  readonly stableRevision: number | null;
  readonly latestRevision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** An immutable, numbered snapshot of what runs. */
export interface Revision {
  readonly workload: string;
  readonly number: number;
  readonly image: string;
  readonly port: number;
  readonly healthCheck: HealthCheck;
  readonly configHash: string;
  readonly sim: SimProfile | null;
  readonly createdAt: string;
}
