import { controlPlaneEnvironment } from "./secrets";

/** One invocation a minute, each reconciling for 55 s, so due work waits at most a pass. */
export const reconcile = new sst.aws.Cron("Reconcile", {
  schedule: "rate(1 minute)",
  function: {
    handler: "functions/reconcile.handler",
    runtime: "nodejs24.x",
    timeout: "60 seconds",
    environment: controlPlaneEnvironment,
  },
});
