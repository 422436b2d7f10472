import { controlPlaneEnvironment } from "./secrets";

export const api = new sst.aws.Function("Api", {
  handler: "functions/api.handler",
  runtime: "nodejs24.x",
  url: true,
  timeout: "30 seconds",
  environment: controlPlaneEnvironment,
});
