import { z } from "zod";
import { Cloud, RolloutStatus, RolloutStrategy, Target, WorkloadName } from "#core";

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }),
  })
  .meta({ id: "Error" });

export const NameParam = z.object({
  name: WorkloadName.meta({ example: "hello" }),
});
export const IdParam = z.object({ id: z.uuid() });

/** A workload's health check as it runs, every default filled. */
export const HealthCheckSchema = z
  .object({
    path: z.string(),
    intervalSeconds: z.int(),
    timeoutSeconds: z.number(),
    healthyThreshold: z.int(),
    unhealthyThreshold: z.int(),
  })
  .meta({ id: "HealthCheck" });

/** A workload's failover policy as it applies, every default filled. */
export const FailoverPolicySchema = z
  .object({
    sameCloudFirst: z.boolean(),
    cloudOrder: z.array(Cloud),
    recoverySteps: z.array(z.number()),
    scaleSurvivors: z.boolean(),
  })
  .meta({ id: "FailoverPolicy" });

export const WorkloadSchema = z
  .object({
    name: z.string(),
    project: z.string(),
    image: z.string(),
    port: z.int(),
    healthCheck: HealthCheckSchema,
    targets: z.array(Target),
    strategy: RolloutStrategy,
    failover: FailoverPolicySchema,
    stableRevision: z.int().nullable(),
    latestRevision: z.int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Workload" });

const at = { cloud: Cloud, region: z.string() };
export const StepSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("deploy"), ...at, revision: z.int(), replicas: z.int() }),
    z.object({ kind: z.literal("await_ready"), ...at, revision: z.int() }),
    z.object({ kind: z.literal("shift"), ...at, to: z.int().nullable(), weight: z.number() }),
    z.object({
      kind: z.literal("set_weights"),
      weights: z.array(z.object({ ...at, revision: z.int(), weight: z.number() })),
    }),
    z.object({ kind: z.literal("pause"), durationSeconds: z.int().nullable() }),
    z.object({ kind: z.literal("analysis"), durationSeconds: z.int(), canary: z.int(), stable: z.int() }),
    z.object({ kind: z.literal("remove"), ...at, revision: z.int(), keepSeconds: z.int().optional() }),
  ])
  .meta({ id: "RolloutStep" });

export const RolloutSchema = z
  .object({
    id: z.uuid(),
    workload: z.string(),
    status: RolloutStatus,
    fromRevision: z.int().nullable(),
    toRevision: z.int(),
    strategy: RolloutStrategy,
    steps: z.array(StepSchema),
    currentStep: z.int(),
    message: z.string().nullable(),
    heldReason: z.string().nullable().meta({
      description: "why the rollout waits where it is (its workload is failed over); null otherwise",
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: "Rollout" });

export const EventSchema = z
  .object({
    id: z.int(),
    workload: z.string(),
    rolloutId: z.string().nullable(),
    type: z.string(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .meta({ id: "Event" });

export const AnalysisResultSchema = z
  .object({
    step: z.int(),
    verdict: z.enum(["running", "pass", "fail", "inconclusive", "error"]),
    metric: z.string().nullable(),
    evidence: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .meta({ id: "AnalysisResult" });

export const WorkloadCreatedSchema = WorkloadSchema.extend({ rollout: RolloutSchema.nullable() }).meta({
  id: "WorkloadWithRollout",
});

export const TrafficSchema = z
  .object({
    backends: z.array(
      z.object({
        cloud: Cloud,
        region: z.string(),
        revision: z.int(),
        weight: z.number().meta({ description: "share of the workload's traffic, in percent" }),
        url: z.string(),
      }),
    ),
  })
  .meta({ id: "Traffic" });

export const TargetHealthSchema = z
  .object({
    cloud: Cloud,
    region: z.string(),
    status: z.enum(["healthy", "unhealthy", "recovering", "unknown"]),
    weight: z
      .number()
      .meta({ description: "the target's share of the workload's traffic as routers get it, in percent" }),
    lastCheck: z.string().nullable().meta({ description: "when its backends were last probed (ISO 8601)" }),
  })
  .meta({ id: "TargetHealth" });

export const WorkloadHealthSchema = z
  .object({ targets: z.array(TargetHealthSchema) })
  .meta({ id: "WorkloadHealth" });

/** An OpenAPI response with a JSON body. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const errorResponses = (...statuses: (400 | 404 | 409 | 503)[]) =>
  Object.fromEntries(statuses.map((s) => [s, jsonResponse(ErrorSchema, "error")]));

export const RolloutDetailSchema = RolloutSchema.extend({
  weights: TrafficSchema.shape.backends,
  analysis: z.array(AnalysisResultSchema),
}).meta({ id: "RolloutDetail" });

export const EventPageQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const PromoteBody = z.strictObject({ full: z.boolean().default(false) }).meta({ id: "PromoteInput" });
