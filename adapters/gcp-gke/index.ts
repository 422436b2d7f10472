export { check } from "./check.ts";
export type { GkeAuth } from "./clusters.ts";
export { ControlPlaneEndpoint, GkeCluster, GkeConfig, type GkeConfigInput } from "./config.ts";
export { ControlPlaneEndpointError } from "./control-plane.ts";
export { createGkeAdapter, type GkeAdapter } from "./gke-adapter.ts";
