export * from "./backends.ts";
export * from "./claims.ts";
export * from "./db.ts";
export * from "./events.ts";
export * from "./revisions.ts";
export * from "./rollouts.ts";
export * from "./workloads.ts";
