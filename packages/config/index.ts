export * from "./control-plane.ts";
export * from "./env.ts";
