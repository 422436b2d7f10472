import { handle } from "hono/aws-lambda";
import { z } from "zod";
import { kvRoutingTables, upstashStore } from "#kv";
import { cachedTableSource, createRouter } from "#router";

const env = z
  .object({ UPSTASH_REDIS_REST_URL: z.url(), UPSTASH_REDIS_REST_TOKEN: z.string().min(1) })
  .parse(process.env);
const tables = kvRoutingTables(
  upstashStore({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
);

/** The router on AWS Lambda. It needs only the routing tables, never Postgres. */
export const handler = handle(createRouter({ table: cachedTableSource(tables) }));
