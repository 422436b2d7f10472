export type * from "./port.ts";
export * from "./sim/index.ts";
