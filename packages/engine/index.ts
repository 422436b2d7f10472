export * from "./commands.ts";
export type * from "./deps.ts";
export * from "./heal.ts";
export * from "./loop.ts";
export * from "./reconciler.ts";
export * from "./routing.ts";
export * from "./steps.ts";
