import type { CloudAdapter, CloudAdapters } from "#adapters";
import type { AwsCredentials } from "#adapters/aws-ecs";
import type { AksDependencies } from "#adapters/azure-aks";
import type { DoksDependencies } from "#adapters/digitalocean-doks";
import type { GkeAuth } from "#adapters/gcp-gke";
import { createSimAdapters } from "#adapters/sim";
import { DevsimError } from "#core";
import { type CloudsConfig, simulatedClouds } from "./load.ts";

/**
 * What the real adapters take besides their configuration; each defaults to its cloud's standard
 * credential chain, so only tests pass them.
 */
export interface CloudDependencies {
  readonly aws?: { readonly credentials?: AwsCredentials };
  readonly azure?: AksDependencies;
  readonly gcp?: GkeAuth;
  readonly digitalocean?: DoksDependencies;
}

export interface BuildCloudsOptions {
  /** The simulator serving the clouds the configuration leaves simulated. */
  readonly simUrl?: string | undefined;
  readonly dependencies?: CloudDependencies;
}

/** A cloud's settings without the `adapter` key the file chooses by, which the adapter's own schema refuses. */
export const adapterSettings = <T extends { adapter: string }>({
  adapter: _,
  ...rest
}: T): Omit<T, "adapter"> => rest;

/**
 * One adapter per cloud: the configured real adapter, or the simulator at `simUrl`. Each real
 * adapter's module (and SDK) is loaded only when its cloud is configured. Throws DevsimError
 * `invalid_input` when a cloud is left to the simulator and there is no `simUrl`.
 *
 * @example
 * const adapters = await buildCloudAdapters(await loadCloudsConfig(process.env), { simUrl: sim.url });
 */
export const buildCloudAdapters = async (
  config: CloudsConfig,
  options: BuildCloudsOptions = {},
): Promise<CloudAdapters> => {
  const { aws, azure, gcp, digitalocean } = config.clouds;
  const deps = options.dependencies ?? {};
  const simulated = simulatedClouds(config);
  if (simulated.length > 0 && !options.simUrl) {
    const file = config.source ?? "the clouds file";
    throw new DevsimError(
      "invalid_input",
      `no simulator for the clouds left to it (${simulated.join(", ")}): set DEVSIM_SIM_URL, or configure them in ${file}`,
      { simulated },
    );
  }
  const sim = options.simUrl ? createSimAdapters(options.simUrl) : undefined;
  const simulator = (cloud: keyof CloudAdapters): CloudAdapter => {
    if (!sim) throw new DevsimError("internal", `no simulator for ${cloud}`);
    return sim[cloud];
  };

  const adapters = await Promise.all([
    aws.adapter === "ecs"
      ? import("#adapters/aws-ecs").then((m) => m.createEcsAdapter({ ...adapterSettings(aws), ...deps.aws }))
      : simulator("aws"),
    azure.adapter === "aks"
      ? import("#adapters/azure-aks").then((m) => m.createAksAdapter(adapterSettings(azure), deps.azure))
      : simulator("azure"),
    gcp.adapter === "gke"
      ? import("#adapters/gcp-gke").then((m) => m.createGkeAdapter(adapterSettings(gcp), deps.gcp))
      : simulator("gcp"),
    digitalocean.adapter === "doks"
      ? import("#adapters/digitalocean-doks").then((m) =>
          m.createDoksAdapter(adapterSettings(digitalocean), deps.digitalocean),
        )
      : simulator("digitalocean"),
  ]);
  return { aws: adapters[0], azure: adapters[1], gcp: adapters[2], digitalocean: adapters[3] };
};

const closable = (adapter: CloudAdapter): adapter is CloudAdapter & { close(): void } =>
  "close" in adapter && typeof adapter.close === "function";

/** Closes the connections of the adapters that keep some open (ECS's clients). */
export const closeCloudAdapters = (adapters: CloudAdapters): void => {
  for (const adapter of Object.values(adapters)) if (closable(adapter)) adapter.close();
};
