import { DEFAULT_SCHEDULES } from "../packages/schedule/schedules.ts";
import { controlPlaneEnvironment } from "./secrets";

/**
 * Active health checks. EventBridge fires at most once a minute, so each invocation probes in a
 * loop for most of its minute (functions/health.ts); locally the scheduler runs one pass at a time.
 * https://sst.dev/docs/component/aws/cron
 */
export const health = new sst.aws.Cron("Health", {
  schedule: DEFAULT_SCHEDULES.health.deployed,
  function: {
    handler: "functions/health.handler",
    runtime: "nodejs24.x",
    timeout: "60 seconds",
    environment: controlPlaneEnvironment,
  },
});
