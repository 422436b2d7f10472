export { check } from "./check.ts";
export { DoksCluster, DoksConfig, type DoksConfigInput } from "./config.ts";
export { createDoksAdapter, type DoksAdapter, type DoksDependencies } from "./doks-adapter.ts";
