/** Connection settings kept as SST secrets: `sst secret set DatabaseUrl postgres://…`. */
export const databaseUrl = new sst.Secret("DatabaseUrl");
export const upstashUrl = new sst.Secret("UpstashRedisRestUrl");
export const upstashToken = new sst.Secret("UpstashRedisRestToken");
export const simUrl = new sst.Secret("SimUrl");
/** How each cloud is reached (docs/clouds/README.md), as JSON; `{}` keeps every cloud simulated. */
export const cloudsJson = new sst.Secret("CloudsJson");

/** The environment every control-plane function reads (functions/env.ts). */
export const controlPlaneEnvironment = {
  DATABASE_URL: databaseUrl.value,
  UPSTASH_REDIS_REST_URL: upstashUrl.value,
  UPSTASH_REDIS_REST_TOKEN: upstashToken.value,
  DEVSIM_SIM_URL: simUrl.value,
  DEVSIM_CLOUDS_JSON: cloudsJson.value,
};
