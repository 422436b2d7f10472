import type { TargetCheck } from "#adapters/managed-kubernetes";
import { CLOUDS, type Cloud } from "#core";
import { adapterSettings, type CloudDependencies } from "./adapters.ts";
import { adapterOverrideVariable, type CloudsConfig } from "./load.ts";

/** The adapters a cloud can be given, the simulator included. */
export type AdapterName = CloudsConfig["clouds"][Cloud]["adapter"];

/** One line of `devsim clouds check`: a thing checked in one cloud, and when wrong, why and the fix. */
export interface CloudCheck extends TargetCheck {
  readonly cloud: Cloud;
  readonly adapter: AdapterName;
}

/** Runs the configured adapter's own check of one cloud. */
const checkOne = async (
  config: CloudsConfig,
  cloud: Cloud,
  deps: CloudDependencies,
): Promise<readonly TargetCheck[]> => {
  const { aws, azure, gcp, digitalocean } = config.clouds;
  if (cloud === "aws" && aws.adapter === "ecs") {
    return (await import("#adapters/aws-ecs")).checkEcs(adapterSettings(aws), deps.aws);
  }
  if (cloud === "azure" && azure.adapter === "aks") {
    return (await import("#adapters/azure-aks")).check(adapterSettings(azure), deps.azure);
  }
  if (cloud === "gcp" && gcp.adapter === "gke") {
    return (await import("#adapters/gcp-gke")).check(adapterSettings(gcp), deps.gcp);
  }
  if (cloud === "digitalocean" && digitalocean.adapter === "doks") {
    return (await import("#adapters/digitalocean-doks")).check(
      adapterSettings(digitalocean),
      deps.digitalocean,
    );
  }
  const forced = config.forcedToSim.includes(cloud);
  return [{ target: forced ? `simulated (${adapterOverrideVariable(cloud)}=sim)` : "simulated", ok: true }];
};

/**
 * Checks every configured cloud with its adapter's own check: credentials, each region's cluster,
 * and whether the cluster answers. Simulated clouds get one line saying so. Never throws for what
 * it finds wrong: the checks of all clouds run at once, and each line names its fix.
 */
export const checkClouds = async (
  config: CloudsConfig,
  dependencies: CloudDependencies = {},
): Promise<CloudCheck[]> => {
  const lines = await Promise.all(
    CLOUDS.map(async (cloud): Promise<CloudCheck[]> => {
      const adapter = config.clouds[cloud].adapter;
      try {
        const found = await checkOne(config, cloud, dependencies);
        return found.map((line) => ({ cloud, adapter, ...line }));
      } catch (error) {
        return [
          {
            cloud,
            adapter,
            target: cloud,
            ok: false,
            problem: error instanceof Error ? error.message : String(error),
            fix: `the check itself failed; correct the ${cloud} section of ${config.source ?? "the configuration"} or its credentials and try again`,
          },
        ];
      }
    }),
  );
  return lines.flat();
};
