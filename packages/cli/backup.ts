import { join, resolve } from "node:path";
import {
  type BackupSink,
  folderSink,
  listBackups,
  type Manifest,
  openSink,
  type ProgressListener,
  restoreBackup,
  runRestoreDrill,
  runScheduledBackup,
  scratchEmbedded,
  scratchOnServer,
} from "#backup";
import { type BackupEnv, backupSinkConfig, type Env, readBackupEnv } from "#config";
import { DevsimError } from "#core";
import { connectDatabase, startEmbeddedPostgres } from "#store";
import type { BackupOptions } from "./options.ts";

export const BACKUP_USAGE = `Usage: devsim backup <command> [options]

Commands:
  create          Take a backup of the control-plane database now.
  list            List the backups, newest first.
  restore <id>    Restore a backup into an empty database, verifying its checksums.
  drill           Restore the newest backup into a scratch database and check its row counts.

Options (environment variable in brackets):
  --database-url URL  the control-plane database; for restore, the empty target (DATABASE_URL;
                      default: the embedded Postgres in <data-dir>/pgdata)
  --data-dir DIR      where the embedded Postgres keeps its data (DEVSIM_DATA_DIR, default .devsim)
  --dir DIR           keep backups in this folder (DEVSIM_BACKUP_DIR, default <data-dir>/backups)
  --json              list: print the manifests as JSON

Without --dir, backups go to S3 when DEVSIM_BACKUP_BUCKET is set, with DEVSIM_BACKUP_PREFIX,
DEVSIM_BACKUP_S3_ENDPOINT, DEVSIM_BACKUP_S3_REGION and DEVSIM_BACKUP_S3_FORCE_PATH_STYLE=1;
credentials come from the AWS SDK's default chain. The drill creates its scratch database on
DEVSIM_BACKUP_DRILL_DATABASE_URL's server, else on the database's own, else in a temporary
embedded Postgres.
`;

interface OpenDatabase {
  readonly url: string;
  /** For messages: the URL without its password, or where the embedded data lives. */
  readonly label: string;
  close(): Promise<void>;
}

const withoutPassword = (url: string): string => {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.href;
};

/** The database named by the options, or the embedded one, started for the length of the command. */
const openDatabase = async (options: BackupOptions): Promise<OpenDatabase> => {
  if (options.databaseUrl) {
    return { url: options.databaseUrl, label: withoutPassword(options.databaseUrl), close: async () => {} };
  }
  const dataDir = join(options.dataDir, "pgdata");
  try {
    const embedded = await startEmbeddedPostgres({ dataDir: resolve(dataDir) });
    return { url: embedded.url, label: `the embedded Postgres in ${dataDir}`, close: embedded.close };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DevsimError(
      "unavailable",
      `cannot open the embedded Postgres in ${dataDir}: ${reason} (if devsim up runs on it, stop it or pass --database-url)`,
      {},
      { cause: error },
    );
  }
};

const openBackupSink = (options: BackupOptions, env: BackupEnv): BackupSink =>
  options.dir ? folderSink(options.dir) : openSink(backupSinkConfig(env, join(options.dataDir, "backups")));

const formatBytes = (bytes: number): string =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 ** 2
      ? `${(bytes / 1024).toFixed(1)} kB`
      : `${(bytes / 1024 ** 2).toFixed(1)} MB`;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const PHASES = { dump: "dumping", restore: "restoring", verify: "verifying" } as const;

/** Progress on stderr: a line per finished table, and a live count at a terminal. */
const progressPrinter = (): ProgressListener => {
  const err = process.stderr;
  let phase = "";
  return (p) => {
    if (p.phase !== phase) {
      phase = p.phase;
      err.write(`${PHASES[p.phase]}\n`);
    }
    if (p.done) err.write(`${err.isTTY ? "\r\x1b[K" : ""}  ${p.table}: ${p.rows} rows\n`);
    else if (err.isTTY) err.write(`\r\x1b[K  ${p.table}: ${p.rows} rows…`);
  };
};

