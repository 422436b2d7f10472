export * from "./ladder.ts";
export * from "./scaling.ts";
export * from "./weights.ts";
