import { z } from "zod";
import { AdapterError } from "#core";
import { apiServerChecks, failedCheck, type TargetCheck } from "../managed-kubernetes/index.ts";
import type { GkeAuth } from "./clusters.ts";
import { controlPlaneEndpointOf, GkeConfig, gkeRegions } from "./config.ts";
import { ControlPlaneEndpointError, type GkeClusterRef } from "./control-plane.ts";
import { assembleGke } from "./gke-adapter.ts";
import { NODE_POOL_LABEL } from "./node-pool-growth.ts";

const CREDENTIALS_FIX =
  "Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service " +
  "account key or workload identity federation file, or run on Google Cloud with a service account.";

const API_SERVER_FIX =
  "Make sure this machine can reach the cluster's control plane endpoint (authorized networks for the public " +
  "one, the cluster's VPC for the private one), or choose another with `controlPlaneEndpoint`, and that the " +
  "account has Kubernetes rights there (IAM 'Kubernetes Engine Developer', or RBAC bindings).";

const POOL_FIX =
  "Check the node pool's name (`gcloud container node-pools list --cluster …`), and that the account may " +
  "list the cluster's nodes (RBAC `list` on `nodes`, or the IAM permission `container.nodes.list`).";

const clusterFix = (error: unknown, discovering: boolean, endpoint: string): string => {
  const failure = error instanceof AdapterError ? error.failure : "unavailable";
  switch (failure) {
    case "not_found":
      return discovering
        ? "Create a GKE cluster in this region, or name the cluster under `clusters`."
        : "Check projectId, location and name (`gcloud container clusters list`).";
    case "unauthorized":
      // 401: the token itself is refused; 403: the account lacks the permission.
      return error instanceof AdapterError && error.message.includes("HTTP 401")
        ? CREDENTIALS_FIX
        : "Grant the account 'Kubernetes Engine Cluster Viewer' (container.clusters.get and list) on the project.";
    case "invalid":
      return "Name the cluster under `clusters`, with its location.";
    default:
      return `Check that ${endpoint} is reachable from here, then try again.`;
  }
};

/**
 * Checks a `gcp-gke` configuration against Google Cloud: the configuration itself, that an access
 * token can be had, that each region's cluster is found with the control plane endpoint it is to be
 * reached by (named on the line unless it is the default, `public`), and that each cluster's API
 * server answers there. Never throws for what it finds wrong; each line names a fix.
 */
export const check = async (input: unknown, auth: GkeAuth = {}): Promise<TargetCheck[]> => {
  const parsed = GkeConfig.safeParse(input);
  if (!parsed.success) {
    return [
      {
        target: "gcp-gke configuration",
        ok: false,
        problem: z.prettifyError(parsed.error),
        fix: "Correct the fields named above in the gcp-gke configuration.",
      },
    ];
  }
  const { config, clusters, kubernetes } = assembleGke(parsed.data, auth);
  const results: TargetCheck[] = [];
  try {
    await clusters.token();
    results.push({ target: "gcp credentials", ok: true });
  } catch (error) {
    return [failedCheck("gcp credentials", error, CREDENTIALS_FIX)];
  }
  const discovering = config.clusters.length === 0;
  const found: string[] = [];
  for (const region of gkeRegions(config)) {
    const target = `gcp ${region}: GKE cluster`;
    const endpoint = controlPlaneEndpointOf(config, region);
    // The default endpoint goes unsaid on a line that is ok, which then reads as it always has.
    const via = (ok: boolean): string => (ok && endpoint === "public" ? "" : ` (${endpoint} endpoint)`);
    let ref: GkeClusterRef | undefined;
    try {
      ref = await clusters.locate(region);
      await clusters.access(region);
      results.push({ target: `${target} ${ref.location}/${ref.name}${via(true)}`, ok: true });
      found.push(region);
    } catch (error) {
      results.push(
        error instanceof ControlPlaneEndpointError && ref
          ? {
              target: `${target} ${ref.location}/${ref.name}${via(false)}`,
              ok: false,
              problem: error.problem,
              fix: error.fix,
            }
          : failedCheck(target, error, clusterFix(error, discovering, config.endpoint)),
      );
    }
  }
  const label = (region: string): string => `gcp ${region}: Kubernetes API`;
  results.push(...(await apiServerChecks(found, label, kubernetes, API_SERVER_FIX)));
  // A pool a scale may grow: found, not autoscaled, and its nodes listable (GKE reports no size).
  for (const [region, { nodePool }] of Object.entries(config.capacity)) {
    if (!found.includes(region)) continue;
    const target = `gcp ${region}: node pool ${nodePool}`;
    try {
      if ((await clusters.nodePool(region, nodePool)).autoscaling) {
        results.push({
          target,
          ok: false,
          problem: "the node pool autoscales, so a scale cannot grow it",
          fix: "Leave it out of `capacity` and raise the autoscaler's minimum instead.",
        });
        continue;
      }
      await kubernetes.listNodes(region, `${NODE_POOL_LABEL}=${nodePool}`);
      results.push({ target, ok: true });
    } catch (error) {
      results.push(failedCheck(target, error, POOL_FIX));
    }
  }
  return results;
};
