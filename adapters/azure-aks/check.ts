import { z } from "zod";
import { AdapterError } from "#core";
import { apiServerChecks, failedCheck, type TargetCheck } from "../managed-kubernetes/index.ts";
import { type AksDependencies, assembleAks } from "./aks-adapter.ts";
import { AksConfig, aksRegions } from "./config.ts";

const CREDENTIALS_FIX =
  "Sign in with `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET " +
  "(or AZURE_FEDERATED_TOKEN_FILE for workload identity), or run with a managed identity.";

const API_SERVER_FIX =
  "Make sure this machine can reach the cluster's API server (authorized IP ranges, private cluster " +
  "networking) and that the identity has a Kubernetes role there (with Azure RBAC: " +
  "'Azure Kubernetes Service RBAC Writer').";

const clusterFix = (error: unknown, discovering: boolean, armEndpoint: string): string => {
  const failure = error instanceof AdapterError ? error.failure : "unavailable";
  switch (failure) {
    case "not_found":
      return discovering
        ? "Create an AKS cluster in this region, or name the cluster under `clusters`."
        : "Check subscriptionId, resourceGroup and name (`az aks list -o table`).";
    case "unauthorized":
      // 401: the token itself is refused; 403: the identity lacks the role.
      return error instanceof AdapterError && error.message.includes("HTTP 401")
        ? CREDENTIALS_FIX
        : "Grant the identity 'Azure Kubernetes Service Cluster User Role' on the cluster " +
            "(Microsoft.ContainerService/managedClusters/listClusterUserCredential/action and read).";
    case "invalid":
      return "Name the cluster under `clusters`, with the cluster's own location as its region.";
    default:
      return `Check that ${armEndpoint} is reachable from here, then try again.`;
  }
};

/**
 * Checks an `azure-aks` configuration against Azure: the configuration itself, that a credential
 * signs in, that each region's cluster is found and hands out user credentials, and that each
 * cluster's API server answers. Never throws for what it finds wrong; each line names a fix.
 */
export const check = async (input: unknown, dependencies: AksDependencies = {}): Promise<TargetCheck[]> => {
  const parsed = AksConfig.safeParse(input);
  if (!parsed.success) {
    return [
      {
        target: "azure-aks configuration",
        ok: false,
        problem: z.prettifyError(parsed.error),
        fix: "Correct the fields named above in the azure-aks configuration.",
      },
    ];
  }
  const { config, clusters, kubernetes } = assembleAks(parsed.data, dependencies);
  const results: TargetCheck[] = [];
  try {
    await clusters.armToken();
    results.push({ target: "azure credentials", ok: true });
  } catch (error) {
    return [failedCheck("azure credentials", error, CREDENTIALS_FIX)];
  }
  const discovering = config.clusters.length === 0;
  const found: string[] = [];
  for (const region of aksRegions(config)) {
    const target = `azure ${region}: AKS cluster`;
    try {
      const ref = await clusters.locate(region);
      await clusters.access(region);
      results.push({ target: `${target} ${ref.resourceGroup}/${ref.name}`, ok: true });
      found.push(region);
    } catch (error) {
      results.push(failedCheck(target, error, clusterFix(error, discovering, config.armEndpoint)));
    }
  }
  const label = (region: string): string => `azure ${region}: Kubernetes API`;
  results.push(...(await apiServerChecks(found, label, kubernetes, API_SERVER_FIX)));
  return results;
};
