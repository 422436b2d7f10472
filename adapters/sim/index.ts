export { SimApiError } from "./client.ts";
export * from "./sim-adapter.ts";
