import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase, databaseIsReachable, type Sql } from "./connect.ts";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded.ts";
import { TEMPLATE_MANIFEST } from "./embedded-template.ts";
import { makeTemplate } from "./embedded-template-make.ts";
import { installedPgliteVersion, templateIsUsable } from "./embedded-template-manifest.ts";
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
      // The default template under node_modules/.cache exists unless no start or install made it yet.
      expect(["template", "initdb"]).toContain(server.dataDirSource);
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

    await withServer(async (sql, server) => {
      expect(server.dataDirSource).toBe("existing");
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

describe("startEmbeddedPostgres with a data directory template", () => {
  let root: string;
  let templateDir: string;
  let fresh = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "devsim-embedded-template-"));
    templateDir = join(root, "cache", "pgdata-pglite-template");
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const start = (dataDir = join(root, `pgdata-${++fresh}`)) =>
    startEmbeddedPostgres({ dataDir, templateDir });

  /** The template is saved after the server is already starting: wait for it. */
  const templateSaved = async () => {
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(templateDir, TEMPLATE_MANIFEST))) {
      if (Date.now() > deadline) throw new Error("no template was saved");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(templateIsUsable(templateDir, installedPgliteVersion())).toBe(true);
  };

  const answers = async (server: EmbeddedPostgres) => {
    const sql = connectDatabase(server.url, { max: 1 });
    try {
      return (await sql`select 41 + 1 as n`)[0]?.n;
    } finally {
      await sql.end({ timeout: 5 });
    }
  };

  /** Starts a server that must run initdb and answer, stops it, and waits for the template it saves. */
  const initdbSavesTemplate = async (dataDir?: string) => {
    const server = await start(dataDir);
    expect(server.dataDirSource).toBe("initdb");
    expect(await answers(server)).toBe(42);
    await server.close();
    await templateSaved();
  };

  const rewriteManifest = async (change: (manifest: Record<string, unknown>) => void) => {
    const path = join(templateDir, TEMPLATE_MANIFEST);
    const manifest = JSON.parse(await readFile(path, "utf8"));
    change(manifest);
    await writeFile(path, JSON.stringify(manifest));
  };

  it("makes the template on a first start, then gives fresh data directories of their own from it", async () => {
    await rm(templateDir, { recursive: true, force: true });
    await initdbSavesTemplate();

    const dataDir = join(root, "copied");
    const copied = await start(dataDir);
    expect(copied.dataDirSource).toBe("template");
    const sql = connectDatabase(copied.url, { max: 2 });
    await sql`create table embedded_template_kept (n integer)`;
    await sql`insert into embedded_template_kept values (7)`;
    await sql.end({ timeout: 5 });
    await copied.close();
    expect(await readFile(join(dataDir, "PG_VERSION"), "utf8")).toMatch(/^\d+\n$/);

    // A real data directory: it keeps its data across restarts, and the template stays pristine.
    const again = await start(dataDir);
    expect(again.dataDirSource).toBe("existing");
    const reopened = connectDatabase(again.url, { max: 1 });
    expect((await reopened`select n from embedded_template_kept`).map((row) => row.n)).toEqual([7]);
    await reopened.end({ timeout: 5 });
    await again.close();

    const another = await start();
    expect(another.dataDirSource).toBe("template");
    const other = connectDatabase(another.url, { max: 1 });
    expect((await other`select to_regclass('embedded_template_kept') as t`)[0]?.t).toBeNull();
    await other.end({ timeout: 5 });
    await another.close();
  }, 90_000);

  it("falls back to initdb with a damaged template, and makes a good one again", async () => {
    await makeTemplate(templateDir); // the last test's, or a new one
    await writeFile(join(templateDir, "PG_VERSION"), "99\n"); // same size, other bytes
    await initdbSavesTemplate();
  }, 90_000);

  it("falls back to initdb with another PGlite version's template", async () => {
    await makeTemplate(templateDir); // the last test's, or a new one
    await rewriteManifest((manifest) => {
      manifest.pglite = "0.0.1";
    });
    await initdbSavesTemplate();
  }, 90_000);

  it("falls back to initdb with a template that checks out but does not open", async () => {
    await makeTemplate(templateDir); // the last test's, or a new one
    // Damage pg_control and vouch for the damage in the manifest: only opening it finds out.
    const control = join(templateDir, "global", "pg_control");
    const bytes = await readFile(control);
    bytes.fill(0x55, 16, 64);
    await writeFile(control, bytes);
    await rewriteManifest((manifest) => {
      const files = manifest.files as { path: string; sha256: string }[];
      const entry = files.find((file) => file.path === "global/pg_control");
      if (!entry) throw new Error("no pg_control in the template");
      entry.sha256 = createHash("sha256").update(bytes).digest("hex");
    });
    expect(templateIsUsable(templateDir, installedPgliteVersion())).toBe(true);

    await initdbSavesTemplate(join(root, "unopenable"));
    expect((await readdir(root)).filter((name) => name.startsWith("unopenable")).sort()).toEqual([
      "unopenable",
    ]);
  }, 90_000);

  it("runs initdb and saves nothing without a template directory", async () => {
    const server = await startEmbeddedPostgres({ dataDir: join(root, "untemplated"), templateDir: null });
    expect(server.dataDirSource).toBe("initdb");
    await server.close();
    expect(await readdir(join(root, "cache"))).toEqual(["pgdata-pglite-template"]);
  }, 90_000);
});
