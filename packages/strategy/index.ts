export * from "./context.ts";
export * from "./rolling.ts";
