import { handle } from "hono/aws-lambda";
import { z } from "zod";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "#analysis";
import { kvRoutingTables, startOutcomeFlusher, upstashStore } from "#kv";
import { cachedTableSource, createRouter, OutcomeCounters } from "#router";

const env = z
  .object({
    UPSTASH_REDIS_REST_URL: z.url(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
    DEVSIM_KV_PREFIX: z.string().max(100).default(""),
  })
  .parse(process.env);
const kv = upstashStore({
  url: env.UPSTASH_REDIS_REST_URL,
  token: env.UPSTASH_REDIS_REST_TOKEN,
  prefix: env.DEVSIM_KV_PREFIX,
});
const counters = new OutcomeCounters({ bucketBoundsMs: RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS });
// A frozen Lambda runs no timers: counts wait in memory and go out with a later invocation's flush.
startOutcomeFlusher({ counters, kv });

/** The router on AWS Lambda. It needs only the routing tables and KV, never Postgres. */
export const handler = handle(createRouter({ table: cachedTableSource(kvRoutingTables(kv)), counters }));
