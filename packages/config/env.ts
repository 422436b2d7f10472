import { z } from "zod";
import { DevsimError } from "#core";

/** What every deployed process reads from its environment, checked once at start. */
const DeployedEnv = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  UPSTASH_REDIS_REST_URL: z.url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  /** Base URL of a hosted simulated world; the adapters of the real clouds are configured separately. */
  DEVSIM_SIM_URL: z.url(),
  /** Judge canaries on a Prometheus server's scrapes of the routers instead of the routers' counters in KV. */
  PROMETHEUS_URL: z.url().optional(),
  /** Prefix of every KV key, so that several control planes can share one Redis. */
  DEVSIM_KV_PREFIX: z.string().max(100).default(""),
  /** Connections per process: a function serves one request at a time, a long-running copy more. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(2),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type DeployedEnv = z.infer<typeof DeployedEnv>;

/** Parses the environment or throws naming every missing or malformed variable. */
export const readDeployedEnv = (env: Readonly<Record<string, string | undefined>>): DeployedEnv => {
  const parsed = DeployedEnv.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new DevsimError("invalid_input", `configuration is incomplete: ${problems}`, {
    issues: parsed.error.issues.map((i) => i.path.join(".")),
  });
};
