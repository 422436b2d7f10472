import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type postgres from "postgres";
import { connectDatabase, type Db, DEFAULT_MIGRATIONS_DIRECTORY, migrate, type Sql } from "#store";
import { ArchiveFormatError, parseLine, type SequenceLine, splitLines, type TableLine } from "./archive.ts";
import { readManifest } from "./backups.ts";
import { type Catalog, qualifiedName, quoteQualified, readCatalog, USER_SCHEMA } from "./catalog.ts";
import { DigestTap, TableDigest } from "./digest.ts";
import { DEFAULT_BATCH_ROWS } from "./dump.ts";
import { BackupError } from "./errors.ts";
import type { Manifest, TableEntry } from "./manifest.ts";
import type { ProgressListener } from "./progress.ts";
import { insertRowsSql, type RowSource, selectRowsSql, textSettingsSql } from "./rows.ts";
import type { BackupSink } from "./sink.ts";

export interface RestoreOptions {
  readonly sink: BackupSink;
  readonly id: string;
  /** An empty database; anything else is refused. */
  readonly targetUrl: string;
  /** Rows per insert and per read while verifying. */
  readonly batchRows?: number;
  readonly onProgress?: ProgressListener;
}

export interface RestoreResult {
  readonly manifest: Manifest;
  /** The target's name, as the server calls it. */
  readonly database: string;
  readonly durationMs: number;
}

// Fixed key for pg_advisory_xact_lock, so two restores into one database queue instead of racing
// past the emptiness check. Arbitrary, but must never change.
const RESTORE_LOCK_KEY = "5187432390118731221";

/** A batch of inserted rows also stops growing at this many bytes of archive text. */
const BATCH_BYTES = 4 * 1024 * 1024;

const corrupt = (id: string, reason: string, cause?: unknown): BackupError =>
  new BackupError("corrupt", `backup ${id} is corrupted or truncated: ${reason}`, { cause });

/** Copies the backup's migrations into a folder of their own, so that `migrate` stops at its version. */
const stageMigrations = async (manifest: Manifest): Promise<string> => {
  const available = new Set(
    (await readdir(DEFAULT_MIGRATIONS_DIRECTORY))
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.slice(0, -4)),
  );
  const missing = manifest.schema.migrations.filter((v) => !available.has(v));
  if (missing.length > 0) {
    throw new BackupError(
      "unknown_schema",
      `backup ${manifest.id} has migrations this devsim does not know (${missing.join(", ")}); restore it with a newer devsim`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "devsim-restore-"));
  for (const version of manifest.schema.migrations) {
    await copyFile(join(DEFAULT_MIGRATIONS_DIRECTORY, `${version}.sql`), join(dir, `${version}.sql`));
  }
  return dir;
};

/**
 * `migrate` opens its own transaction with `begin`; within ours a savepoint plays that part, so
 * that schema and data are committed together or not at all.
 */
const withinTransaction = (tx: postgres.TransactionSql): Sql =>
  new Proxy(tx, {
    get: (target, property, receiver) =>
      property === "begin"
        ? (run: (sql: postgres.TransactionSql) => Promise<unknown>) => target.savepoint(run)
        : Reflect.get(target, property, receiver),
  }) as unknown as Sql;

/** Refuses a target that holds any table, view or sequence outside the system's schemas. */
const assertEmpty = async (tx: Db): Promise<string> => {
  const [{ database } = { database: "?" }] = await tx<
    { database: string }[]
  >`SELECT current_database() AS database`;
  const found = await tx.unsafe<{ name: string; total: number }[]>(`
    SELECT n.nspname || '.' || c.relname AS name, (count(*) OVER ())::int AS total
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_SCHEMA}
    ORDER BY 1 LIMIT 3`);
  if (found.length > 0) {
    const total = found[0]?.total ?? found.length;
    const names = found.map((r) => r.name).join(", ");
    const more = total > found.length ? ` and ${total - found.length} more` : "";
    throw new BackupError(
      "target_not_empty",
      `database "${database}" is not empty (it holds ${names}${more}); restore only into an empty database`,
      { details: { database } },
    );
  }
  return database;
};

