import pino from "pino";
import { createSimAdapters } from "#adapters/sim";
import { SIM_REGIONS } from "#core";
import type { CommandDeps } from "#engine";
import { kvRoutingTables, upstashStore } from "#kv";
import { connectDatabase } from "#store";
import type { FunctionEnv } from "./env.ts";

/**
 * The dependencies every control-plane function shares, built from its environment. A function
 * instance serves one request at a time, so a small pool is enough.
 */
export const controlPlane = (env: FunctionEnv): CommandDeps => {
  const log = pino({ level: env.LOG_LEVEL });
  return {
    sql: connectDatabase(env.DATABASE_URL, { max: 2, applicationName: "devsim-function" }),
    adapters: createSimAdapters(env.DEVSIM_SIM_URL),
    routing: kvRoutingTables(
      upstashStore({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
    ),
    log,
    regions: SIM_REGIONS,
    // Deployed, the reconciler runs on its schedule and picks up the due work the API recorded.
    kick: () => {},
  };
};
