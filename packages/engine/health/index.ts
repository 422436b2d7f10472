export * from "./assess.ts";
export * from "./pass.ts";
export * from "./probe.ts";
export * from "./report.ts";
