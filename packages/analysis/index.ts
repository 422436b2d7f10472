export * from "./buckets.ts";
export * from "./config.ts";
export type { ErrorTestResult } from "./errors.ts";
export type { GuardCheck } from "./guards.ts";
export { type JudgeInput, judgeCanary } from "./judge.ts";
export type { LatencyTestResult } from "./latency.ts";
export * from "./verdict.ts";
