import type { z } from "zod";
import { AdapterError, type Cloud } from "#core";

/** What the managed Kubernetes clouds' configurations share: clusters listed by region, or regions to discover. */
export interface ClusterChoice {
  readonly clusters: readonly { readonly region: string }[];
  readonly regions: readonly string[];
  /** Node pool capacity by region (see `NodePoolCapacity`). */
  readonly capacity?: Readonly<Record<string, unknown>>;
}

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
