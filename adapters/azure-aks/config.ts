import { z } from "zod";
import {
  managedKubernetesSettings,
  NodePoolCapacities,
  refineClusterChoice,
  servedRegions,
} from "../managed-kubernetes/index.ts";

/** AKS's rule for managed cluster and agent pool names (https://learn.microsoft.com/rest/api/aks/managed-clusters/get). */
const ResourceName = z
  .string()
  .regex(/^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/, "not a valid AKS resource name");

/** Azure location names as ARM reports them: lower case, no spaces (`eastus`, `westeurope`). */
export const AzureLocation = z
  .string()
  .regex(/^[a-z0-9]+$/, "an Azure location such as 'eastus' (lower case, no spaces)");

/** One managed cluster and the region it serves. */
export const AksCluster = z.strictObject({
  /** The target region this cluster serves; the cluster's own `location` is checked against it. */
  region: AzureLocation,
  /** Defaults to the top-level subscription. */
  subscriptionId: z.guid().optional(),
  resourceGroup: z.string().min(1).max(90),
  name: ResourceName,
});
export type AksCluster = z.infer<typeof AksCluster>;

export const AksConfig = z
  .strictObject({
    subscriptionId: z.guid(),
    /** The clusters to use, one per region. */
    clusters: z.array(AksCluster).default([]),
    /**
     * Instead of `clusters`: the regions to serve; for each, the subscription's managed clusters
     * (only those in `resourceGroup` when set) are listed and the one in that location is used.
     */
    regions: z.array(AzureLocation).default([]),
    resourceGroup: z.string().min(1).max(90).optional(),
    /** By region: the agent pool a scale grows to fit its replicas (never shrunk). */
    capacity: NodePoolCapacities,
    /** ARM endpoint; another for sovereign clouds (e.g. `https://management.chinacloudapi.cn`). */
    armEndpoint: z.url({ protocol: /^https$/ }).default("https://management.azure.com"),
    /** ARM api-version; the SDK's own when absent. */
    apiVersion: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/)
      .optional(),
    /** Extra CA certificates (PEM) to trust for the ARM endpoint, e.g. a TLS-inspecting proxy's. */
    caCertificates: z.string().min(1).optional(),
    ...managedKubernetesSettings,
  })
  .superRefine(refineClusterChoice);

export type AksConfig = z.infer<typeof AksConfig>;
export type AksConfigInput = z.input<typeof AksConfig>;

/** The regions a configuration serves. */
export const aksRegions = (config: AksConfig): string[] => servedRegions(config);
