import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BackupError,
  type BackupSink,
  createBackup,
  folderSink,
  type Manifest,
  type Progress,
  restoreBackup,
} from "#backup";
import { listWorkloads, migrate } from "#store";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { fillControlPlane, relationCount, schemaShape, sequenceValues, tableContents } from "./fill.ts";

let source: TestDatabase;
let dir: string;
let sink: BackupSink;
let manifest: Manifest;
const progress: Progress[] = [];
const scratch: TestDatabase[] = [];

/** A new, empty database on the test server, dropped after the file. */
const emptyDatabase = async (): Promise<TestDatabase> => {
  const db = await createTestDatabase();
  scratch.push(db);
  return db;
};

/** The failure a promise rejects with, which must be a BackupError. */
const failureOf = async (promise: Promise<unknown>): Promise<BackupError> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof BackupError)) throw new Error(`expected a BackupError, got ${String(error)}`);
  return error;
};

beforeAll(async () => {
  source = await createTestDatabase();
  await migrate(source.sql);
  await fillControlPlane(source.sql, { workloads: 25, eventsPerWorkload: 40 });
  dir = await mkdtemp(join(tmpdir(), "devsim-backup-test-"));
  sink = folderSink(dir);
  manifest = await createBackup({
    sql: source.sql,
    sink,
    batchRows: 64,
    onProgress: (p) => progress.push(p),
  });
});

