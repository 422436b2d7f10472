import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { AdapterError } from "#core";
import type { ClusterAccess } from "../kubernetes/index.ts";
import { clusterRegions, configuredCluster } from "../managed-kubernetes/index.ts";
import type { RegionStatus } from "../port.ts";
import type { DoClient } from "./client.ts";
import type { DoksConfig } from "./config.ts";
import { CLOUD } from "./errors.ts";

// The shapes below follow DigitalOcean's OpenAPI description
// (https://github.com/digitalocean/openapi, specification/resources/kubernetes/models): only the
// fields used are checked, the rest pass through.

const Node = z.looseObject({ status: z.looseObject({ state: z.string().optional() }).optional() });

const NodePool = z.looseObject({
  id: z.string(),
  name: z.string(),
  count: z.int().min(0),
  tags: z.array(z.string()).optional(),
  labels: z.record(z.string(), z.string()).nullable().optional(),
  taints: z.array(z.looseObject({})).optional(),
  auto_scale: z.boolean().optional(),
  min_nodes: z.int().optional(),
  max_nodes: z.int().optional(),
  nodes: z.array(Node).optional(),
});
export type DoNodePool = z.infer<typeof NodePool>;

const Cluster = z.looseObject({
  id: z.string(),
  name: z.string(),
  region: z.string(),
  endpoint: z.string().optional(),
  status: z.looseObject({ state: z.string(), message: z.string().optional() }).optional(),
  node_pools: z.array(NodePool).default([]),
});
export type DoCluster = z.infer<typeof Cluster>;

const ClusterList = z.object({
  kubernetes_clusters: z.array(Cluster),
  links: z.looseObject({ pages: z.looseObject({ next: z.string().optional() }).optional() }).optional(),
});
const OneCluster = z.object({ kubernetes_cluster: Cluster });
const OneNodePool = z.object({ node_pool: NodePool });
const Credentials = z.object({
  server: z.string(),
  certificate_authority_data: z.string(),
  client_certificate_data: z.string().nullable().optional(),
  client_key_data: z.string().nullable().optional(),
  token: z.string().optional(),
  expires_at: z.string().optional(),
});

/** Cluster states in which the API server serves: `upgrading` replaces nodes while it keeps serving. */
const SERVING = new Set(["running", "upgrading"]);

export const clusterAvailable = (cluster: Pick<DoCluster, "status">): boolean =>
  SERVING.has(cluster.status?.state ?? "");

/** Tags DigitalOcean puts on every node pool itself; not ours to send back. */
const automaticTag = (tag: string): boolean =>
  tag === "k8s" || tag === "k8s-worker" || tag.startsWith("k8s:");

export interface DoksClusters {
  locate(region: string): Promise<DoCluster>;
  /** Server, CA and a token from `/credentials`, fetched again before the token expires. */
  access(region: string): Promise<ClusterAccess>;
  /** One entry per configured region: available when its cluster is `running` or `upgrading`. */
  regions(): Promise<RegionStatus[]>;
  /** Sets a node pool's count and waits until that many nodes run. */
  scaleNodePool(region: string, pool: string, count: number): Promise<void>;
  /**
   * Starts growing a node pool to at least `atLeast` nodes: returns once DigitalOcean has taken the
   * new count, without waiting for the nodes. A pool whose count is that large already (even while
   * its nodes are still coming) is left as it is.
   */
  growNodePool(region: string, pool: string, atLeast: number): Promise<void>;
  /** Checks the token by listing clusters. */
  verifyToken(): Promise<void>;
}

const e = encodeURIComponent;

