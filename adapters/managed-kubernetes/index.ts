export * from "./managed-kubernetes.ts";
