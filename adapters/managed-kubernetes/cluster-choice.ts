import type { z } from "zod";

/** What the managed Kubernetes clouds' configurations share: clusters listed by region, or regions to discover. */
export interface ClusterChoice {
  readonly clusters: readonly { readonly region: string }[];
  readonly regions: readonly string[];
}

/**
 * The refinement every managed Kubernetes configuration runs: either `clusters` or `regions` (to
 * discover the clusters by listing), never both or neither, and at most one cluster per region.
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
};

/** The regions a configuration serves. */
export const servedRegions = (config: ClusterChoice): string[] =>
  config.clusters.length > 0 ? config.clusters.map((c) => c.region) : [...new Set(config.regions)];
