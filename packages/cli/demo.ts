import { CLOUDS, SIM_REGIONS, type WorkloadInput } from "#core";
import { type CommandDeps, createWorkload } from "#engine";
import { workloadNameEverUsed } from "#store";

export const DEMO_WORKLOAD = "hello";

/** The demo: one workload across every simulated region, one replica each. */
export const demoWorkload = (): WorkloadInput => ({
  name: DEMO_WORKLOAD,
  project: "default",
  image: "registry.example.com/demo/hello:1",
  port: 8080,
  healthCheck: { path: "/healthz" },
  targets: CLOUDS.flatMap((cloud) => SIM_REGIONS[cloud].map((region) => ({ cloud, region, replicas: 1 }))),
  strategy: { type: "rolling", progressDeadlineSeconds: 600 },
});

/**
 * Creates the demo workload on first start only: a name that ever existed (even deleted) means
 * the demo was created before, and the operator's choices since then stand.
 */
export const ensureDemoWorkload = async (deps: CommandDeps): Promise<boolean> => {
  if (await workloadNameEverUsed(deps.sql, DEMO_WORKLOAD)) return false;
  await createWorkload(deps, demoWorkload());
  return true;
};
