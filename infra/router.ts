import { upstashToken, upstashUrl } from "./secrets";

export const router = new sst.aws.Function("Router", {
  handler: "functions/router.handler",
  runtime: "nodejs24.x",
  url: true,
  memory: "512 MB",
  environment: { UPSTASH_REDIS_REST_URL: upstashUrl.value, UPSTASH_REDIS_REST_TOKEN: upstashToken.value },
});
