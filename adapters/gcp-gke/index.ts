export { check } from "./check.ts";
export type { GkeAuth } from "./clusters.ts";
export { GkeCluster, GkeConfig, type GkeConfigInput } from "./config.ts";
export { createGkeAdapter, type GkeAdapter } from "./gke-adapter.ts";
