import { z } from "zod";
import { AdapterError } from "#core";
import { createKubernetesAdapter, type KubernetesAdapter } from "../kubernetes/index.ts";
import { managedKubernetesAdapter } from "../managed-kubernetes/index.ts";
import type { CloudAdapter } from "../port.ts";
import { createGkeClusters, type GkeAuth, type GkeClusters } from "./clusters.ts";
import { GkeConfig, type GkeConfigInput, gkeRegions } from "./config.ts";
import { CLOUD } from "./errors.ts";
import { createGkeNodePoolGrowth } from "./node-pool-growth.ts";

/**
 * The GKE adapter: the port, plus node pool resizing; with `capacity` set for a region, a scale grows
 * that region's node pool to fit the replicas.
 */
export interface GkeAdapter extends CloudAdapter {
  /** Resizes a node pool and waits for GKE's operation to finish. */
  scaleNodePool(region: string, pool: string, count: number): Promise<void>;
}

/** The pieces the adapter and `check` are made of. */
export interface GkeParts {
  readonly config: GkeConfig;
  readonly clusters: GkeClusters;
  /** The Kubernetes layer over the clusters GKE hands out. */
  readonly kubernetes: KubernetesAdapter;
}

/** Validates the configuration (AdapterError `invalid` naming the fields) and wires GKE to the Kubernetes layer. */
export const assembleGke = (input: GkeConfigInput, auth: GkeAuth = {}): GkeParts => {
  const parsed = GkeConfig.safeParse(input);
  if (!parsed.success) {
    throw new AdapterError("invalid", CLOUD, `gcp-gke: bad configuration: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const config = parsed.data;
  const clusters = createGkeClusters(config, auth);
  const kubernetes = createKubernetesAdapter({
    ...config.kubernetes,
    cloud: CLOUD,
    clusters: clusters.access,
    regions: gkeRegions(config),
  });
  return { config, clusters, kubernetes };
};

/**
 * The CloudAdapter for Google Cloud: each region's GKE cluster is read through the GKE API
 * (`@google-cloud/container` over REST) for its endpoint and CA, reached with an OAuth access token
 * from application default credentials, and deployed to through the shared Kubernetes layer.
 *
 * @example
 * const gke = createGkeAdapter({ projectId: "shop-prod", clusters: [{ region: "europe-west1", name: "gke-euw1" }] });
 * await gke.deploy({ workload: "shop", cloud: "gcp", region: "europe-west1" }, revision, 3);
 */
export const createGkeAdapter = (config: GkeConfigInput, auth: GkeAuth = {}): GkeAdapter => {
  const { config: parsed, clusters, kubernetes } = assembleGke(config, auth);
  const growth = createGkeNodePoolGrowth(clusters, kubernetes, parsed.retry);
  return {
    ...managedKubernetesAdapter(clusters, kubernetes, {
      capacity: parsed.capacity,
      // The shared growth gives the nodes needed, already within maxNodes; GKE also needs maxNodes
      // itself, to keep a size set per zone within it.
      grow: (region, capacity, atLeast) => growth.grow(region, capacity.nodePool, atLeast, capacity.maxNodes),
    }),
    scaleNodePool: (region, pool, count) => clusters.scaleNodePool(region, pool, count),
  };
};
