export * from "./probe-state.ts";
export * from "./target-status.ts";
