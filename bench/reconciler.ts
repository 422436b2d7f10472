/**
 * Rollout steps per second with 1, 2 and 4 reconciler copies on one real Postgres, printed beside
 * pgbench's TPS on the same server in the same run. The copies run in this process against the
 * simulated clouds, each with its own connection pool, claiming work through Postgres exactly as
 * separate processes do.
 *
 *   node_modules/.bin/node bench/reconciler.ts [rollouts]
 *
 * Needs Postgres on 127.0.0.1:5432 (TEST_DATABASE_ADMIN_URL) and pgbench on the PATH.
 */
import { execFileSync } from "node:child_process";
import { createReconciler, createWorkload } from "#engine";
import { memoryStore } from "#kv";
import { startSimServer } from "#sim";
import { connectDatabase, migrate } from "#store";
import { controlPlaneFor } from "../test/support/control-plane.ts";
import { createTestDatabase } from "../test/support/database.ts";
import { workloadInput } from "../test/support/fixtures.ts";

const rollouts = Number(process.argv[2] ?? 100);
const copiesToTry = [1, 2, 4];

const pgbenchTps = (url: string): number => {
  execFileSync("pgbench", ["-i", "-s", "1", "-q", url], { stdio: "ignore" });
  const out = execFileSync("pgbench", ["-c", "4", "-j", "2", "-T", "10", "-n", url], { encoding: "utf8" });
  const tps = /tps = ([\d.]+)/.exec(out)?.[1];
  if (!tps) throw new Error(`pgbench printed no TPS:\n${out}`);
  return Number(tps);
};

const run = async (copies: number): Promise<{ steps: number; seconds: number }> => {
  const db = await createTestDatabase();
  const sim = await startSimServer({ startupMs: 0 });
  try {
    await migrate(db.sql);
    const deps = controlPlaneFor({ sql: db.sql, simUrl: sim.url, kv: memoryStore() });

    for (let i = 0; i < rollouts; i++) {
      await createWorkload(
        deps,
        workloadInput(`w${i}`, {
          targets: [
            { cloud: "aws", region: "us-east-1", replicas: 1 },
            { cloud: "gcp", region: "europe-west1", replicas: 1 },
          ],
        }),
      );
    }
    const pools = Array.from({ length: copies }, () => connectDatabase(db.url, { max: 4 }));
    const reconcilers = pools.map((sql) =>
      createReconciler({ ...deps, sql }, { drainMs: 0, healIntervalMs: 60_000 }),
    );
    const started = performance.now();
    for (;;) {
      await Promise.all(reconcilers.map((r) => r.reconcileOnce()));
      const [row] = await db.sql<
        { left: number }[]
      >`SELECT count(*)::int AS left FROM rollouts WHERE status = 'progressing'`;
      if (row?.left === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const [steps] = await db.sql<
      { n: number }[]
    >`SELECT sum(jsonb_array_length(steps))::int AS n FROM rollouts`;
    await Promise.all(pools.map((p) => p.end()));
    return { steps: steps?.n ?? 0, seconds };
  } finally {
    await sim.close();
    await db.drop();
  }
};

const main = async () => {
  process.stdout.write(`reconciler benchmark: ${rollouts} rollouts of 2 targets each\n`);
  const scratch = await createTestDatabase();
  let tps: number;
  try {
    process.stdout.write("pgbench (TPC-B-like, 4 clients, 10 s) ...\n");
    tps = pgbenchTps(scratch.url);
  } finally {
    await scratch.drop();
  }
  const rows: string[] = [];
  for (const copies of copiesToTry) {
    process.stdout.write(`${copies} cop${copies === 1 ? "y" : "ies"} ...\n`);
    const { steps, seconds } = await run(copies);
    const perSecond = steps / seconds;
    rows.push(
      `| ${copies} | ${steps} | ${seconds.toFixed(2)} | ${perSecond.toFixed(0)} | ${tps.toFixed(0)} | ${(perSecond / tps).toFixed(3)} |`,
    );
  }
  process.stdout.write(
    [
      "",
      "| copies | steps | seconds | steps/s | pgbench TPS | steps per pgbench transaction |",
      "| --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
    ].join("\n"),
  );
};

await main();
