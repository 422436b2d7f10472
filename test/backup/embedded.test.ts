import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BackupSink,
  createBackup,
  folderSink,
  type Manifest,
  restoreBackup,
  runRestoreDrill,
  scratchEmbedded,
} from "#backup";
import { connectDatabase, type EmbeddedPostgres, migrate, type Sql, startEmbeddedPostgres } from "#store";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { fillControlPlane, schemaShape, sequenceValues, tableContents } from "./fill.ts";

// The embedded default (PGlite behind its socket server) runs one transaction at a time across
// all connections: the dump's snapshot and the restore's single transaction must not wait on a
// second connection.

let root: string;
let server: EmbeddedPostgres;
let sql: Sql;
let sink: BackupSink;
let manifest: Manifest;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "devsim-backup-embedded-"));
  server = await startEmbeddedPostgres({ dataDir: join(root, "pgdata") });
  sql = connectDatabase(server.url, { max: 4 });
  await migrate(sql);
  await fillControlPlane(sql, { workloads: 6, eventsPerWorkload: 50 });
  sink = folderSink(join(root, "backups"));
  manifest = await createBackup({ sql, sink, batchRows: 40 });
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("backups of the embedded database", () => {
  it("dump every table of PGlite", async () => {
    expect(manifest.server).toMatch(/^\d+/);
    expect(manifest.tables.find((t) => t.name === "events")?.rows).toBe(300);
    expect(manifest.schema.migrations.length).toBeGreaterThan(0);
  });

  it("restore into another embedded database, row for row", async () => {
    const scratch = await scratchEmbedded(root)();
    const copy = connectDatabase(scratch.url, { max: 1 });
    try {
      await restoreBackup({ sink, id: manifest.id, targetUrl: scratch.url });
      expect(await tableContents(copy)).toEqual(await tableContents(sql));
      expect(await sequenceValues(copy)).toEqual(await sequenceValues(sql));
    } finally {
      await copy.end({ timeout: 5 });
      await scratch.drop();
    }
  });

  describe("across engines", () => {
    let target: TestDatabase;
    beforeAll(async () => {
      target = await createTestDatabase();
    });
    afterAll(async () => {
      await target?.drop();
    });

    it("restore into real Postgres with the same rows and schema", async () => {
      await restoreBackup({ sink, id: manifest.id, targetUrl: target.url });
      expect(await tableContents(target.sql)).toEqual(await tableContents(sql));
      expect(await schemaShape(target.sql)).toEqual(await schemaShape(sql));
    });
  });

  it("pass the restore drill in a scratch embedded database, which is removed afterwards", async () => {
    const made: string[] = [];
    const factory = scratchEmbedded(root);
    const result = await runRestoreDrill({
      sql,
      sink,
      scratch: async () => {
        const scratch = await factory();
        made.push(scratch.url);
        return scratch;
      },
    });
    expect(result).toMatchObject({ status: "succeeded", backupId: manifest.id, error: null });
    expect(result.tables.every((t) => t.restored === t.expected)).toBe(true);
    expect(made).toHaveLength(1);
    const [run] = await sql`SELECT kind, status, backup_id FROM backup_runs ORDER BY id DESC LIMIT 1`;
    expect(run).toEqual({ kind: "drill", status: "succeeded", backup_id: manifest.id });
  });
});
