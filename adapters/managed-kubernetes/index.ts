export * from "./capacity.ts";
export * from "./cluster-choice.ts";
export * from "./managed-kubernetes.ts";
