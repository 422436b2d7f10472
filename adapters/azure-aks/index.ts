export { type AksAdapter, type AksDependencies, createAksAdapter } from "./aks-adapter.ts";
export { check } from "./check.ts";
export { AksCluster, AksConfig, type AksConfigInput } from "./config.ts";
