/**
 * Backup and restore of a control-plane database holding 10,000 and 100,000 rollout events, on
 * real Postgres, printed beside pg_dump (custom format, compressed) and pg_restore of the same
 * database in the same run; without pg_dump on the PATH, beside a plain SELECT of every row.
 * Then, to show that memory does not grow with the data, each backup again in a child process
 * whose V8 heap is capped below the size of the archive's text.
 *
 *   node_modules/.bin/node bench/backup.ts [events…]
 *
 * Needs Postgres on 127.0.0.1:5432 (TEST_DATABASE_ADMIN_URL).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackup, folderSink, restoreBackup } from "#backup";
import { migrate, type Sql } from "#store";
import { fillControlPlane } from "../test/backup/fill.ts";
import { createTestDatabase } from "../test/support/database.ts";

const HEAP_CHECK = "--heap-check";
const HEAP_LIMIT_MB = 48;
const heapCheck = process.argv[2] === HEAP_CHECK;
const args = heapCheck ? process.argv.slice(3) : process.argv.slice(2);
const sizes = args.length > 0 ? args.map(Number) : [10_000, 100_000];
const WORKLOADS = 100;

const hasPgDump = (() => {
  try {
    execFileSync("pg_dump", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const timed = async <T>(run: () => Promise<T> | T): Promise<{ value: T; seconds: number }> => {
  const started = performance.now();
  const value = await run();
  return { value, seconds: (performance.now() - started) / 1000 };
};

/** The most V8 heap in use while `run` runs, sampled every 5 ms. */
const peakHeap = async <T>(run: () => Promise<T>): Promise<{ value: T; peakMb: number }> => {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 5);
  try {
    const value = await run();
    return { value, peakMb: Math.max(peak, process.memoryUsage().heapUsed) / 1024 ** 2 };
  } finally {
    clearInterval(timer);
  }
};

/** The baseline reader when pg_dump is missing: every row of every table, read in one go. */
const selectAll = async (sql: Sql): Promise<number> => {
  const tables = await sql<
    { name: string }[]
  >`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`;
  let rows = 0;
  for (const { name } of tables) rows += (await sql.unsafe(`SELECT * FROM public.${name}`)).length;
  return rows;
};

const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(2);

interface Row {
  readonly events: number;
  readonly rows: number;
  readonly dumpS: number;
  readonly bytes: number;
  readonly restoreS: number;
  readonly baseDumpS: number;
  readonly baseBytes: number | null;
  readonly baseRestoreS: number | null;
}

const measure = async (events: number, work: string): Promise<Row> => {
  const source = await createTestDatabase();
  const ours = await createTestDatabase();
  const theirs = await createTestDatabase();
  try {
    await migrate(source.sql);
    await fillControlPlane(source.sql, { workloads: WORKLOADS, eventsPerWorkload: events / WORKLOADS });
    await source.sql`VACUUM ANALYZE`;
    const sink = folderSink(join(work, `ours-${events}`));

    const dump = await timed(() => createBackup({ sql: source.sql, sink }));
    const manifest = dump.value;
    const restore = await timed(() => restoreBackup({ sink, id: manifest.id, targetUrl: ours.url }));

    let baseDumpS: number;
    let baseBytes: number | null = null;
    let baseRestoreS: number | null = null;
    if (hasPgDump) {
      const file = join(work, `pg_dump-${events}.dump`);
      baseDumpS = (await timed(() => execFileSync("pg_dump", ["-Fc", "-f", file, source.url]))).seconds;
      baseBytes = (await stat(file)).size;
      baseRestoreS = (await timed(() => execFileSync("pg_restore", ["--no-owner", "-d", theirs.url, file])))
        .seconds;
    } else {
      baseDumpS = (await timed(() => selectAll(source.sql))).seconds;
    }
    return {
      events,
      rows: manifest.totalRows,
      dumpS: dump.seconds,
      bytes: manifest.archive.bytes,
      restoreS: restore.seconds,
      baseDumpS,
      baseBytes,
      baseRestoreS,
    };
  } finally {
    await theirs.drop();
    await ours.drop();
    await source.drop();
  }
};

/** Child mode: one backup under a capped heap; prints its peak heap and the archive's text size. */
const checkHeap = async (events: number): Promise<void> => {
  const source = await createTestDatabase();
  const work = await mkdtemp(join(tmpdir(), "devsim-bench-heap-"));
  try {
    await migrate(source.sql);
    await fillControlPlane(source.sql, { workloads: WORKLOADS, eventsPerWorkload: events / WORKLOADS });
    const { value, peakMb } = await peakHeap(() => createBackup({ sql: source.sql, sink: folderSink(work) }));
    process.stdout.write(
      `${JSON.stringify({ peakMb, textMb: value.archive.uncompressedBytes / 1024 ** 2 })}\n`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
    await source.drop();
  }
};

const heapUnderLimit = (events: number): { peakMb: number; textMb: number } => {
  const out = execFileSync(
    process.execPath,
    [`--max-old-space-size=${HEAP_LIMIT_MB}`, import.meta.filename, HEAP_CHECK, String(events)],
    { encoding: "utf8" },
  );
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
};

const main = async () => {
  const baseline = hasPgDump ? "pg_dump -Fc / pg_restore" : "SELECT of every row (pg_dump not installed)";
  process.stdout.write(`backup benchmark: ${sizes.join(", ")} rollout events; baseline: ${baseline}\n`);
  const work = await mkdtemp(join(tmpdir(), "devsim-bench-backup-"));
  const rows: Row[] = [];
  try {
    for (const events of sizes) {
      process.stdout.write(`${events} events ...\n`);
      rows.push(await measure(events, work));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const cell = (v: number | null, digits = 2) => (v === null ? "n/a" : v.toFixed(digits));
  process.stdout.write(
    [
      "",
      `| events | rows | devsim backup s | devsim MB (gzip) | ${hasPgDump ? "pg_dump -Fc s | pg_dump MB" : "SELECT all s | -"} | devsim restore s (incl. verify) | ${hasPgDump ? "pg_restore s" : "-"} |`,
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map(
        (r) =>
          `| ${r.events} | ${r.rows} | ${cell(r.dumpS)} | ${mb(r.bytes)} | ${cell(r.baseDumpS)} | ${r.baseBytes === null ? "-" : mb(r.baseBytes)} | ${cell(r.restoreS)} | ${cell(r.baseRestoreS)} |`,
      ),
      "",
    ].join("\n"),
  );
  process.stdout.write(
    [
      `| events | archive text MB | peak heap MB of the backup, heap capped at ${HEAP_LIMIT_MB} MB |`,
      "| --- | --- | --- |",
      ...sizes.map((events) => {
        const { peakMb, textMb } = heapUnderLimit(events);
        return `| ${events} | ${textMb.toFixed(1)} | ${peakMb.toFixed(1)} |`;
      }),
      "",
    ].join("\n"),
  );
};

if (heapCheck) await checkHeap(sizes[0] ?? 0);
else await main();
