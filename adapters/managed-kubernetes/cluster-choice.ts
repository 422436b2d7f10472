import { z } from "zod";
import { AdapterError, type Cloud, RetryPolicy } from "#core";
import { KubernetesSettings } from "../kubernetes/index.ts";
import type { RegionStatus } from "../port.ts";

/** What the managed Kubernetes clouds' configurations share: clusters listed by region, or regions to discover. */
export interface ClusterChoice {
  readonly clusters: readonly { readonly region: string }[];
  readonly regions: readonly string[];
  /** Node pool capacity by region (see `NodePoolCapacity`). */
  readonly capacity?: Readonly<Record<string, unknown>>;
}

/**
 * The fields every managed Kubernetes configuration has, after its own: how the cloud's API is
 * called and polled, and how the Kubernetes layer writes.
 */
export const managedKubernetesSettings = {
  /** Limit on each call to the cloud's API, in ms. */
  timeoutMs: z.int().min(1).max(600_000).default(30_000),
  /**
   * Limit on `scaleNodePool`, until the cloud has done it (AKS, GKE: its operation ends; DOKS: the
   * nodes run), in ms; node pools take minutes to grow. A scale's growth (`capacity`) does not wait.
   */
  operationTimeoutMs: z.int().min(1).max(7_200_000).default(1_800_000),
  /** How often a node pool being scaled (or its operation) is read, in ms. */
  pollIntervalMs: z.int().min(1).max(600_000).default(5_000),
  /** How calls to the cloud's API are retried; see `RetryPolicy`. */
  retry: RetryPolicy.prefault({}),
  /** How Deployments and Services are written in the clusters. */
  kubernetes: KubernetesSettings.prefault({}),
};

/**
 * The refinement every managed Kubernetes configuration runs: either `clusters` or `regions` (to
 * discover the clusters by listing), never both or neither, at most one cluster per region, and
 * capacity only for regions served.
 */
export const refineClusterChoice = (config: ClusterChoice, ctx: z.RefinementCtx): void => {
  if (config.clusters.length > 0 === config.regions.length > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["clusters"],
      message: "give either clusters or regions (to discover), not both or neither",
    });
  }
  const seen = new Set<string>();
  for (const [i, cluster] of config.clusters.entries()) {
    if (seen.has(cluster.region)) {
      ctx.addIssue({
        code: "custom",
        path: ["clusters", i, "region"],
        message: `region '${cluster.region}' has two clusters`,
      });
    }
    seen.add(cluster.region);
  }
  const served = servedRegions(config);
  for (const region of Object.keys(config.capacity ?? {})) {
    if (!served.includes(region)) {
      ctx.addIssue({
        code: "custom",
        path: ["capacity", region],
        message: `region '${region}' is not served by this configuration`,
      });
    }
  }
};

/** The regions a configuration serves. */
export const servedRegions = (config: ClusterChoice): string[] =>
  config.clusters.length > 0 ? config.clusters.map((c) => c.region) : [...new Set(config.regions)];

/**
 * The cluster configured for `region`, or AdapterError `not_found` saying none is, e.g.
 * `azure-aks: no AKS cluster is configured for region 'westeurope'`.
 */
export const configuredCluster = <C extends { readonly region: string }>(
  clusters: readonly C[],
  region: string,
  { cloud, adapter, kind }: { readonly cloud: Cloud; readonly adapter: string; readonly kind: string },
): C => {
  const configured = clusters.find((c) => c.region === region);
  if (!configured) {
    throw new AdapterError(
      "not_found",
      cloud,
      `${adapter}: no ${kind} cluster is configured for region '${region}'`,
    );
  }
  return configured;
};

/**
 * One entry per region a configuration serves. Clusters to discover are listed once, and a region is
 * available when one of them `serves` it; a configured region's cluster is asked on its own
 * (`configured`), and one that is gone (AdapterError `not_found`) leaves its region unavailable.
 */
export const clusterRegions = async <C>(
  config: ClusterChoice,
  discovered: {
    readonly list: () => Promise<readonly C[]>;
    readonly serves: (cluster: C, region: string) => boolean;
  },
  configured: (region: string) => Promise<boolean>,
): Promise<RegionStatus[]> => {
  if (config.clusters.length === 0) {
    const found = await discovered.list();
    return servedRegions(config).map((region) => ({
      region,
      available: found.some((cluster) => discovered.serves(cluster, region)),
    }));
  }
  return Promise.all(
    config.clusters.map(async ({ region }) => {
      try {
        return { region, available: await configured(region) };
      } catch (error) {
        // A configured cluster that is gone leaves its region unavailable; other failures are real.
        if (error instanceof AdapterError && error.failure === "not_found")
          return { region, available: false };
        throw error;
      }
    }),
  );
};
