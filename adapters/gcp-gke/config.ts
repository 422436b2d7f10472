import { z } from "zod";
import {
  managedKubernetesSettings,
  NodePoolCapacities,
  refineClusterChoice,
  servedRegions,
} from "../managed-kubernetes/index.ts";

/** A project id: 6 to 30 lower-case letters, digits and hyphens, starting with a letter. */
const ProjectId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "not a Google Cloud project id");

/** A Compute Engine region, e.g. `us-central1`, `europe-west1`. */
export const GcpRegion = z.string().regex(/^[a-z]+-[a-z]+[0-9]+$/, "a region such as 'europe-west1'");

/** A cluster's location: a region (regional cluster) or a zone (`europe-west1-b`, zonal cluster). */
const GcpLocation = z
  .string()
  .regex(/^[a-z]+-[a-z]+[0-9]+(-[a-z])?$/, "a region or zone such as 'europe-west1-b'");

/** GKE's rule for cluster and node pool names. */
const ResourceName = z.string().regex(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/, "not a valid GKE name");

/**
 * Which of a cluster's control plane endpoints the Kubernetes layer is sent to: `public` its public IP
 * (GKE's `endpoint`), `private` its private IP (for a control plane run inside the cluster's VPC, or a
 * network peered or connected to it), `dns` its DNS endpoint (`….gke.goog`, reached from anywhere
 * Google's APIs are, and authorized by IAM before the API server sees the request).
 */
export const ControlPlaneEndpoint = z.enum(["public", "private", "dns"]);
export type ControlPlaneEndpoint = z.infer<typeof ControlPlaneEndpoint>;

/** The region of a location: a zone's region (`europe-west1-b` → `europe-west1`), or the region itself. */
export const regionOf = (location: string): string => /^(.+[0-9])-[a-z]$/.exec(location)?.[1] ?? location;

export const GkeCluster = z.strictObject({
  /** The target region this cluster serves. */
  region: GcpRegion,
  /** The cluster's location: its region, or a zone in it. Default the region. */
  location: GcpLocation.optional(),
  name: ResourceName,
  /** Defaults to the top-level project. */
  projectId: ProjectId.optional(),
  /** Defaults to the top-level `controlPlaneEndpoint`. */
  controlPlaneEndpoint: ControlPlaneEndpoint.optional(),
});
export type GkeCluster = z.infer<typeof GkeCluster>;

export const GkeConfig = z
  .strictObject({
    projectId: ProjectId,
    /** The clusters to use, one per region. */
    clusters: z.array(GkeCluster).default([]),
    /** Instead of `clusters`: the regions to serve, each by the project's one cluster located in it. */
    regions: z.array(GcpRegion).default([]),
    /**
     * The control plane endpoint of every cluster that does not choose its own; `public` (GKE's
     * `endpoint`) by default. Not to be confused with `endpoint`, the GKE API's.
     */
    controlPlaneEndpoint: ControlPlaneEndpoint.default("public"),
    /** The GKE API; another for tests or private service connect, e.g. `https://container.example.internal`. */
    endpoint: z.url({ protocol: /^https?$/ }).default("https://container.googleapis.com"),
    /**
     * By region: the node pool a scale grows to fit its replicas (never shrunk). `maxNodes` counts
     * the pool's nodes in all its zones.
     */
    capacity: NodePoolCapacities,
    ...managedKubernetesSettings,
  })
  .superRefine((config, ctx) => {
    refineClusterChoice(config, ctx);
    // The pool's name goes into a label selector: a GKE name is a valid label value, and nothing more.
    for (const [region, { nodePool }] of Object.entries(config.capacity)) {
      if (!ResourceName.safeParse(nodePool).success) {
        ctx.addIssue({
          code: "custom",
          path: ["capacity", region, "nodePool"],
          message: `'${nodePool}' is not a valid GKE node pool name`,
        });
      }
    }
    for (const [i, cluster] of config.clusters.entries()) {
      if (cluster.location && regionOf(cluster.location) !== cluster.region) {
        ctx.addIssue({
          code: "custom",
          path: ["clusters", i, "location"],
          message: `'${cluster.location}' is not in region '${cluster.region}'`,
        });
      }
    }
  });
export type GkeConfig = z.infer<typeof GkeConfig>;
export type GkeConfigInput = z.input<typeof GkeConfig>;

/** The control plane endpoint a region's cluster is reached by: its own choice, else the default. */
export const controlPlaneEndpointOf = (config: GkeConfig, region: string): ControlPlaneEndpoint =>
  config.clusters.find((c) => c.region === region)?.controlPlaneEndpoint ?? config.controlPlaneEndpoint;

/** The regions a configuration serves. */
export const gkeRegions = (config: GkeConfig): string[] => servedRegions(config);
