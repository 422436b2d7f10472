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

/** What an active health check uses for a field the workload leaves out. */
export const HEALTH_CHECK_DEFAULTS = {
  intervalSeconds: 10,
  timeoutSeconds: 2,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
} as const;

const timeoutBelowInterval = (
  check: { readonly intervalSeconds?: number | undefined; readonly timeoutSeconds?: number | undefined },
  ctx: z.RefinementCtx,
): void => {
  const interval = check.intervalSeconds ?? HEALTH_CHECK_DEFAULTS.intervalSeconds;
  const timeout = check.timeoutSeconds ?? HEALTH_CHECK_DEFAULTS.timeoutSeconds;
  // A probe still waiting when the next one is due would overlap it.
  if (timeout >= interval) {
    ctx.addIssue({
      code: "custom",
      path: ["timeoutSeconds"],
      message: `must be less than intervalSeconds (${interval})`,
    });
  }
};

/**
 * How a workload's backends are probed: `GET <backend><path>` every `intervalSeconds`, a 2xx within
 * `timeoutSeconds` is a success, and `healthyThreshold` / `unhealthyThreshold` consecutive results
 * change a backend's status. The tuning fields are optional here, so specs written before they
 * existed stay valid; `healthCheckSettings` fills the defaults.
 */
export const HealthCheck = z
  .strictObject({
    path: z.string().regex(/^\/[^\s]*$/, "must be an absolute path such as '/healthz'"),
    intervalSeconds: z.int().min(1).max(300).optional(),
    timeoutSeconds: z.number().min(0.1).max(60).optional(),
    healthyThreshold: z.int().min(1).max(10).optional(),
    unhealthyThreshold: z.int().min(1).max(10).optional(),
  })
  .superRefine(timeoutBelowInterval);
export type HealthCheck = z.infer<typeof HealthCheck>;

/** A health check with every field filled. */
export type HealthCheckSettings = Required<HealthCheck>;

/**
 * Fills a health check's defaults. Stored specs go through this when read, so a row written with
 * only `{ path }` reads as a complete check.
 *
 * @example healthCheckSettings({ path: "/healthz" }).intervalSeconds // 10
 */
export const healthCheckSettings = (check: HealthCheck): HealthCheckSettings => ({
  path: check.path,
  intervalSeconds: check.intervalSeconds ?? HEALTH_CHECK_DEFAULTS.intervalSeconds,
  timeoutSeconds: check.timeoutSeconds ?? HEALTH_CHECK_DEFAULTS.timeoutSeconds,
  healthyThreshold: check.healthyThreshold ?? HEALTH_CHECK_DEFAULTS.healthyThreshold,
  unhealthyThreshold: check.unhealthyThreshold ?? HEALTH_CHECK_DEFAULTS.unhealthyThreshold,
});

const strictlyIncreasingTo100 = (steps: readonly number[], ctx: z.RefinementCtx): void => {
  steps.forEach((step, i) => {
    const before = steps[i - 1];
    if (before !== undefined && step <= before) {
      ctx.addIssue({
        code: "custom",
        path: [i],
        message: `must be greater than the step before (${before})`,
      });
    }
  });
  if (steps.at(-1) !== 100) {
    ctx.addIssue({ code: "custom", path: [steps.length - 1], message: "the last step must be 100" });
  }
};

const uniqueClouds = (clouds: readonly Cloud[], ctx: z.RefinementCtx): void => {
  clouds.forEach((cloud, i) => {
    if (clouds.indexOf(cloud) !== i)
      ctx.addIssue({ code: "custom", path: [i], message: `duplicate cloud ${cloud}` });
  });
};

/**
 * Where a failed target's traffic goes and how it comes back. Its share moves to healthy targets
 * in proportion to their replicas: of the same cloud first when `sameCloudFirst` and one is
 * healthy, otherwise of the first cloud in `cloudOrder` (then the targets' order) that has one.
 * On recovery the target takes back its share in `recoverySteps` (percent of its normal share),
 * one step per health interval.
 */
export const FailoverPolicy = z.strictObject({
  sameCloudFirst: z.boolean().default(true),
  /** Preference among clouds; clouds left out follow in the order of the workload's targets. */
  cloudOrder: z.array(Cloud).max(4).superRefine(uniqueClouds).default([]),
  recoverySteps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .max(20)
    .superRefine(strictlyIncreasingTo100)
    .default([25, 50, 100]),
  /** Scale the targets that take a failed target's share, so their replicas keep up with it. */
  scaleSurvivors: z.boolean().default(true),
});
export type FailoverPolicy = z.infer<typeof FailoverPolicy>;

/** The policy of a workload that names none. */
export const DEFAULT_FAILOVER_POLICY: FailoverPolicy = FailoverPolicy.parse({});

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
  failover: FailoverPolicy.optional(),
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
  readonly healthCheck: HealthCheckSettings;
  readonly targets: readonly Target[];
  readonly strategy: RolloutStrategy;
  readonly failover: FailoverPolicy;
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
