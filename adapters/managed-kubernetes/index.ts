export * from "./cluster-choice.ts";
export * from "./managed-kubernetes.ts";
