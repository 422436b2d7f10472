export { type NodeRouter, type NodeRouterOptions, nodeRouter } from "./node-router.ts";
