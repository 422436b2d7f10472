export * from "./memory.ts";
export * from "./routing.ts";
export type * from "./store.ts";
export * from "./upstash.ts";
