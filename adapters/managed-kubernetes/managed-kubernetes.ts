import { AdapterError, type RetryDecision } from "#core";
import type { CloudAdapter, RegionStatus } from "../port.ts";
import { type NodePoolCapacities, type NodePoolCapacity, nodesFor } from "./capacity.ts";

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

/** The node pools a scale may grow: the settings by region, and the cloud's call to grow one. */
export interface NodePoolGrowth {
  readonly capacity: NodePoolCapacities;
  /**
   * Starts making the region's pool (`capacity.nodePool`, never more than `capacity.maxNodes`)
   * hold at least `atLeast` nodes and returns once the cloud has taken the
   * change, without waiting for the nodes (minutes, during which a failover's health pass would
   * stand still); a pool already that large is left as it is. A pool still being changed is waited
   * for only within the adapter's retry budget.
   */
  grow(region: string, capacity: NodePoolCapacity, atLeast: number): Promise<void>;
}

/**
 * The CloudAdapter of a managed Kubernetes cloud: workloads go through the Kubernetes layer, and
 * `regions()` asks both the cloud and each cluster. With `growth`, a scale in a region that has a
 * capacity setting then starts growing its node pool to fit the replicas (never shrinking it), and
 * returns without waiting for the new nodes: the pods wait as Pending until they come.
 */
export const managedKubernetesAdapter = (
  clusters: ManagedClusters,
  kubernetes: CloudAdapter,
  growth?: NodePoolGrowth,
): CloudAdapter => ({
  cloud: kubernetes.cloud,
  capabilities: kubernetes.capabilities,
  deploy: (target, revision, replicas) => kubernetes.deploy(target, revision, replicas),
  async scale(target, revision, replicas) {
    await kubernetes.scale(target, revision, replicas);
    const capacity = growth?.capacity[target.region];
    if (!growth || !capacity) return;
    // Asked on every scale, not only on a larger count: a failed grow is then retried by the
    // caller's next scale to the same count, and a pool already large enough is only read.
    const nodes = nodesFor(replicas, capacity);
    try {
      await growth.grow(target.region, capacity, nodes);
    } catch (error) {
      if (!(error instanceof AdapterError)) throw error;
      throw new AdapterError(
        "unavailable",
        kubernetes.cloud,
        `${replicas} replicas are set, but node pool '${capacity.nodePool}' in ${target.region} did not grow to ${nodes} nodes: ${error.message}`,
        { cause: error },
      );
    }
  },
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

/**
 * How a cloud's API calls are retried, given where its errors carry the wait the cloud asked for:
 * what may pass later, after that wait; conflicts too when the caller reads again before writing.
 */
export const cloudRetryDecision =
  (afterMsOf: (error: AdapterError) => number | undefined) =>
  (options: { conflicts: boolean }) =>
  (error: unknown): RetryDecision => {
    if (!(error instanceof AdapterError)) return { retry: false };
    if (!error.retryable && !(options.conflicts && error.failure === "conflict")) return { retry: false };
    const afterMs = afterMsOf(error);
    return afterMs === undefined ? { retry: true } : { retry: true, afterMs };
  };