/** The target's table for each table of the backup, read with the backup's columns. */
const matchTables = (manifest: Manifest, catalog: Catalog): RowSource[] =>
  manifest.tables.map((entry) => {
    const table = catalog.tables.find((t) => t.schema === entry.schema && t.name === entry.name);
    if (!table) {
      throw new BackupError(
        "schema_mismatch",
        `the migrations of backup ${manifest.id} did not create table ${qualifiedName(entry)}`,
      );
    }
    const columns = entry.columns.map((name) => {
      const column = table.columns.find((c) => c.name === name);
      if (!column) {
        throw new BackupError(
          "schema_mismatch",
          `the migrations of backup ${manifest.id} did not create column ${qualifiedName(entry)}.${name}`,
        );
      }
      return column;
    });
    return { schema: table.schema, name: table.name, columns, primaryKey: table.primaryKey };
  });

interface Loading {
  readonly entry: TableEntry;
  readonly insert: string;
  readonly digest: TableDigest;
  batch: string[];
  batchBytes: number;
}

/** Streams the archive into the target, checking it against the manifest as it goes. */
const loadArchive = async (
  tx: Db,
  sink: BackupSink,
  manifest: Manifest,
  targets: readonly RowSource[],
  batchRows: number,
  onProgress: ProgressListener,
): Promise<void> => {
  const { id } = manifest;
  const body = await sink.get(manifest.archive.key);
  const tap = new DigestTap();
  const gunzip = createGunzip();
  const flowing = pipeline(body, tap, gunzip);
  flowing.catch(() => {}); // surfaced through the loop below, or awaited after it

  // Assigned inside the closures below, which narrowing cannot see.
  let table = null as Loading | null;
  let tablesSeen = 0;
  let sequencesSeen = 0;
  let state: "header" | "body" | "ended" = "header";

  const flush = async (t: Loading) => {
    if (t.batch.length === 0) return;
    try {
      await tx.unsafe(t.insert, [`[${t.batch.join(",")}]`]);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw corrupt(id, `rows of ${qualifiedName(t.entry)} do not load (${reason})`, error);
    }
    t.batch = [];
    t.batchBytes = 0;
    onProgress({ phase: "restore", table: qualifiedName(t.entry), rows: t.digest.rows, done: false });
  };
  const finishTable = async () => {
    if (!table) return;
    await flush(table);
    const { rows, sha256 } = table.digest.finish();
    const name = qualifiedName(table.entry);
    if (rows !== table.entry.rows || sha256 !== table.entry.sha256) {
      throw corrupt(
        id,
        `table ${name} holds ${rows} rows with checksum ${sha256.slice(0, 12)}…; the manifest says ${table.entry.rows} rows with ${table.entry.sha256.slice(0, 12)}…`,
      );
    }
    onProgress({ phase: "restore", table: name, rows, done: true });
    table = null;
  };
  const startTable = (line: TableLine) => {
    const entry = manifest.tables[tablesSeen];
    const target = targets[tablesSeen];
    if (!entry || !target || entry.schema !== line.schema || entry.name !== line.name) {
      throw corrupt(id, `table ${qualifiedName(line)} is not the next table of the manifest`);
    }
    if (line.columns.join(",") !== entry.columns.join(",")) {
      throw corrupt(id, `the columns of ${qualifiedName(line)} differ from the manifest's`);
    }
    tablesSeen++;
    table = {
      entry,
      insert: insertRowsSql(target),
      digest: new TableDigest(),
      batch: [],
      batchBytes: 0,
    };
  };
  const setSequence = async (line: SequenceLine) => {
    const [found] = await tx<{ ok: boolean }[]>`
      SELECT to_regclass(${quoteQualified(line)}) IS NOT NULL AS ok`;
    if (!found?.ok) {
      throw new BackupError(
        "schema_mismatch",
        `the migrations of backup ${id} did not create sequence ${qualifiedName(line)}`,
      );
    }
    await tx`SELECT setval(${quoteQualified(line)}::regclass, ${line.lastValue}::bigint, ${line.isCalled})`;
    sequencesSeen++;
  };

  try {
    for await (const text of splitLines(gunzip)) {
      const parsed = parseLine(text);
      if (state === "ended") throw corrupt(id, "data follows the end of the archive");
      if (state === "header") {
        if (parsed.type !== "meta" || parsed.line.kind !== "header" || parsed.line.id !== id) {
          throw corrupt(id, "the archive does not start with this backup's header");
        }
        state = "body";
        continue;
      }
      if (parsed.type === "row") {
        const current = table;
        if (!current) throw corrupt(id, "a row outside any table");
        if (parsed.values.length !== current.entry.columns.length) {
          throw corrupt(id, `a row of ${qualifiedName(current.entry)} has ${parsed.values.length} values`);
        }
        current.digest.add(text);
        current.batch.push(text);
        current.batchBytes += text.length;
        if (current.batch.length >= batchRows || current.batchBytes >= BATCH_BYTES) await flush(current);
        continue;
      }
      await finishTable();
      const line = parsed.line;
      if (line.kind === "table") startTable(line);
      else if (line.kind === "sequence") await setSequence(line);
      else if (line.kind === "end") state = "ended";
      else throw corrupt(id, "a second header");
    }
    await flowing;
  } catch (error) {
    body.destroy();
    // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR…) and unreadable lines mean damaged bytes.
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (error instanceof ArchiveFormatError || code.startsWith("Z_")) {
      throw corrupt(id, (error as Error).message, error);
    }
    throw error;
  }
  if (state !== "ended") throw corrupt(id, "the archive stops before its end");
  if (tablesSeen !== manifest.tables.length || sequencesSeen !== manifest.sequences) {
    throw corrupt(
      id,
      `the archive holds ${tablesSeen} tables and ${sequencesSeen} sequences; the manifest says ${manifest.tables.length} and ${manifest.sequences}`,
    );
  }
  if (tap.bytes !== manifest.archive.bytes || tap.sha256() !== manifest.archive.sha256) {
    throw corrupt(id, "the archive's size or SHA-256 differs from the manifest's");
  }
};

