import { handle } from "hono/aws-lambda";
import { createApi, createApiMetrics } from "#api";
import { countRolloutsByStatus, databaseIsReachable } from "#store";
import { readFunctionEnv } from "./env.ts";
import { controlPlane } from "./wiring.ts";

const deps = controlPlane(readFunctionEnv(process.env));
const metrics = createApiMetrics(() => countRolloutsByStatus(deps.sql));

/** The API on AWS Lambda, behind a function URL. */
export const handler = handle(
  createApi({ ...deps, metrics, ready: () => databaseIsReachable(deps.sql, 1_000) }),
);
