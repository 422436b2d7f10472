import type { V1Deployment, V1NodeList, V1Service } from "@kubernetes/client-node";
import { z } from "zod";
import { AdapterError, type Cloud, retryCloudCall } from "#core";
import type { CloudAdapter, DeploymentStatus, DeploymentTarget, RevisionSpec } from "../port.ts";
import { type ClusterClients, createClusterDirectory } from "./clients.ts";
import type { ClusterResolver } from "./cluster-access.ts";
import { isNotFound, retryDecision, toAdapterError } from "./errors.ts";
import {
  deploymentManifest,
  namespaceManifest,
  type RevisionPlace,
  revisionPlace,
  serviceManifest,
} from "./manifests.ts";
import { KubernetesSettings, type KubernetesSettingsInput } from "./settings.ts";
import { judgeDeployment } from "./status.ts";

export interface KubernetesAdapterOptions extends KubernetesSettingsInput {
  /** The cloud whose clusters these are; errors and targets carry it. */
  readonly cloud: Cloud;
  /** Finds the cluster serving a region; called once per region, and again after credentials are refused. */
  readonly clusters: ClusterResolver;
  /** The regions that have a cluster; `regions()` reports these. */
  readonly regions: readonly string[];
}

/** One Node of a cluster, as much of it as the clouds' adapters read. */
export interface ClusterNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The Kubernetes layer: the port, plus the reads of a cluster that the clouds' adapters build on. */
export interface KubernetesAdapter extends CloudAdapter {
  /**
   * The Nodes of the region's cluster that match `labelSelector` (e.g. a node pool's label), every
   * page of the list. Needs RBAC `list` on `nodes`.
   */
  listNodes(region: string, labelSelector: string): Promise<ClusterNode[]>;
}

const Regions = z.array(z.string().min(1)).min(1);

/** Nodes asked for per page of a list; the API server pages the rest by `continue`. */
const NODES_PER_PAGE = 500;