const summary = (m: Manifest): string =>
  `${m.tables.length} tables, ${m.totalRows} rows, schema ${m.schema.version}`;

const create = async (options: BackupOptions, env: BackupEnv): Promise<number> => {
  const sink = openBackupSink(options, env);
  const db = await openDatabase(options);
  const sql = connectDatabase(db.url, { max: 1, applicationName: "devsim-backup" });
  try {
    process.stderr.write(`backing up ${db.label} to ${sink.location}\n`);
    const { manifest } = await runScheduledBackup({
      sql,
      sink,
      retention: null,
      onProgress: progressPrinter(),
    });
    process.stdout.write(
      `backup ${manifest.id} created: ${summary(manifest)}, ${formatBytes(manifest.archive.bytes)} compressed ` +
        `(${formatBytes(manifest.archive.uncompressedBytes)} of text), ${seconds(manifest.durationMs)}\n`,
    );
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
    await db.close();
  }
};

const list = async (options: BackupOptions, env: BackupEnv): Promise<number> => {
  const sink = openBackupSink(options, env);
  const manifests = await listBackups(sink);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(manifests, null, 2)}\n`);
    return 0;
  }
  if (manifests.length === 0) {
    process.stdout.write(`no backups in ${sink.location}\n`);
    return 0;
  }
  const rows = [
    ["ID", "CREATED (UTC)", "SCHEMA", "TABLES", "ROWS", "SIZE"],
    ...manifests.map((m) => [
      m.id,
      m.createdAt.slice(0, 19).replace("T", " "),
      m.schema.version,
      String(m.tables.length),
      String(m.totalRows),
      formatBytes(m.archive.bytes),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const row of rows) {
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd()}\n`,
    );
  }
  return 0;
};

const restore = async (options: BackupOptions, env: BackupEnv): Promise<number> => {
  const sink = openBackupSink(options, env);
  const id = options.id ?? "";
  const db = await openDatabase(options);
  try {
    process.stderr.write(`restoring backup ${id} from ${sink.location} into ${db.label}\n`);
    const result = await restoreBackup({ sink, id, targetUrl: db.url, onProgress: progressPrinter() });
    process.stdout.write(
      `restored backup ${id} into database "${result.database}": ${summary(result.manifest)}; ` +
        `checksums verified; ${seconds(result.durationMs)}\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
};

const drill = async (options: BackupOptions, env: BackupEnv): Promise<number> => {
  const sink = openBackupSink(options, env);
  const serverUrl = env.DEVSIM_BACKUP_DRILL_DATABASE_URL ?? options.databaseUrl;
  // The embedded Postgres serves one database; its drill gets an embedded Postgres of its own.
  const scratch = serverUrl ? scratchOnServer(serverUrl) : scratchEmbedded();
  const db = await openDatabase(options);
  const sql = connectDatabase(db.url, { max: 1, applicationName: "devsim-drill" });
  try {
    const result = await runRestoreDrill({ sql, sink, scratch, onProgress: progressPrinter() });
    if (result.status === "failed") {
      process.stdout.write(`restore drill failed after ${seconds(result.durationMs)}: ${result.error}\n`);
      return 1;
    }
    const rows = result.tables.reduce((sum, t) => sum + t.restored, 0);
    process.stdout.write(
      `restore drill passed: backup ${result.backupId} restored into a scratch database, ` +
        `${result.tables.length} tables and ${rows} rows as its manifest says; ${seconds(result.durationMs)}\n`,
    );
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
    await db.close();
  }
};

/** `devsim backup <command>`; returns the exit code. */
export const runBackupCommand = async (options: BackupOptions, env: Env): Promise<number> => {
  const backupEnv = readBackupEnv(env);
  switch (options.action) {
    case "create":
      return create(options, backupEnv);
    case "list":
      return list(options, backupEnv);
    case "restore":
      return restore(options, backupEnv);
    case "drill":
      return drill(options, backupEnv);
  }
};
