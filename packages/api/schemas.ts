import { z } from "zod";
import { Cloud, HealthCheck, RolloutStatus, RolloutStrategy, Target, WorkloadName } from "#core";

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }),
  })
  .meta({ id: "Error" });

export const NameParam = z.object({
  name: WorkloadName.meta({ example: "hello" }),
});
export const IdParam = z.object({ id: z.uuid() });

export const WorkloadSchema = z
  .object({
    name: z.string(),
    project: z.string(),
    image: z.string(),
    port: z.int(),
    healthCheck: HealthCheck,
    targets: z.array(Target),
    strategy: RolloutStrategy,
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
