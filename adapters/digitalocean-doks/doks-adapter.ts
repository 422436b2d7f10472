import { z } from "zod";
import { AdapterError } from "#core";
import { createKubernetesAdapter } from "../kubernetes/index.ts";
import { managedKubernetesAdapter } from "../managed-kubernetes/index.ts";
import type { CloudAdapter } from "../port.ts";
import { createDoClient, type DoClient } from "./client.ts";
import { createDoksClusters, type DoksClusters } from "./clusters.ts";
import { DoksConfig, type DoksConfigInput, doksRegions } from "./config.ts";
import { CLOUD } from "./errors.ts";

/**
 * The DOKS adapter: the port, plus node pool resizing; with `capacity` set for a region, a scale
 * grows that region's node pool to fit the replicas.
 */
export interface DoksAdapter extends CloudAdapter {
  /** Sets a node pool's count (by name or id) and waits until that many nodes run. */
  scaleNodePool(region: string, pool: string, count: number): Promise<void>;
}

export interface DoksDependencies {
  /** The personal access token; else the configuration's, else `DIGITALOCEAN_ACCESS_TOKEN` from `env`. */
  readonly token?: string;
  /** Where `DIGITALOCEAN_ACCESS_TOKEN` is looked up; default the process environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly fetch?: typeof globalThis.fetch;
}

/** The pieces the adapter and `check` are made of. */
export interface DoksParts {
  readonly config: DoksConfig;
  readonly client: DoClient;
  readonly clusters: DoksClusters;
  readonly kubernetes: CloudAdapter;
}

/** The token the standard places give, the way doctl and Terraform look for it. */
export const doksToken = (config: DoksConfig, dependencies: DoksDependencies): string | undefined =>
  dependencies.token ?? config.token ?? (dependencies.env ?? process.env).DIGITALOCEAN_ACCESS_TOKEN;

/**
 * Validates the configuration (AdapterError `invalid` naming the fields; `unauthorized` when no
 * token is found) and wires the DigitalOcean API to the Kubernetes layer.
 */
export const assembleDoks = (input: DoksConfigInput, dependencies: DoksDependencies = {}): DoksParts => {
  const parsed = DoksConfig.safeParse(input);
  if (!parsed.success) {
    throw new AdapterError(
      "invalid",
      CLOUD,
      `digitalocean-doks: bad configuration: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  const config = parsed.data;
  const token = doksToken(config, dependencies);
  if (!token) {
    throw new AdapterError(
      "unauthorized",
      CLOUD,
      "digitalocean-doks: no API token: set DIGITALOCEAN_ACCESS_TOKEN",
    );
  }
  const client = createDoClient({
    apiUrl: config.apiUrl,
    token,
    timeoutMs: config.timeoutMs,
    retry: config.retry,
    ...(dependencies.fetch ? { fetch: dependencies.fetch } : {}),
  });
  const clusters = createDoksClusters(config, client);
  const kubernetes = createKubernetesAdapter({
    ...config.kubernetes,
    cloud: CLOUD,
    clusters: clusters.access,
    regions: doksRegions(config),
  });
  return { config, client, clusters, kubernetes };
};

/**
 * The CloudAdapter for DigitalOcean: each region's DOKS cluster is found through the DigitalOcean
 * API v2, reached with the short-lived token of its `/credentials`, and deployed to through the
 * shared Kubernetes layer.
 *
 * @example
 * const doks = createDoksAdapter({ clusters: [{ region: "fra1", name: "shop-fra1" }] });
 * await doks.deploy({ workload: "shop", cloud: "digitalocean", region: "fra1" }, revision, 2);
 */
export const createDoksAdapter = (
  config: DoksConfigInput,
  dependencies: DoksDependencies = {},
): DoksAdapter => {
  const { config: parsed, clusters, kubernetes } = assembleDoks(config, dependencies);
  return {
    ...managedKubernetesAdapter(clusters, kubernetes, {
      capacity: parsed.capacity,
      grow: (region, capacity, atLeast) => clusters.growNodePool(region, capacity.nodePool, atLeast),
    }),
    scaleNodePool: (region, pool, count) => clusters.scaleNodePool(region, pool, count),
  };
};
