import { AdapterError, type RoutingTable, type WorkloadInput } from "#core";

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

/** A one-backend routing table for `hello`, at a version and weight. */
export const routingTable = (version: number, weight: number): RoutingTable => ({
  workload: "hello",
  version,
  backends: [{ cloud: "aws", region: "us-east-1", revision: 1, weight, url: "http://127.0.0.1:1" }],
});

/** The AdapterError a call rejects with; anything else (an answer, another error) fails the test. */
export const adapterFailureOf = async (call: Promise<unknown>): Promise<AdapterError> => {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AdapterError)) throw new Error(`expected an AdapterError, got ${String(error)}`);
  return error;
};
