import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { connectDatabase } from "./connect.ts";
import { DEFAULT_MIGRATIONS_DIRECTORY, migrate } from "./migrate.ts";

const writeMigrations = async (directory: string, files: Record<string, string>): Promise<void> => {
  for (const [name, text] of Object.entries(files)) await writeFile(join(directory, name), text);
};

// Each migration fails if it runs twice (no IF NOT EXISTS), and 0002/0010 depend on their predecessors.
const GOOD = {
  "0010_third.sql": "insert into log (step) values ('third');",
  "0001_first.sql":
    "create table log (id serial primary key, step text not null);\ninsert into log (step) values ('first');",
  "0002_second.sql":
    "alter table log add column note text;\ninsert into log (step, note) values ('second', 'x');",
  "README.md": "not a migration",
  "0003_draft.sql.bak": "select broken syntax here",
};

describe("migrate", () => {
  const databases: TestDatabase[] = [];
  let directory: string;

  const freshDatabase = async () => {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  };

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "devsim-migrations-"));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  it("applies pending migrations in numeric order, once", async () => {
    const { sql } = await freshDatabase();
    await writeMigrations(directory, GOOD);

    const first = await migrate(sql, { directory });
    expect(first.applied).toEqual(["0001_first", "0002_second", "0010_third"]);
    expect((await sql`select step from log order by id`).map((r) => r.step)).toEqual([
      "first",
      "second",
      "third",
    ]);
    const recorded = await sql`select version, applied_at from schema_migrations order by version`;
    expect(recorded.map((r) => r.version)).toEqual(["0001_first", "0002_second", "0010_third"]);
    expect(recorded[0]?.applied_at).toBeInstanceOf(Date);

    const again = await migrate(sql, { directory });
    expect(again.applied).toEqual([]);
    expect((await sql`select count(*)::int as n from log`)[0]?.n).toBe(3);

    await writeMigrations(directory, { "0011_fourth.sql": "insert into log (step) values ('fourth');" });
    expect((await migrate(sql, { directory })).applied).toEqual(["0011_fourth"]);
  });

  it("lets concurrent callers on a fresh database each apply a migration at most once", async () => {
    const { url, sql } = await freshDatabase();
    await writeMigrations(directory, GOOD);
    // Separate pools stand in for separate processes.
    const pools = [0, 1, 2].map(() => connectDatabase(url, { max: 2 }));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool, { directory })));
      const all = results.flatMap((r) => r.applied).sort();
      expect(all).toEqual(["0001_first", "0002_second", "0010_third"]);
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      const steps = await sql`select step from log order by id`;
      expect(steps.map((r) => r.step)).toEqual(["first", "second", "third"]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it("rolls back every pending migration when one fails, naming the file", async () => {
    const { sql } = await freshDatabase();
    await writeMigrations(directory, {
      "0001_table.sql": "create table kept (id int);",
      "0002_broken.sql": "insert into missing_table values (1);",
    });

    await expect(migrate(sql, { directory })).rejects.toThrow(/0002_broken\.sql.*missing_table/);
    const tables = await sql`select table_name from information_schema.tables where table_schema = 'public'`;
    expect(tables.map((r) => r.table_name)).toEqual([]);

    await writeMigrations(directory, { "0002_broken.sql": "insert into kept values (1);" });
    expect((await migrate(sql, { directory })).applied).toEqual(["0001_table", "0002_broken"]);
  });

  it("refuses two migrations with the same number", async () => {
    const { sql } = await freshDatabase();
    await writeMigrations(directory, { "0001_a.sql": "select 1;", "0001_b.sql": "select 2;" });
    await expect(migrate(sql, { directory })).rejects.toThrow(/0001_a\.sql and 0001_b\.sql/);
  });

  it("defaults to the migrations folder beside the module", () => {
    expect(DEFAULT_MIGRATIONS_DIRECTORY).toBe(join(import.meta.dirname, "migrations"));
  });
});