const Revision = z.object({
  number: z.int().min(0),
  image: z.string().min(1),
  port: z.int().min(1).max(65_535),
  healthPath: z.string().regex(/^\//, "must be an absolute path"),
});

const Replicas = z.int().min(0).max(10_000);

/** Gives null for a 404 instead of failing: the object is not there. */
const absentOn404 = async <T>(call: Promise<T>): Promise<T | null> => {
  try {
    return await call;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
};

/** A Deployment being deleted (foreground deletion waits for its pods) is on its way out: not a deployment to use. */
const terminating = (d: V1Deployment): boolean => d.metadata?.deletionTimestamp !== undefined;

/**
 * The CloudAdapter over Kubernetes clusters, one per region, shared by AKS, GKE and DOKS. Each
 * revision in a target is a Deployment and a Service named `<workload>-r<revision>` in the namespace
 * `<prefix><workload>`, written by server-side apply.
 *
 * @example
 * const adapter = createKubernetesAdapter({
 *   cloud: "gcp",
 *   regions: ["europe-west1"],
 *   clusters: async (region) => ({ name: `gke-${region}`, server, caData, token: () => auth.getAccessToken() }),
 * });
 */
export const createKubernetesAdapter = (options: KubernetesAdapterOptions): KubernetesAdapter => {
  const { cloud, clusters, regions: regionList, ...rest } = options;
  const parsed = KubernetesSettings.safeParse(rest);
  if (!parsed.success) {
    throw new AdapterError(
      "invalid",
      cloud,
      `kubernetes ${cloud}: bad options: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  const regions = Regions.safeParse(regionList);
  if (!regions.success) {
    throw new AdapterError(
      "invalid",
      cloud,
      `kubernetes ${cloud}: bad regions: ${z.prettifyError(regions.error)}`,
      {
        cause: regions.error,
      },
    );
  }
  const settings = parsed.data;
  const known = new Set(regions.data);
  const directory = createClusterDirectory(clusters, { cloud, timeoutMs: settings.timeoutMs });
  const applyQuery = { fieldManager: settings.fieldManager, force: true } as const;

  const invalid = (what: string, problem: string, cause?: unknown): AdapterError =>
    new AdapterError("invalid", cloud, `kubernetes ${cloud}: ${what}: ${problem}`, { cause });

  /** Where a target's revision lives, or AdapterError `invalid` for a target this adapter cannot serve. */
  const placeOf = (op: string, target: DeploymentTarget, revision: number): RevisionPlace => {
    if (target.cloud !== cloud) throw invalid(op, `target is in cloud '${target.cloud}'`);
    if (!known.has(target.region)) throw invalid(op, `region '${target.region}' has no cluster configured`);
    const place = revisionPlace(settings.namespacePrefix, target.workload, revision);
    if ("problem" in place) throw invalid(op, place.problem);
    return place;
  };

  /**
   * Runs `attempt` against the region's cluster until it succeeds or fails for good, mapping every
   * failure once. Each attempt starts from a fresh read, so conflicts are retried like throttling.
   */
  const run = async <T>(
    op: string,
    region: string,
    what: string,
    attempt: (clients: ClusterClients) => Promise<T>,
  ): Promise<T> => {
    const label = `kubernetes ${cloud}/${region}: ${op} ${what}`;
    return retryCloudCall(
      async () => {
        try {
          return await attempt(await directory.clientsFor(region));
        } catch (error) {
          const mapped = toAdapterError(error, cloud, label);
          if (mapped.failure === "unauthorized") directory.forget(region);
          throw mapped;
        }
      },
      { ...settings.retry, retryable: (error) => retryDecision(error) },
    );
  };

  const getDeployment = (c: ClusterClients, p: RevisionPlace): Promise<V1Deployment | null> =>
    absentOn404(c.apps.readNamespacedDeployment({ name: p.name, namespace: p.namespace }, c.call));

  const getService = (c: ClusterClients, p: RevisionPlace): Promise<V1Service | null> =>
    absentOn404(c.core.readNamespacedService({ name: p.name, namespace: p.namespace }, c.call));

  const applyService = (c: ClusterClients, p: RevisionPlace, revision: RevisionSpec): Promise<V1Service> =>
    c.core.patchNamespacedService(
      { name: p.name, namespace: p.namespace, body: serviceManifest(p, revision, settings), ...applyQuery },
      c.apply,
    );

  /** Creates the workload's namespace when it is not there; an existing one is left alone. */
  const ensureNamespace = async (c: ClusterClients, p: RevisionPlace): Promise<void> => {
    if (await absentOn404(c.core.readNamespace({ name: p.namespace }, c.call))) return;
    await c.core.patchNamespace({ name: p.namespace, body: namespaceManifest(p), ...applyQuery }, c.apply);
  };

  /** The port's status, or AdapterError `invalid` when the rollout has failed. */
  const statusOf = (
    c: ClusterClients,
    p: RevisionPlace,
    region: string,
    deployment: V1Deployment,
    service: V1Service | null,
  ): DeploymentStatus => {
    const reading = judgeDeployment(deployment, service, p, settings, { cluster: c.cluster, region });
    if (reading.kind === "stalled") {
      throw new AdapterError(
        "invalid",
        cloud,
        `kubernetes ${cloud}/${region}: deployment ${p.namespace}/${p.name} failed: ProgressDeadlineExceeded: ${reading.message}`,
      );
    }
    return reading.status;
  };

  return {
    cloud,
    capabilities: {
      directEndpoints: settings.endpointPattern !== undefined || settings.serviceType === "LoadBalancer",
    },

    async deploy(target, revision, replicas) {
      const p = placeOf("deploy", target, revision.number);
      const checked = z.object({ revision: Revision, replicas: Replicas }).safeParse({ revision, replicas });
      if (!checked.success) throw invalid("deploy", z.prettifyError(checked.error), checked.error);
      return run("deploy", target.region, `${p.namespace}/${p.name}`, async (c) => {
        const existing = await getDeployment(c, p);
        if (existing && terminating(existing)) {
          throw new AdapterError(
            "unavailable",
            cloud,
            `kubernetes ${cloud}/${target.region}: deploy ${p.namespace}/${p.name}: the previous deployment is still being deleted`,
          );
        }
        if (existing) {
          // Idempotent by (target, revision): what exists stays as it is; only a missing Service is added.
          const service = (await getService(c, p)) ?? (await applyService(c, p, revision));
          return statusOf(c, p, target.region, existing, service);
        }
        await ensureNamespace(c, p);
        const deployment = await c.apps.patchNamespacedDeployment(
          {
            name: p.name,
            namespace: p.namespace,
            body: deploymentManifest(p, revision, replicas, settings),
            ...applyQuery,
          },
          c.apply,
        );
        const service = await applyService(c, p, revision);
        return statusOf(c, p, target.region, deployment, service);
      });
    },

    async scale(target, revision, replicas) {
      const p = placeOf("scale", target, revision);
      const checked = Replicas.safeParse(replicas);
      if (!checked.success)
        throw invalid("scale", `replicas: ${z.prettifyError(checked.error)}`, checked.error);
      await run("scale", target.region, `${p.namespace}/${p.name}`, async (c) => {
        const deployment = await getDeployment(c, p);
        if (!deployment || terminating(deployment)) {
          throw new AdapterError(
            "not_found",
            cloud,
            `kubernetes ${cloud}/${target.region}: scale: no deployment ${p.namespace}/${p.name}`,
          );
        }
        if (deployment.spec?.replicas === replicas) return;
        // The Scale shares the Deployment's resourceVersion: a change made since this read makes the
        // write fail with 409, and the next attempt reads again.
        await c.apps.replaceNamespacedDeploymentScale(
          {
            name: p.name,
            namespace: p.namespace,
            fieldManager: settings.fieldManager,
            body: {
              apiVersion: "autoscaling/v1",
              kind: "Scale",
              metadata: {
                name: p.name,
                namespace: p.namespace,
                resourceVersion: deployment.metadata?.resourceVersion,
              },
              spec: { replicas },
            },
          },
          c.call,
        );
      });
    },

    async describe(target, revision) {
      const p = placeOf("describe", target, revision);
      return run("describe", target.region, `${p.namespace}/${p.name}`, async (c) => {
        const deployment = await getDeployment(c, p);
        if (!deployment || terminating(deployment)) return null;
        return statusOf(c, p, target.region, deployment, await getService(c, p));
      });
    },

    async remove(target, revision) {
      const p = placeOf("remove", target, revision);
      // Foreground: the Deployment goes only once its pods have gone.
      const body = { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" };
      await run("remove", target.region, `${p.namespace}/${p.name}`, async (c) => {
        await absentOn404(
          c.apps.deleteNamespacedDeployment({ name: p.name, namespace: p.namespace, body }, c.call),
        );
        await absentOn404(
          c.core.deleteNamespacedService({ name: p.name, namespace: p.namespace, body }, c.call),
        );
      });
    },

    async regions() {
      // A cluster that answers, even with throttling, is up; one that cannot be reached or refuses our
      // credentials cannot take deployments.
      const probe = async (region: string): Promise<boolean> => {
        try {
          await run("regions", region, "API discovery", (c) => c.apps.getAPIResources({}, c.call));
          return true;
        } catch (error) {
          if (error instanceof AdapterError && error.failure === "throttled") return true;
          if (error instanceof AdapterError) return false;
          throw error;
        }
      };
      return Promise.all(regions.data.map(async (region) => ({ region, available: await probe(region) })));
    },

    async listNodes(region, labelSelector) {
      if (!known.has(region)) throw invalid("list nodes", `region '${region}' has no cluster configured`);
      // Each page is its own call, retried on its own: a retry does not start the list over.
      const found: ClusterNode[] = [];
      let next: string | undefined;
      do {
        const from = next;
        const page: V1NodeList = await run("list", region, `nodes (${labelSelector})`, (c) =>
          c.core.listNode(
            { labelSelector, limit: NODES_PER_PAGE, ...(from ? { _continue: from } : {}) },
            c.call,
          ),
        );
        for (const node of page.items) {
          found.push({ name: node.metadata?.name ?? "", labels: { ...node.metadata?.labels } });
        }
        next = page.metadata?._continue || undefined;
      } while (next);
      return found;
    },
  };
};