afterAll(async () => {
  await Promise.all(scratch.map((db) => db.drop()));
  await source?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("createBackup", () => {
  it("describes every table, the schema version and the archive in its manifest", async () => {
    const tables = await source.sql<{ name: string }[]>`
      SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
    expect(manifest.tables.map((t) => t.name).sort()).toEqual(tables.map((t) => t.name));
    const versions = await source.sql<
      { version: string }[]
    >`SELECT version FROM schema_migrations ORDER BY version`;
    expect(manifest.schema.migrations).toEqual(versions.map((v) => v.version));
    expect(manifest.schema.version).toBe(versions.at(-1)?.version);
    const events = manifest.tables.find((t) => t.name === "events");
    expect(events?.rows).toBe(25 * 40);
    expect(manifest.totalRows).toBe(manifest.tables.reduce((sum, t) => sum + t.rows, 0));
    expect(manifest.id).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z-[0-9a-f]{6}$/);
    const archive = await readFile(join(dir, manifest.archive.key));
    expect(archive.length).toBe(manifest.archive.bytes);
    expect(gunzipSync(archive).length).toBe(manifest.archive.uncompressedBytes);
    expect(manifest.archive.bytes).toBeLessThan(manifest.archive.uncompressedBytes);
  });

  it("stores parents before the tables that reference them", () => {
    const order = manifest.tables.map((t) => t.name);
    const precedes = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
    precedes("projects", "workloads");
    precedes("workloads", "rollouts");
    precedes("rollouts", "events");
    precedes("rollouts", "analysis_results");
  });

  it("reports progress a batch at a time, and once per finished table", () => {
    const events = progress.filter((p) => p.table === "public.events");
    expect(events.filter((p) => !p.done).map((p) => p.rows)).toEqual(
      Array.from({ length: Math.ceil(1000 / 64) }, (_, i) => Math.min((i + 1) * 64, 1000)),
    );
    expect(events.filter((p) => p.done)).toEqual([
      { phase: "dump", table: "public.events", rows: 1000, done: true },
    ]);
    expect(new Set(progress.filter((p) => p.done).map((p) => p.table)).size).toBe(manifest.tables.length);
  });

  it("refuses a database that was never migrated", async () => {
    const bare = await emptyDatabase();
    const error = await failureOf(createBackup({ sql: bare.sql, sink }));
    expect(error.failure).toBe("not_a_control_plane");
  });
});

describe("restoreBackup", () => {
  it("restores every table row for row, the sequences and the schema into an empty database", async () => {
    const target = await emptyDatabase();
    const seen: Progress[] = [];
    const result = await restoreBackup({
      sink,
      id: manifest.id,
      targetUrl: target.url,
      batchRows: 100,
      onProgress: (p) => seen.push(p),
    });
    expect(result.database).toBe(new URL(target.url).pathname.slice(1));
    expect(await tableContents(target.sql)).toEqual(await tableContents(source.sql));
    expect(await sequenceValues(target.sql)).toEqual(await sequenceValues(source.sql));
    expect(await schemaShape(target.sql)).toEqual(await schemaShape(source.sql));
    expect(seen.filter((p) => p.done && p.phase === "restore")).toHaveLength(manifest.tables.length);
    expect(seen.filter((p) => p.done && p.phase === "verify")).toHaveLength(manifest.tables.length);
    // The store reads it as it read the original.
    expect(await listWorkloads(target.sql)).toEqual(await listWorkloads(source.sql));
    // New rows continue the restored sequences instead of colliding with restored ids.
    const [max] = await target.sql<{ id: string }[]>`SELECT max(id)::text AS id FROM events`;
    const [fresh] = await target.sql<{ id: string }[]>`
      INSERT INTO events (workload_id, type, message) SELECT id, 't', 'm' FROM workloads LIMIT 1 RETURNING id::text`;
    expect(BigInt(fresh?.id ?? 0)).toBeGreaterThan(BigInt(max?.id ?? 0));
    // Migrating the restored database again finds nothing to do: it is at the backup's version.
    expect((await migrate(target.sql)).applied).toEqual([]);
  });

  it("refuses a database that is not empty, naming it, and leaves it alone", async () => {
    const target = await emptyDatabase();
    await target.sql`CREATE TABLE notes (body text)`;
    await target.sql`INSERT INTO notes VALUES ('keep me')`;
    const error = await failureOf(restoreBackup({ sink, id: manifest.id, targetUrl: target.url }));
    expect(error.failure).toBe("target_not_empty");
    expect(error.message).toContain(`database "${new URL(target.url).pathname.slice(1)}" is not empty`);
    expect(error.message).toContain("public.notes");
    expect(await relationCount(target.sql)).toBe(1);
    expect(await target.sql`SELECT body FROM notes`).toEqual([{ body: "keep me" }]);
  });

  it("says so when there is no such backup", async () => {
    const target = await emptyDatabase();
    const missing = "2020-01-01T00-00-00Z-000000";
    const error = await failureOf(restoreBackup({ sink, id: missing, targetUrl: target.url }));
    expect(error.failure).toBe("not_found");
    expect(error.message).toBe(`no backup ${missing} in ${sink.location}`);
    expect(
      (await failureOf(restoreBackup({ sink, id: "../etc/passwd", targetUrl: target.url }))).failure,
    ).toBe("not_found");
  });

  describe("a damaged backup fails with a clear error and leaves the target empty", () => {
    /** A copy of the backup under a new id, with its archive bytes changed by `damage`. */
    const damagedCopy = async (damage: (archive: Buffer) => Buffer, id: string): Promise<string> => {
      const archive = await readFile(join(dir, manifest.archive.key));
      const copy = { ...manifest, id, archive: { ...manifest.archive, key: `${id}.jsonl.gz` } };
      await writeFile(join(dir, `${id}.jsonl.gz`), damage(archive));
      await writeFile(join(dir, `${id}.manifest.json`), JSON.stringify(copy));
      return id;
    };
    const rewriteHeader = (text: string, id: string) => text.replace(manifest.id, id);

    it.each([
      [
        "a flipped byte",
        "2020-01-01T00-00-01Z-000001",
        (a: Buffer) => {
          const b = Buffer.from(a);
          b[Math.floor(b.length / 2)] = (b[Math.floor(b.length / 2)] ?? 0) ^ 0xff;
          return b;
        },
        /corrupted or truncated/,
      ],
      [
        "a truncated archive",
        "2020-01-01T00-00-02Z-000002",
        (a: Buffer) => a.subarray(0, Math.floor(a.length * 0.6)),
        /corrupted or truncated/,
      ],
      [
        "a row edited and recompressed",
        "2020-01-01T00-00-03Z-000003",
        (a: Buffer) => {
          const text = rewriteHeader(gunzipSync(a).toString(), "2020-01-01T00-00-03Z-000003");
          return gzipSync(text.replace("step 7 of rollout", "step 8 of rollout"));
        },
        /table public\.events holds 1000 rows with checksum .*; the manifest says 1000 rows/,
      ],
      [
        "a table cut off at a line boundary",
        "2020-01-01T00-00-04Z-000004",
        (a: Buffer) => {
          const lines = rewriteHeader(gunzipSync(a).toString(), "2020-01-01T00-00-04Z-000004").split("\n");
          return gzipSync(`${lines.slice(0, Math.floor(lines.length / 2)).join("\n")}\n`);
        },
        /corrupted or truncated: (table .* holds|the archive stops before its end)/,
      ],
    ])("%s", async (_what, id, damage, message) => {
      await damagedCopy(damage, id);
      const target = await emptyDatabase();
      const error = await failureOf(restoreBackup({ sink, id, targetUrl: target.url }));
      expect(error.failure).toBe("corrupt");
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`backup ${id}`);
      expect(await relationCount(target.sql)).toBe(0);
    });
  });

  it("refuses a backup whose migrations this version does not know, before touching the target", async () => {
    const id = "2020-01-01T00-00-05Z-000005";
    const future = `9999_from_the_future`;
    const copy = {
      ...manifest,
      id,
      schema: { version: future, migrations: [...manifest.schema.migrations, future] },
    };
    await writeFile(join(dir, `${id}.manifest.json`), JSON.stringify(copy));
    const target = await emptyDatabase();
    const error = await failureOf(restoreBackup({ sink, id, targetUrl: target.url }));
    expect(error.failure).toBe("unknown_schema");
    expect(error.message).toContain(future);
    expect(await relationCount(target.sql)).toBe(0);
  });
});

describe("a dump beside a concurrent writer", () => {
  it("captures one snapshot: rows counted match the snapshot and cross-table invariants hold", async () => {
    const db = await emptyDatabase();
    await migrate(db.sql);
    await fillControlPlane(db.sql, { workloads: 20, eventsPerWorkload: 200 });
    // Each write moves two tables at once: a new revision and the workload's latest_revision.
    // A dump that read the tables at different moments would restore them out of step.
    let writes = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        await db.sql.begin(async (tx) => {
          const [w] = await tx<{ id: string; next: number }[]>`
            UPDATE workloads SET latest_revision = latest_revision + 1
            WHERE id = (SELECT id FROM workloads WHERE name = ${`w-${(writes % 20) + 1}`})
            RETURNING id, latest_revision AS next`;
          await tx`
            INSERT INTO revisions (workload_id, number, image, port, health_check, config_hash)
            VALUES (${w?.id ?? null}, ${w?.next ?? 0}, 'img', 8080, '{"path": "/"}', 'h')`;
          await tx`INSERT INTO events (workload_id, type, message) VALUES (${w?.id ?? null}, 'write', 'w')`;
        });
        writes++;
      }
    })();
    try {
      while (writes < 5) await new Promise((resolve) => setTimeout(resolve, 5));
      const writesBefore = writes;
      const copy = await createBackup({ sql: db.sql, sink, batchRows: 50 });
      const writesAfter = writes;
      stop = true;
      await writer;
      expect(writesAfter).toBeGreaterThan(writesBefore);

      const target = await emptyDatabase();
      await restoreBackup({ sink, id: copy.id, targetUrl: target.url });
      for (const table of copy.tables) {
        const [row] = await target.sql.unsafe<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM public.${table.name}`,
        );
        expect(row?.n, table.name).toBe(table.rows);
      }
      const skewed = await target.sql`
        SELECT w.name FROM workloads w
        WHERE w.latest_revision <> (SELECT max(number) FROM revisions r WHERE r.workload_id = w.id)`;
      expect(skewed).toEqual([]);
      const [events] = await target.sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM events WHERE type = 'write'`;
      const [revisions] = await target.sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM revisions WHERE image = 'img'`;
      expect(events?.n).toBe(revisions?.n);
      // The writer went on after the snapshot: the source now holds more than the backup.
      const [now] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
      expect(now?.n).toBeGreaterThan(copy.tables.find((t) => t.name === "events")?.rows ?? Infinity);
    } finally {
      stop = true;
      await writer;
    }
  });
});
