import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { Db, Sql } from "#store";
import { metaLine, rowLine } from "./archive.ts";
import { type Catalog, qualifiedName, quoteQualified, readCatalog } from "./catalog.ts";
import { DigestTap, TableDigest } from "./digest.ts";
import { BackupError } from "./errors.ts";
import { newBackupId } from "./id.ts";
import {
  archiveKey,
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  type Manifest,
  manifestKey,
  serializeManifest,
  type TableEntry,
} from "./manifest.ts";
import type { ProgressListener } from "./progress.ts";
import { selectRowsSql, textSettingsSql } from "./rows.ts";
import type { BackupSink } from "./sink.ts";

export interface CreateBackupOptions {
  /** The control-plane database. One connection is held for the length of the dump. */
  readonly sql: Sql;
  readonly sink: BackupSink;
  /** Rows fetched per round trip; also the most rows held in memory at once. */
  readonly batchRows?: number;
  readonly onProgress?: ProgressListener;
  readonly now?: () => Date;
}

export const DEFAULT_BATCH_ROWS = 1000;

/** The migrations applied to a database, in order; a database without them is not ours. */
export const readSchemaVersions = async (db: Db): Promise<string[]> => {
  const [found] = await db<{ exists: boolean }[]>`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`;
  if (!found?.exists) {
    throw new BackupError(
      "not_a_control_plane",
      "the database has no schema_migrations table: it is not a migrated devsim control plane",
    );
  }
  const rows = await db<{ version: string }[]>`SELECT version FROM schema_migrations ORDER BY version`;
  if (rows.length === 0)
    throw new BackupError("not_a_control_plane", "the database has no migrations applied");
  return rows.map((r) => r.version);
};

interface DumpState {
  readonly tables: TableEntry[];
  uncompressedBytes: number;
}

/** The archive's text: header, each table and its rows, sequences, end; read inside the snapshot. */
async function* archiveLines(
  tx: Db,
  id: string,
  catalog: Catalog,
  state: DumpState,
  batchRows: number,
  onProgress: ProgressListener,
): AsyncGenerator<Buffer> {
  const emit = (text: string): Buffer => {
    const bytes = Buffer.from(text);
    state.uncompressedBytes += bytes.length;
    return bytes;
  };
  yield emit(metaLine({ kind: "header", format: BACKUP_FORMAT, formatVersion: BACKUP_FORMAT_VERSION, id }));
  for (const table of catalog.tables) {
    const columns = table.columns.map((c) => c.name);
    yield emit(metaLine({ kind: "table", schema: table.schema, name: table.name, columns }));
    const digest = new TableDigest();
    const name = qualifiedName(table);
    for await (const rows of tx.unsafe(selectRowsSql(table)).values().cursor(batchRows)) {
      let text = "";
      for (const row of rows) {
        const line = rowLine(row as (string | null)[]);
        digest.add(line);
        text += `${line}\n`;
      }
      yield emit(text);
      onProgress({ phase: "dump", table: name, rows: digest.rows, done: false });
    }
    const { rows, sha256 } = digest.finish();
    onProgress({ phase: "dump", table: name, rows, done: true });
    state.tables.push({ schema: table.schema, name: table.name, columns, rows, sha256 });
  }
  for (const sequence of catalog.sequences) {
    const [value] = await tx.unsafe<{ last_value: string; is_called: boolean }[]>(
      `SELECT last_value::text AS last_value, is_called FROM ${quoteQualified(sequence)}`,
    );
    if (!value) throw new Error(`sequence ${qualifiedName(sequence)} answered no row`);
    yield emit(
      metaLine({ kind: "sequence", ...sequence, lastValue: value.last_value, isCalled: value.is_called }),
    );
  }
  yield emit(metaLine({ kind: "end" }));
}

/**
 * Takes a logical backup of every table of the database in one consistent snapshot (a single
 * REPEATABLE READ READ ONLY transaction), streams it gzip-compressed into the sink, then writes
 * its manifest beside it. Memory stays bounded by `batchRows` rows whatever the tables' size.
 * A backup without a manifest is incomplete and never listed.
 */
export const createBackup = async (options: CreateBackupOptions): Promise<Manifest> => {
  const now = options.now ?? (() => new Date());
  const onProgress = options.onProgress ?? (() => {});
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const startedAt = now();
  const started = performance.now();
  const id = newBackupId(startedAt);
  const state: DumpState = { tables: [], uncompressedBytes: 0 };
  const tap = new DigestTap();

  const { migrations, server, sequences } = await options.sql.begin(
    "isolation level repeatable read read only",
    async (tx) => {
      await tx.unsafe(textSettingsSql());
      const migrations = await readSchemaVersions(tx);
      const catalog = await readCatalog(tx);
      const [version] = await tx<{ server: string }[]>`SELECT current_setting('server_version') AS server`;
      const source = Readable.from(archiveLines(tx, id, catalog, state, batchRows, onProgress), {
        objectMode: false,
      });
      // The sink drains the tap while the pipeline fills it; either failing fails both.
      await Promise.all([pipeline(source, createGzip(), tap), options.sink.put(archiveKey(id), tap)]);
      return { migrations, server: version?.server ?? "unknown", sequences: catalog.sequences.length };
    },
  );

  const manifest: Manifest = {
    format: BACKUP_FORMAT,
    formatVersion: BACKUP_FORMAT_VERSION,
    id,
    createdAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    server,
    schema: { version: migrations.at(-1) ?? "", migrations },
    tables: state.tables,
    sequences,
    totalRows: state.tables.reduce((sum, t) => sum + t.rows, 0),
    archive: {
      key: archiveKey(id),
      bytes: tap.bytes,
      uncompressedBytes: state.uncompressedBytes,
      sha256: tap.sha256(),
    },
  };
  await options.sink.put(manifestKey(id), Buffer.from(serializeManifest(manifest)));
  return manifest;
};
