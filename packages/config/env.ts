import { z } from "zod";
import type { RetentionPolicy, SinkConfig } from "#backup";
import { DevsimError } from "#core";

const PostgresUrl = z.url({ protocol: /^postgres(ql)?$/ });
const LogLevel = z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info");

/** What every deployed process reads from its environment, checked once at start. */
const DeployedEnv = z.object({
  DATABASE_URL: PostgresUrl,
  UPSTASH_REDIS_REST_URL: z.url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  /** Base URL of a hosted simulated world; the adapters of the real clouds are configured separately. */
  /** The simulated clouds' control API, for the clouds the clouds file leaves simulated. */
  DEVSIM_SIM_URL: z.url().optional(),
  /** Judge canaries on a Prometheus server's scrapes of the routers instead of the routers' counters in KV. */
  PROMETHEUS_URL: z.url().optional(),
  /** Prefix of every KV key, so that several control planes can share one Redis. */
  DEVSIM_KV_PREFIX: z.string().max(100).default(""),
  /** Connections per process: a function serves one request at a time, a long-running copy more. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(2),
  LOG_LEVEL: LogLevel,
});
export type DeployedEnv = z.infer<typeof DeployedEnv>;

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Parses an environment or throws naming every missing or malformed variable. */
const parseEnv = <S extends z.ZodType>(schema: S, env: Env): z.infer<S> => {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new DevsimError("invalid_input", `configuration is incomplete: ${problems}`, {
    issues: parsed.error.issues.map((i) => i.path.join(".")),
  });
};

/** Parses the environment or throws naming every missing or malformed variable. */
export const readDeployedEnv = (env: Env): DeployedEnv => parseEnv(DeployedEnv, env);

const Switch = z.enum(["0", "1", "false", "true"]).transform((v) => v === "1" || v === "true");

/** Where backups go and how long they stay; read by the backup functions and `devsim backup`. */
const BackupEnv = z.object({
  /** Absent for `devsim backup`: the embedded database then. */
  DATABASE_URL: PostgresUrl.optional(),
  /** The folder backups are kept in when no bucket is configured (default: `.devsim/backups`). */
  DEVSIM_BACKUP_DIR: z.string().min(1).optional(),
  /** Keep backups in this S3 (or S3-compatible) bucket instead of a folder. */
  DEVSIM_BACKUP_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name")
    .optional(),
  /** Prefix of the backups' object keys in the bucket, e.g. `devsim/backups/`. */
  DEVSIM_BACKUP_PREFIX: z.string().max(512).regex(/^[^/]/, "must not start with /").optional(),
  /** An S3-compatible service's URL (MinIO, R2, …); AWS when absent. */
  DEVSIM_BACKUP_S3_ENDPOINT: z.url().optional(),
  /** Region of the bucket; the SDK's default (AWS_REGION…) when absent. */
  DEVSIM_BACKUP_S3_REGION: z.string().min(1).optional(),
  /** 1 for path-style URLs (`endpoint/bucket/key`), which most S3-compatible services want. */
  DEVSIM_BACKUP_S3_FORCE_PATH_STYLE: Switch.default(false),
  /** Keep the newest backup of each hour for this many hours. */
  DEVSIM_BACKUP_KEEP_HOURS: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 366)
    .default(48),
  /** Keep the newest backup of each day for this many days. */
  DEVSIM_BACKUP_KEEP_DAYS: z.coerce.number().int().min(0).max(3660).default(30),
  /** A server where the restore drill may create and drop a scratch database; DATABASE_URL's when absent. */
  DEVSIM_BACKUP_DRILL_DATABASE_URL: PostgresUrl.optional(),
  LOG_LEVEL: LogLevel,
});
export type BackupEnv = z.infer<typeof BackupEnv>;
const DeployedBackupEnv = BackupEnv.extend({ DATABASE_URL: PostgresUrl });
export type DeployedBackupEnv = z.infer<typeof DeployedBackupEnv>;

/** An empty variable counts as unset, as shells and `.env` files tend to leave them. */
const withoutEmpty = (env: Env): Env => Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));

/** Backup settings for `devsim backup`, where DATABASE_URL is optional. */
export const readBackupEnv = (env: Env): BackupEnv => parseEnv(BackupEnv, withoutEmpty(env));

/** Backup settings for the scheduled backup and drill functions, which need DATABASE_URL. */
export const readDeployedBackupEnv = (env: Env): DeployedBackupEnv =>
  parseEnv(DeployedBackupEnv, withoutEmpty(env));

/** The sink the settings describe: the bucket when one is set, otherwise the folder. */
export const backupSinkConfig = (env: BackupEnv, defaultDir = ".devsim/backups"): SinkConfig =>
  env.DEVSIM_BACKUP_BUCKET
    ? {
        kind: "s3",
        bucket: env.DEVSIM_BACKUP_BUCKET,
        forcePathStyle: env.DEVSIM_BACKUP_S3_FORCE_PATH_STYLE,
        ...(env.DEVSIM_BACKUP_PREFIX ? { prefix: env.DEVSIM_BACKUP_PREFIX } : {}),
        ...(env.DEVSIM_BACKUP_S3_ENDPOINT ? { endpoint: env.DEVSIM_BACKUP_S3_ENDPOINT } : {}),
        ...(env.DEVSIM_BACKUP_S3_REGION ? { region: env.DEVSIM_BACKUP_S3_REGION } : {}),
      }
    : { kind: "folder", dir: env.DEVSIM_BACKUP_DIR ?? defaultDir };

export const backupRetention = (env: BackupEnv): RetentionPolicy => ({
  hourlyForHours: env.DEVSIM_BACKUP_KEEP_HOURS,
  dailyForDays: env.DEVSIM_BACKUP_KEEP_DAYS,
});
