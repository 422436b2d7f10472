export * from "./memory.ts";
export * from "./outcome-flush.ts";
export * from "./outcome-flusher.ts";
export { type BucketKeyParts, bucketKey, latencyField, targetField, targetsKey } from "./outcome-keys.ts";
export * from "./outcome-source.ts";
export * from "./routing.ts";
export type * from "./store.ts";
export * from "./upstash.ts";
