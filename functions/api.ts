import { handle } from "hono/aws-lambda";
import { createApi, createApiMetrics } from "#api";
import { backupMetrics } from "#backup";
import { deployedControlPlane } from "#config";
import { countRolloutsByStatus, databaseIsReachable } from "#store";

type LambdaHandler = ReturnType<typeof handle>;

// Built once per container as it starts; a failure surfaces in every invocation, with its cause.
const ready: Promise<LambdaHandler> = deployedControlPlane(process.env).then((deps) => {
  const metrics = createApiMetrics(() => countRolloutsByStatus(deps.sql));
  return handle(
    createApi({
      ...deps,
      metrics,
      ready: () => databaseIsReachable(deps.sql, 1_000),
      // The scheduled backups and drills record their runs in Postgres; the API serves them as metrics.
      extraMetrics: () => backupMetrics(deps.sql),
      // Function URLs buffer whole answers here: a rollout watch answers as a long poll, well
      // inside the function's 30 s limit.
      watchLongPollMs: 20_000,
    }),
  );
});
ready.catch(() => {});

/** The API on AWS Lambda, behind a function URL. */
export const handler = async (
  ...args: Parameters<LambdaHandler>
): Promise<Awaited<ReturnType<LambdaHandler>>> => (await ready)(...args);
