export * from "./control-api.ts";
export type * from "./deployment.ts";
export { MAX_FAULT_SECONDS, SIM_FAULT_TYPES, SimFault, SimFaultInput, SimFaultType } from "./faults.ts";
export { MAX_SIM_REPLICAS, SimDeploySpec, type SimDeploySpecInput } from "./schemas.ts";
export * from "./server.ts";
export * from "./traffic.ts";
export * from "./world.ts";
