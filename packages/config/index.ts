export * from "./clouds/index.ts";
export * from "./control-plane.ts";
export * from "./env.ts";
