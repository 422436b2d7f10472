import { rootCertificates } from "node:tls";
import { type AgentPool, ContainerServiceClient, type ManagedCluster } from "@azure/arm-containerservice";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { KubeConfig } from "@kubernetes/client-node";
import { AdapterError, retry } from "#core";
import type { ClusterAccess } from "../kubernetes/index.ts";
import { clusterRegions, configuredCluster } from "../managed-kubernetes/index.ts";
import type { RegionStatus } from "../port.ts";
import type { AksConfig } from "./config.ts";
import { CLOUD, retryDecision, toAdapterError } from "./errors.ts";

/** The scope of ARM tokens. */
const ARM_SCOPE = "https://management.azure.com/.default";

/**
 * The AKS AAD server application: clusters with Microsoft Entra ID integration accept tokens issued
 * for it (https://azure.github.io/kubelogin/concepts/aks.html).
 */
export const AKS_AAD_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default";

/** Where one managed cluster lives in ARM. */
export interface ClusterRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/** The ARM side of the AKS adapter: which cluster serves a region, its credentials, its node pools. */
export interface AksClusters {
  /** Finds the managed cluster serving `region`. */
  locate(region: string): Promise<ClusterRef>;
  /** The credentials of the cluster serving `region`, for the Kubernetes layer (which keeps them). */
  access(region: string): Promise<ClusterAccess>;
  /** One entry per region served: available when its cluster is provisioned (`Succeeded`) and `Running`. */
  regions(): Promise<RegionStatus[]>;
  /** Sets an agent pool's node count and waits until AKS has done it. */
  scaleNodePool(region: string, pool: string, count: number): Promise<void>;
  /**
   * Starts growing an agent pool to at least `atLeast` nodes and returns once ARM has accepted the
   * write, without waiting for the nodes. A pool whose count is that large already (even while it
   * is still being scaled to it) is left as it is, unless its last operation failed: that is asked
   * again. One being changed to fewer is not written over but read again within the retry policy,
   * then AdapterError `conflict`.
   */
  growNodePool(region: string, pool: string, atLeast: number): Promise<void>;
  /** Fetches a token for ARM, to tell "no credentials" apart from "no access". */
  armToken(): Promise<void>;
}

/** ARM's terminal provisioning states: anything else means an operation is under way on the resource. */
const SETTLED = new Set(["Succeeded", "Failed", "Canceled"]);

/** A cluster is usable when ARM finished provisioning it and it is not stopped. */
export const clusterAvailable = (
  cluster: Pick<ManagedCluster, "provisioningState" | "powerState">,
): boolean => cluster.provisioningState === "Succeeded" && cluster.powerState?.code === "Running";

/** Resource group from an ARM resource id (`/subscriptions/…/resourceGroups/{rg}/providers/…`). */
export const resourceGroupOf = (id: string | undefined): string | undefined =>
  id ? /\/resourceGroups\/([^/]+)\//i.exec(id)?.[1] : undefined;

const decodeKubeconfig = (value: Uint8Array | undefined): string | undefined =>
  value && value.length > 0 ? new TextDecoder().decode(value) : undefined;

