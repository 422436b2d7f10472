export * from "./blue-green.ts";
export * from "./canary.ts";
export * from "./context.ts";
export * from "./describe.ts";
export * from "./plan.ts";
export * from "./rolling.ts";
