import { setTimeout as sleep } from "node:timers/promises";
import { type protos, v1 } from "@google-cloud/container";
import type { AuthClient } from "google-auth-library";
import { AdapterError, retry } from "#core";
import type { ClusterAccess } from "../kubernetes/index.ts";
import { clusterRegions, configuredCluster } from "../managed-kubernetes/index.ts";
import type { RegionStatus } from "../port.ts";
import { controlPlaneEndpointOf, type GkeConfig, regionOf } from "./config.ts";
import { clusterPath, controlPlaneAddress, type GkeClusterRef } from "./control-plane.ts";
import { CLOUD, failureForCode, retryDecision, toAdapterError } from "./errors.ts";

type Cluster = protos.google.container.v1.ICluster;
type Operation = protos.google.container.v1.IOperation;
type NodePool = protos.google.container.v1.INodePool;

/** The OAuth scope of the GKE API and of GKE clusters' API servers. */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

/** Cluster states in which the control plane serves (RECONCILING: an upgrade or repair is under way). */
const SERVING_CLUSTER = new Set(["RUNNING", "RECONCILING"]);
/** Node pool states in which pods can run. */
const SERVING_POOL = new Set(["RUNNING", "RUNNING_WITH_ERROR", "RECONCILING"]);

/** A cluster can take deployments when its control plane serves and one of its node pools does. */
export const clusterAvailable = (cluster: Pick<Cluster, "status" | "nodePools">): boolean =>
  SERVING_CLUSTER.has(String(cluster.status)) &&
  (cluster.nodePools ?? []).some((p) => SERVING_POOL.has(String(p.status)));

export type { GkeClusterRef } from "./control-plane.ts";

/** What a scale's growth reads of a node pool. GKE reports no current size: the Nodes tell it. */
export interface GkeNodePool {
  readonly autoscaling: boolean;
  /** How many zones it spans; `setNodePoolSize` sets the nodes of each. */
  readonly zones: number;
  /** `RUNNING`, `RECONCILING` (a resize, upgrade or repair under way), … */
  readonly status: string;
}

export interface GkeClusters {
  locate(region: string): Promise<GkeClusterRef>;
  /**
   * The address of the region's chosen control plane endpoint (`controlPlaneEndpoint`) as `getCluster`
   * reports it, the cluster CA for an IP endpoint, and an access token per request, for the Kubernetes
   * layer. An endpoint absent or disabled is ControlPlaneEndpointError (`invalid`).
   */
  access(region: string): Promise<ClusterAccess>;
  /** One entry per configured region: available when its cluster and a node pool serve. */
  regions(): Promise<RegionStatus[]>;
  /** Resizes a node pool (`setNodePoolSize`) and waits for GKE's operation to finish. */
  scaleNodePool(region: string, pool: string, count: number): Promise<void>;
  /** Reads a node pool: whether it autoscales, its zones, its status. */
  nodePool(region: string, pool: string): Promise<GkeNodePool>;
  /**
   * Sets a node pool's size per zone without reading it first, and returns once GKE has answered
   * with the resize's operation, without waiting for it to be DONE. A refusal because another
   * operation runs on the cluster is AdapterError `conflict`, not retried: the caller decides again.
   */
  resizeNodePool(region: string, pool: string, perZone: number): Promise<void>;
  /** An access token from the configured credentials. */
  token(): Promise<string>;
}

export interface GkeAuth {
  /** An authenticated client; application default credentials when absent. */
  readonly authClient?: AuthClient;
}

type GaxAuthClient = NonNullable<ConstructorParameters<typeof v1.ClusterManagerClient>[0]>["authClient"];

/** Gax's own retries are off: ours honour the API's retry delay within the adapter's budget. */
const CALL_OPTIONS = { retry: { retryCodes: [] } };

/**
 * Gives up on `promise` after `ms`. The REST transport cannot be cancelled from outside, so a late
 * answer is dropped, not awaited.
 */