export const createDoksClusters = (config: DoksConfig, client: DoClient): DoksClusters => {
  const listClusters = async (): Promise<DoCluster[]> => {
    const all: DoCluster[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await client.request(
        "list clusters",
        "GET",
        `/v2/kubernetes/clusters?per_page=200&page=${page}`,
        ClusterList,
      );
      all.push(...answer.kubernetes_clusters);
      if (!answer.links?.pages?.next || answer.kubernetes_clusters.length === 0) return all;
    }
  };

  const getCluster = async (id: string): Promise<DoCluster> =>
    (await client.request(`get cluster ${id}`, "GET", `/v2/kubernetes/clusters/${e(id)}`, OneCluster))
      .kubernetes_cluster;

  const locate = async (region: string): Promise<DoCluster> => {
    if (config.clusters.length > 0) {
      const configured = configuredCluster(config.clusters, region, {
        cloud: CLOUD,
        adapter: "digitalocean-doks",
        kind: "DOKS",
      });
      const cluster = configured.id
        ? await getCluster(configured.id)
        : (await listClusters()).find((c) => c.name === configured.name);
      if (!cluster) {
        throw new AdapterError(
          "not_found",
          CLOUD,
          `digitalocean-doks: no cluster named '${configured.name}'`,
        );
      }
      if (cluster.region !== region) {
        throw new AdapterError(
          "invalid",
          CLOUD,
          `digitalocean-doks: cluster ${cluster.name} is in region '${cluster.region}', not '${region}'`,
        );
      }
      return cluster;
    }
    const here = (await listClusters()).filter((c) => c.region === region);
    const [only, ...others] = here;
    if (!only) {
      throw new AdapterError(
        "not_found",
        CLOUD,
        `digitalocean-doks: no cluster of this account is in region '${region}'`,
      );
    }
    if (others.length > 0) {
      throw new AdapterError(
        "invalid",
        CLOUD,
        `digitalocean-doks: several clusters are in region '${region}' (${here.map((c) => c.name).join(", ")}); name one in the configuration`,
      );
    }
    return only;
  };

  const credentials = (cluster: DoCluster) =>
    client.request(
      `get credentials of ${cluster.name}`,
      "GET",
      `/v2/kubernetes/clusters/${e(cluster.id)}/credentials?expiry_seconds=${config.credentialsExpirySeconds}`,
      Credentials,
    );

  /** A token that is fetched again once most of its life has passed, one fetch at a time. */
  const tokenSource = (cluster: DoCluster, first: z.infer<typeof Credentials>): (() => Promise<string>) => {
    const lifeMs = config.credentialsExpirySeconds * 1000;
    const expiry = (c: z.infer<typeof Credentials>): number => {
      const at = c.expires_at ? Date.parse(c.expires_at) : Number.NaN;
      return Number.isNaN(at) ? Date.now() + lifeMs : at;
    };
    let current = { token: first.token ?? "", renewAt: expiry(first) - lifeMs / 5 };
    let renewing: Promise<void> | undefined;
    return async () => {
      if (Date.now() >= current.renewAt) {
        renewing ??= credentials(cluster)
          .then((fresh) => {
            if (!fresh.token)
              throw new AdapterError(
                "unauthorized",
                CLOUD,
                `digitalocean-doks: ${cluster.name} gave no token`,
              );
            current = { token: fresh.token, renewAt: expiry(fresh) - lifeMs / 5 };
          })
          .finally(() => {
            renewing = undefined;
          });
        await renewing;
      }
      return current.token;
    };
  };

  const access = async (region: string): Promise<ClusterAccess> => {
    const cluster = await locate(region);
    const creds = await credentials(cluster);
    const base = { name: cluster.name, server: creds.server, caData: creds.certificate_authority_data };
    if (creds.token) return { ...base, token: tokenSource(cluster, creds) };
    // Clusters created before token authentication hand out a client certificate instead.
    if (creds.client_certificate_data && creds.client_key_data) {
      return {
        ...base,
        clientCertificateData: creds.client_certificate_data,
        clientKeyData: creds.client_key_data,
      };
    }
    throw new AdapterError(
      "unauthorized",
      CLOUD,
      `digitalocean-doks: cluster ${cluster.name} handed out no credentials`,
    );
  };

  const regions = (): Promise<RegionStatus[]> =>
    clusterRegions(
      config,
      {
        list: listClusters,
        serves: (cluster, region) => cluster.region === region && clusterAvailable(cluster),
      },
      async (region) => clusterAvailable(await locate(region)),
    );

  /**
   * Sets the pool's count (`growOnly`: only when it holds fewer nodes); `wait`: then reads the pool
   * until that many nodes run (within `operationTimeoutMs`).
   */
  const setNodePool = async (
    region: string,
    pool: string,
    count: number,
    { growOnly, wait }: { growOnly: boolean; wait: boolean },
  ): Promise<void> => {
    if (!Number.isInteger(count) || count < 0) {
      throw new AdapterError(
        "invalid",
        CLOUD,
        `digitalocean-doks: a node pool count is a whole number ≥ 0, not ${count}`,
      );
    }
    const cluster = await locate(region);
    const known = cluster.node_pools.find((p) => p.name === pool || p.id === pool);
    if (!known) {
      throw new AdapterError(
        "not_found",
        CLOUD,
        `digitalocean-doks: cluster ${cluster.name} has no node pool '${pool}'`,
      );
    }
    const path = `/v2/kubernetes/clusters/${e(cluster.id)}/node_pools/${e(known.id)}`;
    const op = `${growOnly ? "grow" : "resize"} node pool ${cluster.name}/${known.name} to ${count}`;
    const read = async (): Promise<DoNodePool> =>
      (await client.request(op, "GET", path, OneNodePool)).node_pool;
    const current = await read();
    if (current.auto_scale) {
      throw new AdapterError(
        "invalid",
        CLOUD,
        `digitalocean-doks ${op}: the node pool autoscales, so its count is not ours to set; raise its minimum instead`,
      );
    }
    if (growOnly && current.count >= count) return;
    if (current.count !== count) {
      // The update replaces name, count, tags, labels and taints: send back what was read.
      await client.request(op, "PUT", path, OneNodePool, {
        body: {
          name: current.name,
          count,
          tags: (current.tags ?? []).filter((t) => !automaticTag(t)),
          ...(current.labels !== undefined ? { labels: current.labels } : {}),
          ...(current.taints !== undefined ? { taints: current.taints } : {}),
        },
        conflicts: true,
      });
    }
    if (!wait) return;
    const deadline = Date.now() + config.operationTimeoutMs;
    for (;;) {
      // A pool just updated may read as absent for a moment: not yet visible, not gone.
      const now = await read().catch((error: unknown) => {
        if (error instanceof AdapterError && error.failure === "not_found") return undefined;
        throw error;
      });
      const nodes = now?.nodes ?? [];
      if (now && nodes.length === count && nodes.every((n) => n.status?.state === "running")) return;
      if (Date.now() > deadline) {
        throw new AdapterError(
          "timeout",
          CLOUD,
          `digitalocean-doks ${op}: ${nodes.length} nodes after the time limit`,
        );
      }
      await sleep(config.pollIntervalMs);
    }
  };

  const scaleNodePool = (region: string, pool: string, count: number): Promise<void> =>
    setNodePool(region, pool, count, { growOnly: false, wait: true });
  const growNodePool = (region: string, pool: string, atLeast: number): Promise<void> =>
    setNodePool(region, pool, atLeast, { growOnly: true, wait: false });

  const verifyToken = async (): Promise<void> => {
    await client.request("check the token", "GET", "/v2/kubernetes/clusters?per_page=1", ClusterList);
  };

  return { locate, access, regions, scaleNodePool, growNodePool, verifyToken };
};
