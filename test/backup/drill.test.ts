import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BackupSink,
  backupMetrics,
  folderSink,
  listBackupIds,
  runRestoreDrill,
  runScheduledBackup,
  type ScratchFactory,
  scratchOnServer,
} from "#backup";
import { migrate } from "#store";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { fillControlPlane } from "./fill.ts";

let db: TestDatabase;
let dir: string;
let sink: BackupSink;
const made: string[] = [];

/** Scratch databases on the test server, remembering their names to check they are dropped. */
const scratch: ScratchFactory = async () => {
  const created = await scratchOnServer(db.url)();
  made.push(new URL(created.url).pathname.slice(1));
  return created;
};

const databaseExists = async (name: string): Promise<boolean> => {
  const [row] = await db.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`;
  return row?.n === 1;
};

const sample = (metrics: string, name: string): number | null => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
};

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  await fillControlPlane(db.sql, { workloads: 4, eventsPerWorkload: 20 });
  dir = await mkdtemp(join(tmpdir(), "devsim-drill-test-"));
  sink = folderSink(dir);
});

afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("backup metrics", () => {
  it("declare the gauges without samples before any backup or drill", async () => {
    const text = await backupMetrics(db.sql);
    expect(text).toContain("# TYPE devsim_backup_last_success_timestamp_seconds gauge");
    expect(text).toContain("# TYPE devsim_backup_restore_drill_success gauge");
    expect(sample(text, "devsim_backup_last_success_timestamp_seconds")).toBeNull();
    expect(sample(text, "devsim_backup_restore_drill_success")).toBeNull();
  });
});

describe("the scheduled backup", () => {
  it("takes a backup, records the run and applies retention", async () => {
    // An old backup, taken a year ago, which retention removes once a newer one exists.
    const old = await runScheduledBackup({ sql: db.sql, sink, now: () => new Date("2025-11-01T00:00:00Z") });
    expect(old.pruned?.deleted).toEqual([]);
    const fresh = await runScheduledBackup({ sql: db.sql, sink });
    expect(fresh.pruned).toEqual({ kept: [fresh.manifest.id], deleted: [old.manifest.id] });
    expect(await listBackupIds(sink)).toEqual([fresh.manifest.id]);

    const runs =
      await db.sql`SELECT kind, status, backup_id, size_bytes::int AS size, row_count::int AS rows FROM backup_runs ORDER BY id`;
    expect(runs).toEqual([
      {
        kind: "backup",
        status: "succeeded",
        backup_id: old.manifest.id,
        size: old.manifest.archive.bytes,
        rows: old.manifest.totalRows,
      },
      {
        kind: "backup",
        status: "succeeded",
        backup_id: fresh.manifest.id,
        size: fresh.manifest.archive.bytes,
        rows: fresh.manifest.totalRows,
      },
    ]);
    const text = await backupMetrics(db.sql);
    const at = new Date(fresh.manifest.createdAt).getTime() / 1000;
    expect(sample(text, "devsim_backup_last_success_timestamp_seconds")).toBeCloseTo(at, 0);
    expect(sample(text, "devsim_backup_last_success_size_bytes")).toBe(fresh.manifest.archive.bytes);
    expect(sample(text, "devsim_backup_last_run_success")).toBe(1);
  });

  it("records a failed backup too, and says so in the metrics", async () => {
    const broken: BackupSink = { ...sink, put: async () => Promise.reject(new Error("disk full")) };
    await expect(runScheduledBackup({ sql: db.sql, sink: broken })).rejects.toThrow("disk full");
    const [run] = await db.sql`SELECT status, backup_id, error FROM backup_runs ORDER BY id DESC LIMIT 1`;
    expect(run).toEqual({ status: "failed", backup_id: null, error: "disk full" });
    const text = await backupMetrics(db.sql);
    expect(sample(text, "devsim_backup_last_run_success")).toBe(0);
    // The last success is still the last success.
    expect(sample(text, "devsim_backup_last_success_timestamp_seconds")).not.toBeNull();
  });
});

describe("the restore drill", () => {
  it("restores the newest backup into a scratch database, checks it, drops it, and records success", async () => {
    const newest = (await listBackupIds(sink))[0];
    const result = await runRestoreDrill({ sql: db.sql, sink, scratch });
    expect(result).toMatchObject({ status: "succeeded", backupId: newest, error: null });
    expect(result.tables.find((t) => t.table === "public.events")).toEqual({
      table: "public.events",
      expected: 80,
      restored: 80,
    });
    expect(made).toHaveLength(1);
    expect(await databaseExists(made[0] ?? "")).toBe(false);

    const [event] = await db.sql`
      SELECT workload_id, rollout_id, type, data->>'backupId' AS backup FROM events ORDER BY id DESC LIMIT 1`;
    expect(event).toEqual({
      workload_id: null,
      rollout_id: null,
      type: "backup_drill_succeeded",
      backup: newest,
    });
    const text = await backupMetrics(db.sql);
    expect(sample(text, "devsim_backup_restore_drill_success")).toBe(1);
    expect(sample(text, "devsim_backup_restore_drill_duration_seconds")).toBeCloseTo(
      result.durationMs / 1000,
      2,
    );
  });

  it("fails on a damaged newest backup, still drops the scratch database, and records the failure", async () => {
    const newest = (await listBackupIds(sink))[0] ?? "";
    const archive = join(dir, `${newest}.jsonl.gz`);
    const bytes = await readFile(archive);
    await writeFile(archive, bytes.subarray(0, bytes.length - 20));
    const result = await runRestoreDrill({ sql: db.sql, sink, scratch });
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(new RegExp(`backup ${newest} is corrupted or truncated`));
    expect(made).toHaveLength(2);
    expect(await databaseExists(made[1] ?? "")).toBe(false);

    const [event] = await db.sql`SELECT type, message FROM events ORDER BY id DESC LIMIT 1`;
    expect(event?.type).toBe("backup_drill_failed");
    expect(event?.message).toContain("corrupted or truncated");
    expect(sample(await backupMetrics(db.sql), "devsim_backup_restore_drill_success")).toBe(0);
  });

  it("fails when there is no backup at all", async () => {
    const empty = folderSink(join(dir, "empty"));
    const result = await runRestoreDrill({ sql: db.sql, sink: empty, scratch });
    expect(result).toMatchObject({ status: "failed", backupId: null });
    expect(result.error).toMatch(/no backup to restore/);
    expect(made).toHaveLength(2);
  });
});

describe("scratchOnServer", () => {
  it("creates a database of its own and drops only that one", async () => {
    const created = await scratchOnServer(db.url)();
    const name = new URL(created.url).pathname.slice(1);
    expect(name).toMatch(/^devsim_drill_[0-9a-f]{12}$/);
    const inside = postgres(created.url, { max: 1 });
    expect(await inside`SELECT current_database() AS name`).toEqual([{ name }]);
    await inside.end();
    await created.drop();
    await created.drop();
    expect(await databaseExists(name)).toBe(false);
    expect(await databaseExists(new URL(db.url).pathname.slice(1))).toBe(true);
  });
});
