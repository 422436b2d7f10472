import { parseArgs } from "node:util";
import { z } from "zod";
import { isBackupId } from "#backup";
import type { Env } from "#config";
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
  /** How the real clouds are reached; DEVSIM_CLOUDS_FILE and the default file are looked up by loadCloudsConfig. */
  cloudsFile: z.string().min(1).optional(),
});
export type UpOptions = z.infer<typeof UpOptions>;

/** The first problem zod found, as invalid_input naming the flag (`databaseUrl` → `--database-url`). */
export const flagError = (error: z.ZodError): DevsimError => {
  const issue = error.issues[0];
  const field = String(issue?.path[0] ?? "options").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return new DevsimError("invalid_input", `--${field}: ${issue?.message ?? "invalid"}`, { field });
};

type FlagSpecs = Record<string, { readonly type: "string" | "boolean" }>;

/** The flags and the words after the command; an unknown or malformed flag is invalid_input. */
export const readFlags = (
  argv: readonly string[],
  options: FlagSpecs,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } => {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals, options });
  } catch (error) {
    throw new DevsimError("invalid_input", error instanceof Error ? error.message : String(error));
  }
};

/** The subcommand (`devsim <noun> <action>`), one of `actions`, or invalid_input saying what is wrong. */
const subcommand = <A extends string>(action: string | undefined, actions: readonly A[], noun: string): A => {
  if (!action || !(actions as readonly string[]).includes(action)) {
    throw new DevsimError(
      "invalid_input",
      action
        ? `unknown ${noun} command '${action}'`
        : `a ${noun} command is required (${actions.join(", ")})`,
      { field: "command" },
    );
  }
  return action as A;
};

/**
 * Reads `devsim up` options: flags win over environment variables, which win over defaults.
 * Throws DevsimError `invalid_input` naming the flag and the problem.
 */
export const parseUpOptions = (argv: readonly string[], env: Env): UpOptions => {
  const { values } = readFlags(argv, {
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
    "clouds-file": { type: "string" },
  });
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
    cloudsFile: values["clouds-file"],
  });
  if (!parsed.success) throw flagError(parsed.error);
  return parsed.data;
};

export const BACKUP_ACTIONS = ["create", "list", "restore", "drill"] as const;

const BackupOptions = z.object({
  action: z.enum(BACKUP_ACTIONS),
  /** The backup to restore: only `restore` takes one, and it must. */
  id: z.string().min(1).optional(),
  databaseUrl: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  dataDir: z.string().min(1).default(".devsim"),
  dir: z.string().min(1).optional(),
  json: z.boolean().default(false),
});
export type BackupOptions = z.infer<typeof BackupOptions>;

/**
 * Reads `devsim backup <action> [id] [flags]`. The database is `--database-url`, else DATABASE_URL,
 * else the embedded one under `--data-dir`; the folder of backups is `--dir`, else the
 * configured sink (see readBackupEnv).
 */
export const parseBackupOptions = (argv: readonly string[], env: Env): BackupOptions => {
  const { values, positionals } = readFlags(
    argv,
    {
      "database-url": { type: "string" },
      "data-dir": { type: "string" },
      dir: { type: "string" },
      json: { type: "boolean" },
    },
    true,
  );
  const [word, id, ...extra] = positionals;
  const action = subcommand(word, BACKUP_ACTIONS, "backup");
  if (action === "restore" && !id) {
    throw new DevsimError("invalid_input", "restore needs the id of a backup (see devsim backup list)", {
      field: "id",
    });
  }
  if (action === "restore" && id && !isBackupId(id)) {
    throw new DevsimError(
      "invalid_input",
      `'${id}' is not a backup id (they look like 2026-11-22T17-40-00Z-3f9a1c)`,
      {
        field: "id",
      },
    );
  }
  if ((action !== "restore" && id) || extra.length > 0) {
    throw new DevsimError("invalid_input", `unexpected argument '${action === "restore" ? extra[0] : id}'`);
  }
  const parsed = BackupOptions.safeParse({
    action,
    id,
    databaseUrl: values["database-url"] ?? (env.DATABASE_URL || undefined),
    dataDir: values["data-dir"] ?? env.DEVSIM_DATA_DIR,
    dir: values.dir,
    json: values.json === true,
  });
  if (!parsed.success) throw flagError(parsed.error);
  return parsed.data;
};

export const CLOUDS_ACTIONS = ["check"] as const;

const CloudsOptions = z.object({
  action: z.enum(CLOUDS_ACTIONS),
  /** The clouds file; DEVSIM_CLOUDS_FILE, DEVSIM_CLOUDS_JSON and the default file are looked up by loadCloudsConfig. */
  cloudsFile: z.string().min(1).optional(),
  json: z.boolean().default(false),
});
export type CloudsOptions = z.infer<typeof CloudsOptions>;

/** Reads `devsim clouds <action> [--clouds-file FILE] [--json]`. */
export const parseCloudsOptions = (argv: readonly string[]): CloudsOptions => {
  const { values, positionals } = readFlags(
    argv,
    {
      "clouds-file": { type: "string" },
      json: { type: "boolean" },
    },
    true,
  );
  const [word, ...extra] = positionals;
  const action = subcommand(word, CLOUDS_ACTIONS, "clouds");
  if (extra.length > 0) throw new DevsimError("invalid_input", `unexpected argument '${extra[0]}'`);
  const parsed = CloudsOptions.safeParse({
    action,
    cloudsFile: values["clouds-file"],
    json: values.json === true,
  });
  if (!parsed.success) throw flagError(parsed.error);
  return parsed.data;
};

const WatchOptions = z.object({
  /** A rollout id, or a workload name for its newest rollout. */
  target: z.string().min(1),
  // A function URL is printed with a trailing slash; paths are joined to it.
  apiUrl: z
    .url({ protocol: /^https?$/ })
    .default("http://127.0.0.1:3000")
    .transform((url) => url.replace(/\/+$/, "")),
  json: z.boolean().default(false),
});
export type WatchOptions = z.infer<typeof WatchOptions>;

/** Reads `devsim watch <rollout-id | workload> [--api-url URL] [--json]`. */
export const parseWatchOptions = (argv: readonly string[], env: Env): WatchOptions => {
  const { values, positionals } = readFlags(
    argv,
    { "api-url": { type: "string" }, json: { type: "boolean" } },
    true,
  );
  const [target, ...extra] = positionals;
  if (target === undefined) {
    throw new DevsimError("invalid_input", "a rollout id or a workload name is required", {
      field: "target",
    });
  }
  if (extra.length > 0) throw new DevsimError("invalid_input", `unexpected argument '${extra[0]}'`);
  const parsed = WatchOptions.safeParse({
    target,
    apiUrl: values["api-url"] ?? env.DEVSIM_API_URL,
    json: values.json === true,
  });
  if (!parsed.success) throw flagError(parsed.error);
  return parsed.data;
};
