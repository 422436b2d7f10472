import pino from "pino";
import { createSimAdapters } from "#adapters/sim";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "#analysis";
import { SIM_REGIONS } from "#core";
import type { CommandDeps } from "#engine";
import { kvMetricSource, kvRoutingTables, upstashStore } from "#kv";
import { prometheusMetricSource } from "#metrics";
import { connectDatabase } from "#store";
import type { DeployedEnv } from "./env.ts";

/**
 * The dependencies every deployed control-plane process shares (the API and reconcile functions,
 * `devsim reconcile`), built from its environment.
 */
export const controlPlane = (env: DeployedEnv): CommandDeps => {
  const log = pino({ level: env.LOG_LEVEL });
  const kv = upstashStore({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    prefix: env.DEVSIM_KV_PREFIX,
  });
  const bucketBoundsMs = RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS;
  return {
    sql: connectDatabase(env.DATABASE_URL, { max: env.DATABASE_POOL_SIZE, applicationName: "devsim" }),
    adapters: createSimAdapters(env.DEVSIM_SIM_URL),
    routing: kvRoutingTables(kv),
    outcomes: env.PROMETHEUS_URL
      ? prometheusMetricSource({ baseUrl: env.PROMETHEUS_URL, bucketBoundsMs })
      : kvMetricSource(kv, { bucketBoundsMs }),
    log,
    regions: SIM_REGIONS,
    // Deployed, the reconciler runs on its schedule and picks up the due work the API recorded.
    kick: () => {},
  };
};
