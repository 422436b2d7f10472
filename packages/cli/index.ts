export * from "./main.ts";
export * from "./options.ts";
export * from "./up.ts";