export const createAksClusters = (config: AksConfig, credential: TokenCredential): AksClusters => {
  const clients = new Map<string, ContainerServiceClient>();
  const clientFor = (subscriptionId: string): ContainerServiceClient => {
    let client = clients.get(subscriptionId);
    if (!client) {
      client = new ContainerServiceClient(credential, subscriptionId, {
        endpoint: config.armEndpoint,
        ...(config.apiVersion ? { apiVersion: config.apiVersion } : {}),
        // One retry layer, ours: it honours Retry-After within the adapter's budget.
        retryOptions: { maxRetries: 0 },
        ...(config.caCertificates
          ? { tlsOptions: { ca: [...rootCertificates, config.caCertificates] } }
          : {}),
      });
      clients.set(subscriptionId, client);
    }
    return client;
  };

  /** One ARM call: limited in time, mapped to AdapterError, retried within the policy. */
  const call = <T>(
    op: string,
    fn: () => Promise<T>,
    options: { conflicts: boolean } = { conflicts: false },
  ): Promise<T> =>
    retry(
      async () => {
        try {
          return await fn();
        } catch (error) {
          throw toAdapterError(error, op);
        }
      },
      { ...config.retry, retryable: retryDecision(options) },
    );
  const signal = (ms = config.timeoutMs): AbortSignal => AbortSignal.timeout(ms);

  const listClusters = (subscriptionId: string): Promise<ManagedCluster[]> =>
    call("list managed clusters", async () => {
      const client = clientFor(subscriptionId);
      const pages = config.resourceGroup
        ? client.managedClusters.listByResourceGroup(config.resourceGroup, { abortSignal: signal() })
        : client.managedClusters.list({ abortSignal: signal() });
      const found: ManagedCluster[] = [];
      for await (const cluster of pages) found.push(cluster);
      return found;
    });

  const getCluster = (ref: ClusterRef): Promise<ManagedCluster> =>
    call(`get managed cluster ${ref.resourceGroup}/${ref.name}`, () =>
      clientFor(ref.subscriptionId).managedClusters.get(ref.resourceGroup, ref.name, {
        abortSignal: signal(),
      }),
    );

  const locate = async (region: string): Promise<ClusterRef> => {
    if (config.clusters.length > 0) {
      const configured = configuredCluster(config.clusters, region, {
        cloud: CLOUD,
        adapter: "azure-aks",
        kind: "AKS",
      });
      return {
        subscriptionId: configured.subscriptionId ?? config.subscriptionId,
        resourceGroup: configured.resourceGroup,
        name: configured.name,
      };
    }
    const here = (await listClusters(config.subscriptionId)).filter((c) => c.location === region);
    const [only, ...others] = here;
    if (!only) {
      throw new AdapterError(
        "not_found",
        CLOUD,
        `azure-aks: no managed cluster in subscription ${config.subscriptionId} is in location '${region}'`,
      );
    }
    const resourceGroup = resourceGroupOf(only.id);
    if (others.length > 0 || !only.name || !resourceGroup) {
      const names = here.map((c) => c.name).join(", ");
      throw new AdapterError(
        "invalid",
        CLOUD,
        `azure-aks: several managed clusters are in location '${region}' (${names}); name one in the configuration`,
      );
    }
    return { subscriptionId: config.subscriptionId, resourceGroup, name: only.name };
  };

  // The Kubernetes layer asks for a token on every request; some credentials (the Azure CLI's) start
  // a process per token, so one is kept until five minutes before it expires.
  let aad: AccessToken | undefined;
  let aadPending: Promise<AccessToken> | undefined;
  const aadToken = async (): Promise<string> => {
    if (aad && aad.expiresOnTimestamp - Date.now() > 300_000) return aad.token;
    aadPending ??= credential
      .getToken(AKS_AAD_SCOPE)
      .then((token) => {
        if (!token) throw new Error("the credential gave no token");
        aad = token;
        return token;
      })
      .finally(() => {
        aadPending = undefined;
      });
    try {
      return (await aadPending).token;
    } catch (error) {
      throw toAdapterError(error, "get a token for the AKS AAD server application");
    }
  };

  const access = async (region: string): Promise<ClusterAccess> => {
    const ref = await locate(region);
    const cluster = await getCluster(ref);
    if (cluster.location !== region) {
      throw new AdapterError(
        "invalid",
        CLOUD,
        `azure-aks: cluster ${ref.resourceGroup}/${ref.name} is in location '${cluster.location}', not '${region}'`,
      );
    }
    const op = `list user credentials of ${ref.resourceGroup}/${ref.name}`;
    const credentials = await call(op, () =>
      clientFor(ref.subscriptionId).managedClusters.listClusterUserCredentials(ref.resourceGroup, ref.name, {
        abortSignal: signal(),
      }),
    );
    const kubeconfig = decodeKubeconfig(credentials.kubeconfigs?.[0]?.value);
    const kc = new KubeConfig();
    try {
      if (!kubeconfig) throw new Error("no kubeconfig in the answer");
      kc.loadFromString(kubeconfig);
    } catch (error) {
      throw new AdapterError("unavailable", CLOUD, `azure-aks ${op}: unusable kubeconfig: ${String(error)}`, {
        cause: error,
      });
    }
    const server = kc.getCurrentCluster();
    if (!server || !kubeconfig) {
      throw new AdapterError(
        "unavailable",
        CLOUD,
        `azure-aks ${op}: the kubeconfig names no current cluster`,
      );
    }
    if (cluster.aadProfile) {
      // With Entra ID integration the user kubeconfig calls kubelogin; ask our credential instead.
      return {
        name: ref.name,
        server: server.server,
        ...(server.caData ? { caData: server.caData } : {}),
        token: aadToken,
      };
    }
    return {
      name: ref.name,
      server: server.server,
      ...(server.caData ? { caData: server.caData } : {}),
      kubeconfig,
    };
  };

  const regions = (): Promise<RegionStatus[]> =>
    clusterRegions(
      config,
      {
        list: () => listClusters(config.subscriptionId),
        serves: (cluster, region) => cluster.location === region && clusterAvailable(cluster),
      },
      async (region) => {
        const cluster = await getCluster(await locate(region));
        return cluster.location === region && clusterAvailable(cluster);
      },
    );

  /**
   * Reads the pool, then writes its new count (decided by `decide` from what was read, or nothing
   * when it gives undefined) over what was read (If-Match on the eTag). A write that loses a race,
   * or a pool `decide` finds busy, is retried from a fresh read. `wait`: follow the operation to its
   * end (within `operationTimeoutMs`); else return once ARM has accepted the write.
   */
  const writeNodePool = async (
    region: string,
    pool: string,
    count: number,
    { op, decide, wait }: { op: string; decide: (current: AgentPool) => number | undefined; wait: boolean },
  ): Promise<void> => {
    if (!Number.isInteger(count) || count < 0 || count > 1000) {
      throw new AdapterError("invalid", CLOUD, `azure-aks: a node pool holds 0 to 1000 nodes, not ${count}`);
    }
    const ref = await locate(region);
    const client = clientFor(ref.subscriptionId);
    const what = `${op} node pool ${ref.name}/${pool} to ${count}`;
    await call(
      what,
      async () => {
        const current: AgentPool = await client.agentPools.get(ref.resourceGroup, ref.name, pool, {
          abortSignal: signal(),
        });
        const next = decide(current);
        if (next === undefined) return;
        const poller = client.agentPools.createOrUpdate(
          ref.resourceGroup,
          ref.name,
          pool,
          { ...current, count: next },
          {
            ...(current.eTag ? { ifMatch: current.eTag } : {}),
            abortSignal: signal(wait ? config.operationTimeoutMs : config.timeoutMs),
            updateIntervalInMs: config.pollIntervalMs,
          },
        );
        // The poller is a promise of the operation's end: awaited, it polls until then.
        if (wait) await poller;
        else await poller.submitted();
      },
      { conflicts: true },
    );
  };

  const scaleNodePool = (region: string, pool: string, count: number): Promise<void> =>
    writeNodePool(region, pool, count, {
      op: "scale",
      wait: true,
      decide: (current) =>
        current.count === count && current.provisioningState === "Succeeded" ? undefined : count,
    });

  const growNodePool = (region: string, pool: string, atLeast: number): Promise<void> =>
    writeNodePool(region, pool, atLeast, {
      op: "grow",
      wait: false,
      decide: (current) => {
        const count = current.count ?? 0;
        const state = current.provisioningState ?? "Succeeded";
        // ARM shows the count asked for as soon as it accepts a write: a pool still being scaled
        // to enough nodes needs nothing more, and one whose scale failed is asked again.
        if (state === "Failed") return Math.max(count, atLeast);
        if (count >= atLeast) return undefined;
        if (!SETTLED.has(state)) {
          throw new AdapterError(
            "conflict",
            CLOUD,
            `azure-aks grow node pool ${pool} to ${atLeast}: the pool is ${state} to ${count} nodes; it is not written over until that ends`,
          );
        }
        return atLeast;
      },
    });

  const armToken = async (): Promise<void> => {
    try {
      const token = await credential.getToken(ARM_SCOPE, { abortSignal: signal() });
      if (!token) throw new Error("the credential gave no token");
    } catch (error) {
      throw toAdapterError(error, "get an ARM token");
    }
  };

  return { locate, access, regions, scaleNodePool, growNodePool, armToken };
};
