import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase, databaseIsReachable, type Sql } from "./connect.ts";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded.ts";
import { DEFAULT_MIGRATIONS_DIRECTORY, migrate } from "./migrate.ts";

describe("startEmbeddedPostgres", () => {
  let root: string;
  let dataDir: string;

  /** Starts a server and a pool on it, runs `use`, and always stops both. */
  const withServer = async (use: (sql: Sql, server: EmbeddedPostgres) => Promise<void>, max = 4) => {
    const server = await startEmbeddedPostgres({ dataDir });
    const sql = connectDatabase(server.url, { max });
    try {
      await use(sql, server);
    } finally {
      await sql.end({ timeout: 5 });
      await server.close();
    }
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "devsim-embedded-"));
    // A directory that does not exist yet, below one that does not either: created on start.
    dataDir = join(root, ".devsim", "pgdata");
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("serves postgres.js over the wire and keeps data across a restart", async () => {
    await withServer(async (sql, server) => {
      expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      await sql`
        create table embedded_test_jobs (
          id uuid primary key default gen_random_uuid(),
          n integer not null,
          spec jsonb not null,
          owner text
        )`;
      await sql.begin(async (tx) => {
        for (let n = 1; n <= 4; n++)
          await tx`insert into embedded_test_jobs (n, spec) values (${n}, ${tx.json({ n, tags: ["a", n] })})`;
      });
      // A transaction that fails leaves nothing behind.
      await expect(
        sql.begin(async (tx) => {
          await tx`insert into embedded_test_jobs (n, spec) values (99, '{}')`;
          await tx`select 1 / 0`;
        }),
      ).rejects.toThrow(/division by zero/);

      // Claims as the reconciler makes them, from several connections at once.
      const claim = (owner: string) =>
        sql.begin(async (tx) => {
          const [job] = await tx`
            select id, n from embedded_test_jobs where owner is null order by n limit 1 for update skip locked`;
          if (!job) return null;
          await tx`update embedded_test_jobs set owner = ${owner} where id = ${job.id}`;
          return job.n as number;
        });
      const claimed = await Promise.all(["a", "b", "c", "d", "e"].map(claim));
      expect(claimed.filter((n) => n !== null).sort()).toEqual([1, 2, 3, 4]);
      expect(claimed.filter((n) => n === null)).toHaveLength(1);
    });

    await withServer(async (sql) => {
      const rows = await sql`select id, n, spec, owner from embedded_test_jobs order by n`;
      expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4]);
      expect(rows[1]?.spec).toEqual({ n: 2, tags: ["a", 2] });
      expect(rows.every((r) => /^[0-9a-f-]{36}$/.test(r.id) && r.owner !== null)).toBe(true);
    });
  });

  it("never lets one connection's query run against another's statement", async () => {
    await withServer(async (sql) => {
      let correct = 0;
      for (let round = 0; round < 5; round++) {
        // A transaction holds the backend while other connections queue up their Parse/Bind/Execute.
        const holder = sql.begin(async (tx) => {
          await tx`select 1`;
          await new Promise((resolve) => setTimeout(resolve, 20));
          await tx`select 2`;
        });
        const queries = Array.from({ length: 40 }, async (_, i) => {
          const [row] =
            i % 2 === 0
              ? await sql`select ${i}::int as v, ${`even${i}`}::text as s`
              : await sql`select ${`odd${i}`}::text as s, ${i}::int as v, 1 as one`;
          if (row?.v === i && row.s === `${i % 2 === 0 ? "even" : "odd"}${i}`) correct++;
        });
        await Promise.all([holder, ...queries]);
      }
      expect(correct).toBe(200);
    }, 6);
  });

  it("keeps serving others after failed queries and a client that vanished mid-transaction", async () => {
    await withServer(async (sql, server) => {
      await sql`create table if not exists embedded_test_orphans (n integer)`;
      await expect(sql`selec ${1}::int`).rejects.toThrow(/syntax error/);
      await expect(sql`select * from no_such_table where id = ${1}`).rejects.toThrow(/does not exist/);

      const doomed = connectDatabase(server.url, { max: 1 });
      const connection = await doomed.reserve();
      await connection`begin`;
      await connection`insert into embedded_test_orphans values (100)`;
      connection.release();
      await doomed.end({ timeout: 0 }); // its transaction is still open: the server must roll it back

      const [row] = await sql`select count(*)::int as n from embedded_test_orphans where n = ${100}`;
      expect(row?.n).toBe(0);
    });
  });

  it("runs migrate(): concurrent callers, a failed migration, the project's own migrations", async () => {
    const directory = await mkdtemp(join(tmpdir(), "devsim-embedded-migrations-"));
    try {
      await writeFile(
        join(directory, "0001_kinds.sql"),
        "create table embedded_test_kinds (name text primary key);",
      );
      await writeFile(
        join(directory, "0002_seed.sql"),
        "insert into embedded_test_kinds values ('web'), ('worker');",
      );
      await withServer(async (sql, server) => {
        const other = connectDatabase(server.url, { max: 2 });
        try {
          const results = await Promise.all([migrate(sql, { directory }), migrate(other, { directory })]);
          expect(results.flatMap((r) => r.applied).sort()).toEqual(["0001_kinds", "0002_seed"]);
        } finally {
          await other.end();
        }
        expect((await sql`select count(*)::int as n from embedded_test_kinds`)[0]?.n).toBe(2);

        await writeFile(
          join(directory, "0003_broken.sql"),
          "insert into embedded_test_kinds values ('db');\nselect nope;",
        );
        await expect(migrate(sql, { directory })).rejects.toThrow(/0003_broken\.sql/);
        expect((await sql`select count(*)::int as n from embedded_test_kinds`)[0]?.n).toBe(2);
        // The backend must be usable after the rolled-back migration.
        expect(await databaseIsReachable(sql, 2_000)).toBe(true);

        await sql`drop table schema_migrations`;
        const shipped = (await readdir(DEFAULT_MIGRATIONS_DIRECTORY))
          .filter((file) => /^\d{4}_.*\.sql$/.test(file))
          .sort()
          .map((file) => file.slice(0, -".sql".length));
        expect((await migrate(sql)).applied).toEqual(shipped);
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("refuses a data directory that another server is using, and frees it on close", async () => {
    const first = await startEmbeddedPostgres({ dataDir });
    try {
      await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/in use by process \d+/);
    } finally {
      await first.close();
    }
    const sql = connectDatabase(first.url, { max: 1 });
    expect(await databaseIsReachable(sql, 1_000)).toBe(false);
    await sql.end({ timeout: 0 });
    await first.close(); // idempotent

    await withServer(async (again) => {
      expect(await databaseIsReachable(again, 2_000)).toBe(true);
    });
  });
});
