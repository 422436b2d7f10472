export * from "./backend.ts";
export * from "./cloud.ts";
export * from "./errors.ts";
export * from "./logger.ts";
export type * from "./outcomes.ts";
export * from "./revision.ts";
export * from "./rollout.ts";
export * from "./step.ts";
export * from "./workload.ts";
