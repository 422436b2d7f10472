export { checkEcs, type EcsCheckResult } from "./check.ts";
export type { AwsCredentials } from "./client.ts";
export {
  EcsAdapterConfig,
  type EcsAdapterConfigInput,
  EcsTargetConfig,
  FARGATE_SIZES,
  renderUrl,
} from "./config.ts";
export { createEcsAdapter, type EcsAdapter, type EcsAdapterOptions } from "./ecs-adapter.ts";
export { ecsFailure, toAdapterError } from "./errors.ts";
export { ECS_TAGS, ecsNames } from "./requests.ts";
export type { EcsServiceState } from "./status.ts";
