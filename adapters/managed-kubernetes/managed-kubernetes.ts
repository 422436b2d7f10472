import { AdapterError } from "#core";
import type { CloudAdapter, RegionStatus } from "../port.ts";

// AKS, GKE and DOKS are each a cloud API that finds clusters and hands out their credentials, in
// front of the shared Kubernetes layer. What the three do alike lives here.

/** What a cloud's cluster API gives the adapter. */
export interface ManagedClusters {
  /** One entry per region served, available when the cloud reports its cluster up. */
  regions(): Promise<RegionStatus[]>;
}

/** One line of `devsim clouds check`: what was checked, and what is wrong and how to fix it. */
export interface TargetCheck {
  readonly target: string;
  readonly ok: boolean;
  readonly problem?: string;
  readonly fix?: string;
}

/** A region is available when the cloud reports its cluster up and the cluster's API server answers. */
export const combineRegions = (
  cloud: readonly RegionStatus[],
  api: readonly RegionStatus[],
): RegionStatus[] =>
  cloud.map(({ region, available }) => ({
    region,
    available: available && api.some((r) => r.region === region && r.available),
  }));

/**
 * The CloudAdapter of a managed Kubernetes cloud: workloads go through the Kubernetes layer, and
 * `regions()` asks both the cloud and each cluster.
 */
export const managedKubernetesAdapter = (
  clusters: ManagedClusters,
  kubernetes: CloudAdapter,
): CloudAdapter => ({
  cloud: kubernetes.cloud,
  capabilities: kubernetes.capabilities,
  deploy: (target, revision, replicas) => kubernetes.deploy(target, revision, replicas),
  scale: (target, revision, replicas) => kubernetes.scale(target, revision, replicas),
  describe: (target, revision) => kubernetes.describe(target, revision),
  remove: (target, revision) => kubernetes.remove(target, revision),
  async regions() {
    const [cloud, api] = await Promise.all([clusters.regions(), kubernetes.regions()]);
    return combineRegions(cloud, api);
  },
});

/** A check's line for a failure: the error's message, without a stack. */
export const failedCheck = (target: string, error: unknown, fix: string): TargetCheck => ({
  target,
  ok: false,
  problem: error instanceof Error ? error.message : String(error),
  fix,
});

/**
 * Whether the API server of each of `regions` answers with the credentials the cloud handed out
 * (regions whose cluster could not be found are left out: their line already says why).
 */
export const apiServerChecks = async (
  regions: readonly string[],
  label: (region: string) => string,
  kubernetes: CloudAdapter,
  fix: string,
): Promise<TargetCheck[]> => {
  if (regions.length === 0) return [];
  let probed: RegionStatus[];
  try {
    probed = await kubernetes.regions();
  } catch (error) {
    if (!(error instanceof AdapterError)) throw error;
    return [failedCheck(label("*"), error, fix)];
  }
  return probed
    .filter(({ region }) => regions.includes(region))
    .map(({ region, available }) =>
      available
        ? { target: label(region), ok: true }
        : {
            target: label(region),
            ok: false,
            problem:
              "the Kubernetes API server did not answer, or refused the credentials the cloud handed out",
            fix,
          },
    );
};
