import type { WorkloadInput } from "#core";

/** A valid workload on two clouds; tests override what they are about. */
export const workloadInput = (name: string, overrides: Partial<WorkloadInput> = {}): WorkloadInput => ({
  name,
  project: "default",
  image: "registry.example.com/app:1",
  port: 8080,
  healthCheck: { path: "/healthz" },
  targets: [
    { cloud: "aws", region: "us-east-1", replicas: 1 },
    { cloud: "gcp", region: "europe-west1", replicas: 3 },
  ],
  strategy: { type: "rolling", progressDeadlineSeconds: 600 },
  ...overrides,
});
