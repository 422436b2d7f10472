import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOUDS, SIM_REGIONS } from "#core";
import { type CommandDeps, createWorkload } from "#engine";
import { upstashStore } from "#kv";
import { type SimServer, startSimServer } from "#sim";
import { migrate } from "#store";
import { controlPlaneFor } from "../support/control-plane.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { eventually } from "../support/devsim-process.ts";
import { workloadInput } from "../support/fixtures.ts";
import { deleteKeys } from "../support/redis.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

const BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "bin.ts");
const ROLLOUTS = 200;

let db: TestDatabase;
let bridge: UpstashBridge;
let sim: SimServer;
let deps: CommandDeps;
const prefix = `test:reconcilers:${randomBytes(6).toString("hex")}:`;
const copies: ChildProcess[] = [];

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  bridge = await startUpstashBridge();
  sim = await startSimServer({ startupMs: 20 });
  const kv = upstashStore({ url: bridge.url, token: bridge.token, prefix });
  deps = controlPlaneFor({ sql: db.sql, simUrl: sim.url, kv });
});
afterAll(async () => {
  for (const child of copies) child.kill("SIGKILL");
  await Promise.all(copies.map(exited));
  await sim?.close();
  await bridge?.close();
  await db?.drop();
  await deleteKeys(prefix);
});

const startCopy = (): ChildProcess => {
  const child = spawn(process.execPath, [BIN, "reconcile", "--lease-ms", "2000"], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: "4",
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      DEVSIM_KV_PREFIX: prefix,
      DEVSIM_SIM_URL: sim.url,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  copies.push(child);
  return child;
};

const counts = async () => {
  const rows = await db.sql<
    { status: string; n: number }[]
  >`SELECT status, count(*)::int AS n FROM rollouts GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
};

describe("several reconciler processes sharing one Postgres", () => {
  it(`drive ${ROLLOUTS} concurrent rollouts to completion, none applied twice or lost, while one is killed`, async () => {
    const [a, b, c] = [startCopy(), startCopy(), startCopy()];
    const regions = CLOUDS.flatMap((cloud) => SIM_REGIONS[cloud].map((region) => ({ cloud, region })));
    for (let i = 0; i < ROLLOUTS; i++) {
      const at = regions[i % regions.length];
      if (!at) throw new Error("no region");
      await createWorkload(deps, workloadInput(`w${i}`, { targets: [{ ...at, replicas: 1 }] }));
    }
    await eventually(async () => ((await counts()).succeeded ?? 0) >= 20, 30_000, "work under way");
    b?.kill("SIGKILL");
    expect(await exited(b as ChildProcess)).toBeNull();

    const final = await eventually(
      async () => {
        const now = await counts();
        return now.succeeded === ROLLOUTS ? now : null;
      },
      90_000,
      "every rollout to succeed",
    );
    expect(final).toEqual({ succeeded: ROLLOUTS });

    // Every step of every rollout is recorded exactly once, in order.
    const applied = await db.sql<{ rollout_id: string; steps: number[]; planned: number }[]>`
      SELECT r.id AS rollout_id, jsonb_array_length(r.steps) AS planned,
             array_agg((e.data->>'step')::int ORDER BY e.id) AS steps
      FROM rollouts r JOIN events e ON e.rollout_id = r.id AND e.data ? 'step'
      GROUP BY r.id, r.steps`;
    expect(applied).toHaveLength(ROLLOUTS);
    for (const r of applied) expect(r.steps).toEqual(Array.from({ length: r.planned }, (_, i) => i));

    // Exactly one deployment per workload in the clouds: nothing deployed twice, nothing left behind.
    const deployments = sim.world.list();
    expect(deployments).toHaveLength(ROLLOUTS);
    expect(new Set(deployments.map((d) => d.workload)).size).toBe(ROLLOUTS);
    // And the routers' tables, in Redis, send every workload to its one backend.
    const table = await deps.routing.get("w7");
    expect(table?.backends).toHaveLength(1);

    for (const child of [a, c]) child?.kill("SIGTERM");
    expect(await Promise.all([exited(a as ChildProcess), exited(c as ChildProcess)])).toEqual([0, 0]);
  }, 150_000);
});
