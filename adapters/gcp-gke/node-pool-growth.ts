import { AdapterError, type RetryPolicy, retry } from "#core";
import type { ClusterNode, KubernetesAdapter } from "../kubernetes/index.ts";
import type { GkeClusters } from "./clusters.ts";
import { CLOUD, retryDecision } from "./errors.ts";

// GKE's NodePool resource reports no current size (only `initialNodeCount`, `autoscaling`,
// `instanceGroupUrls` and `status`; the cluster's `currentNodeCount` is deprecated in favour of
// "call Kubernetes API directly to retrieve node information"), so a pool's size is read from the
// cluster's Nodes: GKE labels each with `cloud.google.com/gke-nodepool=<pool>`
// (https://cloud.google.com/kubernetes-engine/docs/concepts/node-pools). `setNodePoolSize` sets
// the size of each zone the pool spans, not the total: "when you resize a node pool that spans
// multiple zones, the new size represents the number of nodes in the node pool per zone"
// (https://cloud.google.com/sdk/gcloud/reference/container/clusters/resize,
// https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters.nodePools/setSize).

/** The label GKE gives each node of a pool, valued with the pool's name. */
export const NODE_POOL_LABEL = "cloud.google.com/gke-nodepool";
/** The well-known label of a node's zone. */
const ZONE_LABEL = "topology.kubernetes.io/zone";

/** Node pool states in which its size is what it will stay: no resize, upgrade or repair under way. */
const SETTLED = new Set(["RUNNING", "RUNNING_WITH_ERROR"]);

/**
 * The size per zone to ask GKE for so that a pool across `zones` zones holds at least `atLeast`
 * nodes and never more than `atMost`, or null to leave the pool as it is. The pool is taken to hold
 * at least `mostInAZone` per zone (the most nodes found in any one of its zones): a zone short of
 * nodes is one whose nodes are still coming or being repaired, not a smaller pool. Never less than
 * that, so never a shrink.
 */
export const sizePerZone = (
  { zones, mostInAZone }: { readonly zones: number; readonly mostInAZone: number },
  atLeast: number,
  atMost: number,
): number | null => {
  if (mostInAZone * zones >= atLeast) return null;
  const wanted = Math.min(Math.ceil(atLeast / zones), Math.floor(atMost / zones));
  return wanted > mostInAZone ? wanted : null;
};

/** The most nodes in any one zone (nodes without a zone label count as one zone). */
export const mostInAZone = (nodes: readonly ClusterNode[]): number => {
  const byZone = new Map<string, number>();
  for (const node of nodes) {
    const zone = node.labels[ZONE_LABEL] ?? "";
    byZone.set(zone, (byZone.get(zone) ?? 0) + 1);
  }
  return Math.max(0, ...byZone.values());
};

/** Grows GKE node pools on scale, judging their size by the cluster's Nodes. */
export interface GkeNodePoolGrowth {
  /**
   * Starts growing `pool` to at least `atLeast` nodes in all its zones, and no more than `atMost`,
   * and returns once GKE has started the resize, without waiting for it; a pool that large is only
   * read. An autoscaled pool is refused (`invalid`), and so is an `atMost` below the pool's zone
   * count. A pool being changed (a resize this started included) is judged again within the retry
   * policy, then refused (`conflict`): its size cannot be told until it is RUNNING.
   */
  grow(region: string, pool: string, atLeast: number, atMost: number): Promise<void>;
}

export const createGkeNodePoolGrowth = (
  clusters: GkeClusters,
  kubernetes: KubernetesAdapter,
  policy: RetryPolicy,
): GkeNodePoolGrowth => ({
  grow: (region, pool, atLeast, atMost) =>
    // Read, decide and write again from the start when GKE refuses the write for another operation
    // or the pool is being changed: what was read is stale then.
    retry(
      async () => {
        const what = `gcp-gke grow node pool '${pool}' in ${region} to ${atLeast} nodes`;
        const read = await clusters.nodePool(region, pool);
        if (read.autoscaling) {
          throw new AdapterError(
            "invalid",
            CLOUD,
            `${what}: the node pool autoscales, so its size is not ours to set; raise its minimum instead`,
          );
        }
        if (!SETTLED.has(read.status)) {
          throw new AdapterError(
            "conflict",
            CLOUD,
            `${what}: the node pool is ${read.status}; its size is judged once it is RUNNING`,
          );
        }
        const nodes = await kubernetes.listNodes(region, `${NODE_POOL_LABEL}=${pool}`);
        const most = mostInAZone(nodes);
        if (most * read.zones < atLeast && atMost < read.zones) {
          throw new AdapterError(
            "invalid",
            CLOUD,
            `${what}: maxNodes ${atMost} is fewer than the pool's ${read.zones} zones, and GKE sizes a pool per zone`,
          );
        }
        const perZone = sizePerZone({ zones: read.zones, mostInAZone: most }, atLeast, atMost);
        if (perZone !== null) await clusters.resizeNodePool(region, pool, perZone);
      },
      {
        ...policy,
        retryable: (error) =>
          error instanceof AdapterError && error.failure === "conflict"
            ? retryDecision({ conflicts: true })(error)
            : { retry: false },
      },
    ),
});
