import { handle } from "hono/aws-lambda";
import { createApi, createApiMetrics } from "#api";
import { backupMetrics } from "#backup";
import { controlPlane, readDeployedEnv } from "#config";
import { countRolloutsByStatus, databaseIsReachable } from "#store";

const deps = controlPlane(readDeployedEnv(process.env));
const metrics = createApiMetrics(() => countRolloutsByStatus(deps.sql));

/** The API on AWS Lambda, behind a function URL. */
export const handler = handle(
  createApi({
    ...deps,
    metrics,
    ready: () => databaseIsReachable(deps.sql, 1_000),
    // The scheduled backups and drills record their runs in Postgres; the API serves them as metrics.
    extraMetrics: () => backupMetrics(deps.sql),
  }),
);
