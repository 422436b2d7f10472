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

export const StepSchema = z
  .object({
    kind: z.enum(["deploy", "await_ready", "shift", "remove"]),
    cloud: Cloud,
    region: z.string(),
    revision: z.int().optional(),
    replicas: z.int().optional(),
    to: z.int().nullable().optional(),
    weight: z.number().optional(),
  })
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
