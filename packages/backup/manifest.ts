import { z } from "zod";
import { BackupError } from "./errors.ts";
import { isBackupId } from "./id.ts";

export const BACKUP_FORMAT = "devsim-backup";
/** Grows when a restore of this version could no longer read an archive written by the next one. */
export const BACKUP_FORMAT_VERSION = 1;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a hex SHA-256");
const Count = z.number().int().min(0);
const Identifier = z.string().min(1).max(63);
/** A migration's version: its file name without `.sql`, as `migrate` records it. */
const MigrationVersion = z.string().regex(/^\d{4}_[A-Za-z0-9_-]+$/, "a migration version");

const TableEntry = z.object({
  schema: Identifier,
  name: Identifier,
  columns: z.array(Identifier),
  rows: Count,
  /** SHA-256 of the table's row lines in the archive, each followed by a newline. */
  sha256: Sha256,
});
export type TableEntry = z.infer<typeof TableEntry>;

const ManifestSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    formatVersion: z.literal(BACKUP_FORMAT_VERSION),
    id: z.string().refine(isBackupId, "not a backup id"),
    createdAt: z.iso.datetime(),
    durationMs: Count,
    /** `server_version` of the database the backup was taken from. */
    server: z.string().min(1),
    /** The migrations applied to the database, in order: its schema version is the last. */
    schema: z.object({ version: MigrationVersion, migrations: z.array(MigrationVersion).min(1) }),
    /** In the order they are stored and restored: every table after the tables it references. */
    tables: z.array(TableEntry),
    sequences: Count,
    totalRows: Count,
    archive: z.object({ key: z.string().min(1), bytes: Count, uncompressedBytes: Count, sha256: Sha256 }),
  })
  .refine((m) => m.schema.version === m.schema.migrations.at(-1), "schema.version is not the last migration")
  .refine(
    (m) => m.totalRows === m.tables.reduce((sum, t) => sum + t.rows, 0),
    "totalRows is not the sum of rows",
  );
export type Manifest = z.infer<typeof ManifestSchema>;

/** Where a backup's two objects live in a sink: the archive first, the manifest once it is complete. */
export const archiveKey = (id: string): string => `${id}.jsonl.gz`;
export const manifestKey = (id: string): string => `${id}.manifest.json`;

/** The backup id and kind of a sink key, or null for a key that is not ours. */
export const parseKey = (key: string): { id: string; kind: "archive" | "manifest" } | null => {
  for (const [suffix, kind] of [
    [".jsonl.gz", "archive"],
    [".manifest.json", "manifest"],
  ] as const) {
    if (key.endsWith(suffix)) {
      const id = key.slice(0, -suffix.length);
      return isBackupId(id) ? { id, kind } : null;
    }
  }
  return null;
};

export const serializeManifest = (manifest: Manifest): string => `${JSON.stringify(manifest, null, 2)}\n`;

/** Reads a manifest, telling a format this version cannot read from a damaged file. */
export const parseManifest = (text: string, id: string): Manifest => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BackupError("corrupt", `backup ${id}: manifest is not JSON`, { cause: error });
  }
  const head = z.object({ format: z.string(), formatVersion: z.number() }).safeParse(json);
  if (
    head.success &&
    (head.data.format !== BACKUP_FORMAT || head.data.formatVersion !== BACKUP_FORMAT_VERSION)
  ) {
    throw new BackupError(
      "unsupported_format",
      `backup ${id} is in format ${head.data.format} ${head.data.formatVersion}; this devsim reads ${BACKUP_FORMAT} ${BACKUP_FORMAT_VERSION}`,
    );
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "manifest"}: ${i.message}`);
    throw new BackupError("corrupt", `backup ${id}: manifest is invalid (${problems.join("; ")})`);
  }
  if (parsed.data.id !== id)
    throw new BackupError("corrupt", `backup ${id}: manifest describes ${parsed.data.id}`);
  return parsed.data;
};
