import type { Hono } from "hono";
import { z } from "zod";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "#analysis";
import { kvRoutingTables, startOutcomeFlusher, upstashStore } from "#kv";
import { cachedTableSource, createRouter, OutcomeCounters } from "#router";

// The router on an edge runtime that calls a module's `fetch(request, env)` with its variables in
// `env` (Cloudflare Workers' module format). Web-standard APIs only: `functions/router.ts` is the
// AWS Lambda entry, whose adapter needs Node's streams.

const EdgeEnv = z.object({
  UPSTASH_REDIS_REST_URL: z.url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  DEVSIM_KV_PREFIX: z.string().max(100).default(""),
});

let router: Hono | undefined;

/** Built at the first request, the first moment the runtime hands over its variables. */
const routerFor = (env: unknown): Hono => {
  if (router) return router;
  const {
    UPSTASH_REDIS_REST_URL: url,
    UPSTASH_REDIS_REST_TOKEN: token,
    DEVSIM_KV_PREFIX: prefix,
  } = EdgeEnv.parse(env);
  const kv = upstashStore({ url, token, prefix });
  const counters = new OutcomeCounters({ bucketBoundsMs: RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS });
  // An idle isolate runs no timers: counts wait in memory and go out with a later request's flush.
  startOutcomeFlusher({ counters, kv });
  router = createRouter({ table: cachedTableSource(kvRoutingTables(kv)), counters });
  return router;
};

export default {
  fetch: (request: Request, env: unknown): Response | Promise<Response> => routerFor(env).fetch(request),
};
