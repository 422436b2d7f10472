import { z } from "zod";
import { AdapterError } from "#core";
import { apiServerChecks, failedCheck, type TargetCheck } from "../managed-kubernetes/index.ts";
import { DoksConfig, doksRegions } from "./config.ts";
import { assembleDoks, type DoksDependencies, doksToken } from "./doks-adapter.ts";

const TOKEN_FIX =
  "Create a personal access token (API → Tokens) with the scopes kubernetes:read and " +
  "kubernetes:access_cluster (and kubernetes:update to resize node pools), and set it as DIGITALOCEAN_ACCESS_TOKEN.";

const API_SERVER_FIX =
  "Make sure this machine can reach the cluster's API server (control plane firewall, VPC-only " +
  "clusters) and that the token's role maps to a Kubernetes role that may write Deployments.";

const clusterFix = (error: unknown, discovering: boolean): string => {
  const failure = error instanceof AdapterError ? error.failure : "unavailable";
  switch (failure) {
    case "not_found":
      return discovering
        ? "Create a DOKS cluster in this region, or name the cluster under `clusters`."
        : "Check the cluster's id or name (`doctl kubernetes cluster list`).";
    case "unauthorized":
      return TOKEN_FIX;
    case "invalid":
      return "Name the cluster under `clusters`, with its own region slug as region.";
    case "throttled":
      return "The API rate limit is spent; wait for it to reset and check again.";
    default:
      return "Check that api.digitalocean.com is reachable from here, then try again.";
  }
};

/**
 * Checks a `digitalocean-doks` configuration against DigitalOcean: the configuration itself, that a
 * token is there and accepted, that each region's cluster is found and hands out credentials, and
 * that each cluster's API server answers. Never throws for what it finds wrong; each line names a fix.
 */
export const check = async (input: unknown, dependencies: DoksDependencies = {}): Promise<TargetCheck[]> => {
  const parsed = DoksConfig.safeParse(input);
  if (!parsed.success) {
    return [
      {
        target: "digitalocean-doks configuration",
        ok: false,
        problem: z.prettifyError(parsed.error),
        fix: "Correct the fields named above in the digitalocean-doks configuration.",
      },
    ];
  }
  if (!doksToken(parsed.data, dependencies)) {
    return [{ target: "digitalocean token", ok: false, problem: "no API token was found", fix: TOKEN_FIX }];
  }
  const { config, clusters, kubernetes } = assembleDoks(parsed.data, dependencies);
  const results: TargetCheck[] = [];
  try {
    await clusters.verifyToken();
    results.push({ target: "digitalocean token", ok: true });
  } catch (error) {
    return [failedCheck("digitalocean token", error, clusterFix(error, false))];
  }
  const discovering = config.clusters.length === 0;
  const found: string[] = [];
  for (const region of doksRegions(config)) {
    const target = `digitalocean ${region}: DOKS cluster`;
    try {
      const cluster = await clusters.locate(region);
      await clusters.access(region);
      results.push({ target: `${target} ${cluster.name}`, ok: true });
      found.push(region);
    } catch (error) {
      results.push(failedCheck(target, error, clusterFix(error, discovering)));
    }
  }
  const label = (region: string): string => `digitalocean ${region}: Kubernetes API`;
  results.push(...(await apiServerChecks(found, label, kubernetes, API_SERVER_FIX)));
  return results;
};
