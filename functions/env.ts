import { z } from "zod";

/** What every deployed function reads from its environment, checked once at cold start. */
const FunctionEnv = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  UPSTASH_REDIS_REST_URL: z.url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  /** Base URL of a hosted simulated world; the adapters of the real clouds are configured separately. */
  DEVSIM_SIM_URL: z.url(),
  /** Judge canaries on a Prometheus server's scrapes of the routers instead of the routers' counters in KV. */
  PROMETHEUS_URL: z.url().optional(),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type FunctionEnv = z.infer<typeof FunctionEnv>;

/** Parses the environment or throws naming every missing or malformed variable. */
export const readFunctionEnv = (env: Readonly<Record<string, string | undefined>>): FunctionEnv => {
  const parsed = FunctionEnv.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new Error(`function configuration is incomplete: ${problems}`);
};