/** Reads every restored table back as the dump read it, and compares with the manifest. */
const verifyTables = async (
  tx: Db,
  manifest: Manifest,
  targets: readonly RowSource[],
  batchRows: number,
  onProgress: ProgressListener,
): Promise<void> => {
  for (const [i, target] of targets.entries()) {
    const entry = manifest.tables[i] as TableEntry;
    const name = qualifiedName(target);
    const digest = new TableDigest();
    for await (const rows of tx.unsafe(selectRowsSql(target)).values().cursor(batchRows)) {
      for (const row of rows) digest.add(JSON.stringify(row));
      onProgress({ phase: "verify", table: name, rows: digest.rows, done: false });
    }
    const { rows, sha256 } = digest.finish();
    if (rows !== entry.rows || sha256 !== entry.sha256) {
      throw new BackupError(
        "corrupt",
        `restored table ${name} does not match backup ${manifest.id}: ${rows} rows with checksum ${sha256.slice(0, 12)}…, expected ${entry.rows} rows with ${entry.sha256.slice(0, 12)}…`,
      );
    }
    onProgress({ phase: "verify", table: name, rows, done: true });
  }
};

/**
 * Restores a backup into an empty database, in one transaction: the backup's own migrations
 * create the schema (the same files that made the original, so indexes, constraints and defaults
 * are exact), the archive's rows and sequence values are loaded, the archive is checked against
 * the manifest, and every table is read back and compared with the manifest's checksums. Only
 * then does it commit; on any failure the target is left as it was, empty.
 */
export const restoreBackup = async (options: RestoreOptions): Promise<RestoreResult> => {
  const started = performance.now();
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const onProgress = options.onProgress ?? (() => {});
  const manifest = await readManifest(options.sink, options.id);
  const migrations = await stageMigrations(manifest);
  const target = connectDatabase(options.targetUrl, { max: 1, applicationName: "devsim-restore" });
  try {
    const database = await target.begin(async (tx) => {
      await tx.unsafe(`SELECT pg_advisory_xact_lock(${RESTORE_LOCK_KEY})`);
      const database = await assertEmpty(tx);
      await migrate(withinTransaction(tx), { directory: migrations });
      await tx.unsafe(textSettingsSql());
      const targets = matchTables(manifest, await readCatalog(tx));
      // The migrations' own seed rows (the default project, their bookkeeping) make way for the backup's.
      if (targets.length > 0) await tx.unsafe(`TRUNCATE ${targets.map(quoteQualified).join(", ")}`);
      await loadArchive(tx, options.sink, manifest, targets, batchRows, onProgress);
      await verifyTables(tx, manifest, targets, batchRows, onProgress);
      return database;
    });
    return { manifest, database, durationMs: Math.round(performance.now() - started) };
  } finally {
    await target.end({ timeout: 5 });
    await rm(migrations, { recursive: true, force: true });
  }
};
