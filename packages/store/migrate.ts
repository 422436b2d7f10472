import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sql } from "./connect.ts";

export interface MigrateOptions {
  /** Folder of `NNNN_name.sql` files; defaults to the migrations shipped beside this module. */
  readonly directory?: string;
}

export interface MigrateResult {
  /** Versions (file names without `.sql`) applied by this call, in order. */
  readonly applied: string[];
}

export const DEFAULT_MIGRATIONS_DIRECTORY = join(import.meta.dirname, "migrations");

// Fixed key for pg_advisory_xact_lock: every process migrating this database queues on it.
// Arbitrary, but must never change, or an old and a new binary could migrate at once.
const MIGRATION_LOCK_KEY = "7305926118442650617";

const MIGRATION_FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;

interface MigrationFile {
  readonly file: string;
  readonly version: string;
}

const listMigrations = async (directory: string): Promise<MigrationFile[]> => {
  const files = (await readdir(directory)).filter((file) => MIGRATION_FILE.test(file)).sort();
  const seen = new Map<string, string>();
  for (const file of files) {
    const number = file.slice(0, 4);
    const other = seen.get(number);
    // Two files with one number would apply in an order that depends on their names only.
    if (other) throw new Error(`migrations ${other} and ${file} share the number ${number}`);
    seen.set(number, file);
  }
  return files.map((file) => ({ file, version: file.slice(0, -".sql".length) }));
};

/**
 * Applies pending migrations in order, all in one transaction under an advisory lock, so that
 * concurrent callers serialise and a failure leaves the database as it was.
 */
export const migrate = async (sql: Sql, options: MigrateOptions = {}): Promise<MigrateResult> => {
  const directory = options.directory ?? DEFAULT_MIGRATIONS_DIRECTORY;
  const migrations = await listMigrations(directory);
  const applied = await sql.begin(async (tx) => {
    await tx.unsafe(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    // Created under the lock: two first runs must not race to create it.
    await tx`
      create table if not exists schema_migrations (
        version text primary key,
        applied_at timestamptz not null default now()
      )`;
    const done = new Set(
      (await tx<{ version: string }[]>`select version from schema_migrations`).map((r) => r.version),
    );
    const now: string[] = [];
    for (const { file, version } of migrations) {
      if (done.has(version)) continue;
      const text = await readFile(join(directory, file), "utf8");
      try {
        // Simple query protocol: a file may hold many statements.
        await tx.unsafe(text);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`migration ${file} failed: ${reason}`, { cause: error });
      }
      await tx`insert into schema_migrations (version) values (${version})`;
      now.push(version);
    }
    return now;
  });
  return { applied };
};
