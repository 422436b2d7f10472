import pino from "pino";
import type { CloudAdapters } from "#adapters";
import { createSimAdapters } from "#adapters/sim";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "#analysis";
import { DevsimError, SIM_REGIONS } from "#core";
import type { CommandDeps, RegionCatalog } from "#engine";
import { kvMetricSource, kvRoutingTables, upstashStore } from "#kv";
import { prometheusMetricSource } from "#metrics";
import { connectDatabase } from "#store";
import { buildCloudAdapters } from "./clouds/adapters.ts";
import { loadCloudsConfig } from "./clouds/load.ts";
import { type DeployedEnv, type Env, readDeployedEnv } from "./env.ts";

/** How the control plane reaches the clouds, and the regions the API accepts in each. */
export interface CloudWiring {
  readonly adapters: CloudAdapters;
  readonly regions: RegionCatalog;
}

/** Every cloud simulated, at DEVSIM_SIM_URL. */
const simulatedClouds = (env: DeployedEnv): CloudWiring => {
  if (env.DEVSIM_SIM_URL === undefined) {
    throw new DevsimError("invalid_input", "DEVSIM_SIM_URL: required when no cloud is configured", {
      field: "DEVSIM_SIM_URL",
    });
  }
  return { adapters: createSimAdapters(env.DEVSIM_SIM_URL), regions: SIM_REGIONS };
};

/**
 * The dependencies every deployed control-plane process shares (the API and reconcile functions,
 * `devsim reconcile`), built from its environment. Without `clouds`, every cloud is the simulator
 * at DEVSIM_SIM_URL.
 */
export const controlPlane = (env: DeployedEnv, clouds: CloudWiring = simulatedClouds(env)): CommandDeps => {
  const log = pino({ level: env.LOG_LEVEL });
  const kv = upstashStore({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    prefix: env.DEVSIM_KV_PREFIX,
  });
  const bucketBoundsMs = RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS;
  return {
    sql: connectDatabase(env.DATABASE_URL, { max: env.DATABASE_POOL_SIZE, applicationName: "devsim" }),
    adapters: clouds.adapters,
    routing: kvRoutingTables(kv),
    outcomes: env.PROMETHEUS_URL
      ? prometheusMetricSource({ baseUrl: env.PROMETHEUS_URL, bucketBoundsMs })
      : kvMetricSource(kv, { bucketBoundsMs }),
    log,
    regions: clouds.regions,
    // Deployed, the reconciler runs on its schedule and picks up the due work the API recorded.
    kick: () => {},
  };
};

/**
 * `controlPlane` with the clouds the environment configures: DEVSIM_CLOUDS_FILE or
 * DEVSIM_CLOUDS_JSON (a function has no files of its own, so the JSON itself) for the real clouds,
 * the simulator at DEVSIM_SIM_URL for the rest. Throws DevsimError `invalid_input` naming what is
 * wrong.
 *
 * @example
 * const deps = await deployedControlPlane(process.env);
 */
export const deployedControlPlane = async (env: Env): Promise<CommandDeps> => {
  const deployed = readDeployedEnv(env);
  const clouds = await loadCloudsConfig(env);
  const adapters = await buildCloudAdapters(clouds, {
    simUrl: deployed.DEVSIM_SIM_URL,
    // The token is looked up where everything else is; the other clouds' SDKs read the process's own.
    dependencies: { digitalocean: { env } },
  });
  return controlPlane(deployed, { adapters, regions: clouds.regions });
};
