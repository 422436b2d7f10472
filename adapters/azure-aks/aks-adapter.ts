import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { z } from "zod";
import { AdapterError } from "#core";
import { createKubernetesAdapter } from "../kubernetes/index.ts";
import { managedKubernetesAdapter } from "../managed-kubernetes/index.ts";
import type { CloudAdapter } from "../port.ts";
import { type AksClusters, createAksClusters } from "./clusters.ts";
import { AksConfig, type AksConfigInput, aksRegions } from "./config.ts";
import { CLOUD } from "./errors.ts";

/**
 * The AKS adapter: the port, plus node pool scaling; with `capacity` set for a region, a scale grows
 * that region's agent pool to fit the replicas.
 */
export interface AksAdapter extends CloudAdapter {
  /** Sets an agent pool's node count and waits until AKS has done it. */
  scaleNodePool(region: string, pool: string, count: number): Promise<void>;
}

export interface AksDependencies {
  /**
   * How to sign in to Azure; `DefaultAzureCredential` (environment, workload identity, managed
   * identity, Azure CLI…) when absent.
   */
  readonly credential?: TokenCredential;
}

/** The pieces the adapter and `check` are made of. */
export interface AksParts {
  readonly config: AksConfig;
  readonly clusters: AksClusters;
  /** The Kubernetes layer over the clusters ARM hands out. */
  readonly kubernetes: CloudAdapter;
}

/** Validates the configuration (AdapterError `invalid` naming the fields) and wires ARM to the Kubernetes layer. */
export const assembleAks = (input: AksConfigInput, dependencies: AksDependencies = {}): AksParts => {
  const parsed = AksConfig.safeParse(input);
  if (!parsed.success) {
    throw new AdapterError(
      "invalid",
      CLOUD,
      `azure-aks: bad configuration: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  const config = parsed.data;
  const clusters = createAksClusters(config, dependencies.credential ?? new DefaultAzureCredential());
  const kubernetes = createKubernetesAdapter({
    ...config.kubernetes,
    cloud: CLOUD,
    clusters: clusters.access,
    regions: aksRegions(config),
  });
  return { config, clusters, kubernetes };
};

/**
 * The CloudAdapter for Azure: each region's AKS cluster is found through ARM
 * (`@azure/arm-containerservice`), reached with its user credentials, and deployed to through the
 * shared Kubernetes layer.
 *
 * @example
 * const aks = createAksAdapter({
 *   subscriptionId: "3f2e…",
 *   clusters: [{ region: "westeurope", resourceGroup: "shop-prod", name: "aks-weu" }],
 * });
 * await aks.deploy({ workload: "shop", cloud: "azure", region: "westeurope" }, revision, 3);
 */
export const createAksAdapter = (config: AksConfigInput, dependencies: AksDependencies = {}): AksAdapter => {
  const { config: parsed, clusters, kubernetes } = assembleAks(config, dependencies);
  return {
    ...managedKubernetesAdapter(clusters, kubernetes, {
      capacity: parsed.capacity,
      grow: (region, capacity, atLeast) => clusters.growNodePool(region, capacity.nodePool, atLeast),
    }),
    scaleNodePool: (region, pool, count) => clusters.scaleNodePool(region, pool, count),
  };
};