const within = <T>(promise: Promise<T>, ms: number, op: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => {});
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AdapterError("timeout", CLOUD, `gcp-gke ${op}: no answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

export const createGkeClusters = (config: GkeConfig, auth: GkeAuth = {}): GkeClusters => {
  const endpoint = new URL(config.endpoint);
  const client = new v1.ClusterManagerClient({
    fallback: "rest",
    apiEndpoint: endpoint.hostname,
    port: Number(endpoint.port || (endpoint.protocol === "https:" ? 443 : 80)),
    protocol: endpoint.protocol.replace(":", ""),
    scopes: [CLOUD_PLATFORM_SCOPE],
    // google-gax bundles its own google-auth-library; both versions' clients work alike, but their
    // private fields make TypeScript tell them apart.
    ...(auth.authClient ? { authClient: auth.authClient as unknown as GaxAuthClient } : {}),
  });

  /** One GKE API call: limited in time, mapped to AdapterError, retried within the policy. */
  const call = <T>(op: string, fn: () => Promise<T>, options = { conflicts: false }): Promise<T> =>
    retry(
      async () => {
        try {
          return await within(fn(), config.timeoutMs, op);
        } catch (error) {
          throw toAdapterError(error, op);
        }
      },
      { ...config.retry, retryable: retryDecision(options) },
    );

  const token = async (): Promise<string> => {
    try {
      // Without a client given, the GKE client's own application default credentials sign the
      // cluster requests too.
      const value = auth.authClient
        ? (await auth.authClient.getAccessToken()).token
        : await client.auth.getAccessToken();
      if (!value) throw new Error("the credentials gave no access token");
      return value;
    } catch (error) {
      throw toAdapterError(error, "get an access token");
    }
  };

  const listClusters = (): Promise<Cluster[]> =>
    call("list clusters", async () => {
      const [answer] = await client.listClusters(
        { parent: `projects/${config.projectId}/locations/-` },
        CALL_OPTIONS,
      );
      return answer.clusters ?? [];
    });

  const getCluster = (ref: GkeClusterRef): Promise<Cluster> =>
    call(`get cluster ${clusterPath(ref)}`, async () => {
      const [cluster] = await client.getCluster({ name: clusterPath(ref) }, CALL_OPTIONS);
      return cluster;
    });

  const locate = async (region: string): Promise<GkeClusterRef> => {
    if (config.clusters.length > 0) {
      const configured = configuredCluster(config.clusters, region, {
        cloud: CLOUD,
        adapter: "gcp-gke",
        kind: "GKE",
      });
      return {
        project: configured.projectId ?? config.projectId,
        location: configured.location ?? configured.region,
        name: configured.name,
      };
    }
    const here = (await listClusters()).filter((c) => c.location && regionOf(c.location) === region);
    const [only, ...others] = here;
    if (!only?.name || !only.location) {
      throw new AdapterError(
        "not_found",
        CLOUD,
        `gcp-gke: no cluster of project ${config.projectId} is located in region '${region}'`,
      );
    }
    if (others.length > 0) {
      const names = here.map((c) => `${c.location}/${c.name}`).join(", ");
      throw new AdapterError(
        "invalid",
        CLOUD,
        `gcp-gke: several clusters are in region '${region}' (${names}); name one in the configuration`,
      );
    }
    return { project: config.projectId, location: only.location, name: only.name };
  };

  const access = async (region: string): Promise<ClusterAccess> => {
    const ref = await locate(region);
    const address = controlPlaneAddress(await getCluster(ref), ref, controlPlaneEndpointOf(config, region));
    return { name: ref.name, ...address, token };
  };

  const regions = (): Promise<RegionStatus[]> =>
    clusterRegions(
      config,
      {
        list: listClusters,
        serves: (cluster, region) =>
          !!cluster.location && regionOf(cluster.location) === region && clusterAvailable(cluster),
      },
      async (region) => clusterAvailable(await getCluster(await locate(region))),
    );

  /** Polls a GKE operation until DONE; its error, if any, becomes an AdapterError. */
  const finish = async (ref: GkeClusterRef, started: Operation, op: string): Promise<void> => {
    const name = `projects/${ref.project}/locations/${ref.location}/operations/${started.name}`;
    const deadline = Date.now() + config.operationTimeoutMs;
    let current = started;
    while (String(current.status) !== "DONE") {
      if (Date.now() > deadline) {
        throw new AdapterError("timeout", CLOUD, `gcp-gke ${op}: operation ${started.name} not done in time`);
      }
      await sleep(config.pollIntervalMs);
      const previous = current;
      current = await call(
        `${op}: get operation`,
        async () => (await client.getOperation({ name }, CALL_OPTIONS))[0],
      ).catch((error: unknown) => {
        // An operation just started may read as absent for a moment: not yet visible, not gone.
        if (error instanceof AdapterError && error.failure === "not_found") return previous;
        throw error;
      });
    }
    const error = current.error;
    if (error?.code) {
      throw new AdapterError(
        failureForCode(error.code) ?? "unavailable",
        CLOUD,
        `gcp-gke ${op}: operation ${started.name} failed: ${error.message ?? `code ${error.code}`}`,
      );
    }
  };

  const poolName = (ref: GkeClusterRef, pool: string): string => `${clusterPath(ref)}/nodePools/${pool}`;

  const getNodePool = (ref: GkeClusterRef, pool: string): Promise<NodePool> => {
    const name = poolName(ref, pool);
    return call(`get node pool ${name}`, async () => (await client.getNodePool({ name }, CALL_OPTIONS))[0]);
  };

  /** A size GKE can be asked for: AdapterError `invalid` otherwise, before any call. */
  const checkSize = (count: number): void => {
    if (!Number.isInteger(count) || count < 0) {
      throw new AdapterError(
        "invalid",
        CLOUD,
        `gcp-gke: a node pool size is a whole number ≥ 0, not ${count}`,
      );
    }
  };

  /** `setNodePoolSize`; `wait`: then its operation polled until DONE. */
  const resize = async (
    ref: GkeClusterRef,
    pool: string,
    count: number,
    { conflicts, wait }: { conflicts: boolean; wait: boolean },
  ): Promise<void> => {
    const name = poolName(ref, pool);
    const op = `resize node pool ${name} to ${count}`;
    const started = await call(
      op,
      async () => (await client.setNodePoolSize({ name, nodeCount: count }, CALL_OPTIONS))[0],
      { conflicts },
    );
    if (wait) await finish(ref, started, op);
  };

  const scaleNodePool = async (region: string, pool: string, count: number): Promise<void> => {
    checkSize(count);
    const ref = await locate(region);
    const nodePool = await getNodePool(ref, pool);
    if (nodePool.autoscaling?.enabled) {
      throw new AdapterError(
        "invalid",
        CLOUD,
        `gcp-gke resize node pool ${poolName(ref, pool)} to ${count}: the node pool autoscales, so its size is not ours to set; raise its minimum instead`,
      );
    }
    // GKE runs one operation per cluster at a time; a resize refused for another one is tried again.
    await resize(ref, pool, count, { conflicts: true, wait: true });
  };

  const nodePool = async (region: string, pool: string): Promise<GkeNodePool> => {
    const ref = await locate(region);
    const read = await getNodePool(ref, pool);
    // A pool's zones default to the cluster's when it was made; GKE reports them on the pool, but the
    // cluster's are asked for should a pool come without.
    const zones = read.locations?.length || (await getCluster(ref)).locations?.length || 1;
    return { autoscaling: read.autoscaling?.enabled === true, zones, status: String(read.status) };
  };

  const resizeNodePool = async (region: string, pool: string, perZone: number): Promise<void> => {
    checkSize(perZone);
    await resize(await locate(region), pool, perZone, { conflicts: false, wait: false });
  };

  return { locate, access, regions, scaleNodePool, nodePool, resizeNodePool, token };
};
