import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase, migrate, startEmbeddedPostgres } from "#store";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { type Ran, runDevsim } from "../support/devsim-process.ts";
import { fillControlPlane, tableContents } from "./fill.ts";

/** Runs `devsim backup …` to its end, in an environment without database or bucket settings. */
const devsimBackup = (args: readonly string[], cwd: string): Promise<Ran> =>
  runDevsim(["backup", ...args], {
    cwd,
    env: Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== "DATABASE_URL" && !k.startsWith("DEVSIM_")),
    ),
  });

let source: TestDatabase;
let target: TestDatabase;
let cwd: string;
let dir: string;
let id: string;
/** The source as the backup sees it: the backup's own record, and the drill's event, come after. */
let snapshot: Record<string, string[]>;

beforeAll(async () => {
  source = await createTestDatabase();
  target = await createTestDatabase();
  await migrate(source.sql);
  await fillControlPlane(source.sql, { workloads: 3, eventsPerWorkload: 25 });
  snapshot = await tableContents(source.sql);
  cwd = await mkdtemp(join(tmpdir(), "devsim-backup-cli-"));
  dir = join(cwd, "backups");
});

afterAll(async () => {
  await target?.drop();
  await source?.drop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe("devsim backup", () => {
  it("create takes a backup, with progress on stderr and a summary on stdout", async () => {
    const ran = await devsimBackup(["create", "--database-url", source.url, "--dir", dir], cwd);
    expect(ran.code).toBe(0);
    const created = /^backup (\S+) created: (\d+) tables, (\d+) rows, schema (\S+),/.exec(ran.stdout);
    expect(created).not.toBeNull();
    id = created?.[1] ?? "";
    expect(ran.stderr).toContain("dumping\n");
    expect(ran.stderr).toContain("  public.events: 75 rows\n");
    const [run] = await source.sql`SELECT kind, status, backup_id FROM backup_runs`;
    expect(run).toEqual({ kind: "backup", status: "succeeded", backup_id: id });
  });

  it("list shows it, as a table or as JSON", async () => {
    const table = await devsimBackup(["list", "--dir", dir], cwd);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+CREATED \(UTC\)\s+SCHEMA\s+TABLES\s+ROWS\s+SIZE$/);
    expect(table.stdout).toContain(id);
    const json = await devsimBackup(["list", "--json", "--dir", dir], cwd);
    expect((JSON.parse(json.stdout) as { id: string }[]).map((m) => m.id)).toEqual([id]);
  });

  it("restore restores into an empty database, printing progress and a summary", async () => {
    const ran = await devsimBackup(["restore", id, "--database-url", target.url, "--dir", dir], cwd);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(
      new RegExp(
        `^restored backup ${id} into database "${new URL(target.url).pathname.slice(1)}": .*checksums verified`,
      ),
    );
    expect(ran.stderr).toMatch(/restoring\n(.|\n)* {2}public\.events: 75 rows\n(.|\n)*verifying\n/);
    expect(await tableContents(target.sql)).toEqual(snapshot);
  });

  it("refuses to restore into a database that is not empty: one line, no stack trace, exit 1", async () => {
    const ran = await devsimBackup(["restore", id, "--database-url", target.url, "--dir", dir], cwd);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^devsim: database "devsim_test_\w+" is not empty/m);
    expect(ran.stderr).not.toMatch(/^\s+at /m);
  });

  it.each([
    [["restore"], /restore needs the id of a backup/],
    [["restore", "yesterday"], /'yesterday' is not a backup id/],
    [["rewind"], /unknown backup command 'rewind'/],
    [["list", "--no-such-flag"], /Unknown option '--no-such-flag'/],
  ])("rejects %j with a clear message and exit 2", async (args, message) => {
    const ran = await devsimBackup(args, cwd);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(message);
    expect(ran.stderr).not.toMatch(/^\s+at /m);
  });

  it("drill restores the newest backup into a scratch database", async () => {
    const ran = await devsimBackup(["drill", "--database-url", source.url, "--dir", dir], cwd);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(new RegExp(`^restore drill passed: backup ${id} restored`));
  });

  it("restore without --database-url fills a fresh embedded database under --data-dir", async () => {
    const ran = await devsimBackup(["restore", id, "--data-dir", "fresh", "--dir", dir], cwd);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain("into the embedded Postgres in fresh/pgdata");
    const embedded = await startEmbeddedPostgres({ dataDir: join(cwd, "fresh", "pgdata") });
    const sql = connectDatabase(embedded.url, { max: 1 });
    try {
      expect(await tableContents(sql)).toEqual(snapshot);
    } finally {
      await sql.end({ timeout: 5 });
      await embedded.close();
    }
  });
});
