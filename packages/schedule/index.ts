export * from "./scheduler.ts";
export * from "./schedules.ts";
