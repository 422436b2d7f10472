import { parseArgs } from "node:util";
import { z } from "zod";
import { DevsimError } from "#core";

const Port = z.coerce.number().int().min(0).max(65_535);

const UpOptions = z.object({
  port: Port.default(3000),
  routerPort: Port.default(8080),
  simPort: Port.default(0),
  host: z.string().min(1).default("127.0.0.1"),
  demo: z.boolean().default(true),
  databaseUrl: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  dataDir: z.string().min(1).default(".devsim"),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  logFormat: z.enum(["pretty", "json"]).optional(),
  trafficRate: z.coerce.number().min(0).max(1000).default(5),
  workers: z.coerce.number().int().min(1).max(16).default(1),
});
export type UpOptions = z.infer<typeof UpOptions>;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads `devsim up` options: flags win over environment variables, which win over defaults.
 * Throws DevsimError `invalid_input` naming the flag and the problem.
 */
export const parseUpOptions = (argv: readonly string[], env: Env): UpOptions => {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        "router-port": { type: "string" },
        "sim-port": { type: "string" },
        host: { type: "string" },
        "no-demo": { type: "boolean" },
        "database-url": { type: "string" },
        "data-dir": { type: "string" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        "traffic-rate": { type: "string" },
        workers: { type: "string" },
      },
    }));
  } catch (error) {
    throw new DevsimError("invalid_input", error instanceof Error ? error.message : String(error));
  }
  const parsed = UpOptions.safeParse({
    port: values.port ?? env.PORT,
    routerPort: values["router-port"] ?? env.ROUTER_PORT,
    simPort: values["sim-port"] ?? env.SIM_PORT,
    host: values.host ?? env.HOST,
    demo: values["no-demo"] === true ? false : env.DEVSIM_DEMO !== "0",
    databaseUrl: values["database-url"] ?? (env.DATABASE_URL || undefined),
    dataDir: values["data-dir"] ?? env.DEVSIM_DATA_DIR,
    logLevel: values["log-level"] ?? env.LOG_LEVEL,
    logFormat: values["log-format"] ?? env.LOG_FORMAT,
    trafficRate: values["traffic-rate"] ?? env.DEVSIM_TRAFFIC_RATE,
    workers: values.workers ?? env.DEVSIM_WORKERS,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "options").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new DevsimError("invalid_input", `--${field}: ${issue?.message ?? "invalid"}`, { field });
  }
  return parsed.data;
};
