export * from "./app.ts";
export type * from "./deps.ts";
export * from "./errors.ts";
export * from "./metrics.ts";
