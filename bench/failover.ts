/**
 * Failover under load: a workload in all eight simulated regions serves steady traffic through the
 * router of an in-process `devsim up`; one region goes out. Measured:
 *
 * (a) the time until the router sends no new request to the dead region,
 * (b) the time until the weights are fully rebalanced (the dead target at 0, published),
 * (c) the user requests that failed,
 *
 * and, after the fault is cleared, how the region's share comes back. Beside them, what DNS failover
 * with Route 53's defaults would give on the same timeline, computed rather than measured: a health
 * check every 30 s (`RequestInterval`), unhealthy after 3 failures in a row (`FailureThreshold`), and
 * resolvers keeping the old answer for the record's TTL, 60 s here
 * (https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html).
 *
 *   node_modules/.bin/node bench/failover.ts [--rate 400] [--interval 1] [--runs 3]
 *
 * Needs Postgres on 127.0.0.1:5432 (TEST_DATABASE_ADMIN_URL), as the tests do.
 */
import { parseArgs } from "node:util";
import { parseUpOptions, up } from "#cli";
import { SIM_REGIONS, silentLogger } from "#core";
import { startTraffic } from "#sim";
import { createTestDatabase } from "../test/support/database.ts";
import { callJson } from "../test/support/json-api.ts";
import { routerAttempts } from "../test/support/router-metrics.ts";

const { values: flags } = parseArgs({
  options: {
    rate: { type: "string", default: "400" },
    interval: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
  },
});
const RATE = Number(flags.rate);
const INTERVAL_S = Number(flags.interval);
const RUNS = Number(flags.runs);
if (!(RATE > 0 && RATE <= 5_000)) throw new Error("--rate must be in (0, 5000]");
if (!(Number.isInteger(INTERVAL_S) && INTERVAL_S >= 1 && INTERVAL_S <= 30))
  throw new Error("--interval must be an integer number of seconds in 1..30");
if (!(Number.isInteger(RUNS) && RUNS >= 1 && RUNS <= 20))
  throw new Error("--runs must be an integer in 1..20");

const DEAD = { cloud: "aws", region: "us-east-1" } as const;
const TARGETS = Object.entries(SIM_REGIONS).flatMap(([cloud, regions]) =>
  regions.map((region) => ({ cloud, region, replicas: 2 })),
);
const SHARE = 100 / TARGETS.length;
const POLL_MS = 50;

const progress = (line: string): void => {
  process.stderr.write(`· ${line}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface HealthJson {
  targets: { cloud: string; region: string; status: string; weight: number }[];
}

const api = (base: string) => ({
  call: async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const { status, json } = await callJson<T>(base, method, path, body);
    if (status < 200 || status > 299) {
      throw new Error(`${method} ${path} answered ${status}: ${JSON.stringify(json)}`);
    }
    return json;
  },
  /** Attempts the router has sent to the dead region so far. */
  attempts: async (workload: string): Promise<number> =>
    routerAttempts(await (await fetch(`${base}/metrics`)).text(), { workload, ...DEAD }),
});

const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
};

interface RunResult {
  leftMs: number;
  rebalancedMs: number;
  failed: number;
  requests: number;
  rate: number;
  ladder: { atMs: number; weight: number }[];
}

const runOnce = async (run: number): Promise<RunResult> => {
  const db = await createTestDatabase();
  const options = parseUpOptions(
    ["--port", "0", "--router-port", "0", "--no-demo", "--database-url", db.url],
    {},
  );
  const devsim = await up(options, silentLogger);
  const { call, attempts } = api(devsim.apiUrl);
  const name = `failover-${run}`;
  try {
    const created = await call<{ rollout: { id: string } }>("POST", "/v1/workloads", {
      name,
      image: `registry.example.com/${name}:1`,
      port: 8080,
      healthCheck: {
        path: "/healthz",
        intervalSeconds: INTERVAL_S,
        timeoutSeconds: Math.min(0.5, INTERVAL_S / 2),
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
      failover: { recoverySteps: [25, 50, 100] },
      targets: TARGETS,
    });
    await until(
      "first rollout",
      async () =>
        (await call<{ status: string }>("GET", `/v1/rollouts/${created.rollout.id}`)).status === "succeeded",
      120_000,
    );
    await until(
      "every target healthy",
      async () =>
        (await call<HealthJson>("GET", `/v1/workloads/${name}/health`)).targets.every(
          (t) => t.status === "healthy",
        ),
      60_000,
    );

    const traffic = startTraffic({
      url: `${devsim.routerUrl}/w/${name}/`,
      ratePerSecond: RATE,
      concurrency: 256,
    });
    await sleep(3_000);
    const fault = await call<{ id: string }>("POST", "/v1/sim/faults", { type: "region-outage", ...DEAD });
    const outageAt = Date.now();
    progress(`run ${run}: ${DEAD.cloud}/${DEAD.region} out`);

    // (a): the last moment the dead region's attempt count moved, watched until it has been still for long.
    let lastCount = await attempts(name);
    let lastMoveAt = outageAt;
    let rebalancedAt: number | null = null;
    const watchUntil = outageAt + (4 * INTERVAL_S + 6) * 1000;
    while (Date.now() < watchUntil) {
      const count = await attempts(name);
      if (count !== lastCount) {
        lastCount = count;
        lastMoveAt = Date.now();
      }
      if (rebalancedAt === null) {
        const health = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
        const dead = health.targets.find((t) => t.cloud === DEAD.cloud && t.region === DEAD.region);
        const sum = health.targets.reduce((s, t) => s + t.weight, 0);
        if (dead?.weight === 0 && Math.abs(sum - 100) < 0.01) rebalancedAt = Date.now();
      }
      await sleep(POLL_MS);
    }
    if (rebalancedAt === null) throw new Error("the weights were not rebalanced while watched");

    await call("DELETE", `/v1/sim/faults/${fault.id}`);
    const clearedAt = Date.now();
    const ladder: { atMs: number; weight: number }[] = [];
    await until(
      "the region back at its full share",
      async () => {
        const health = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
        const back = health.targets.find((t) => t.cloud === DEAD.cloud && t.region === DEAD.region);
        const weight = back?.weight ?? 0;
        if (ladder.at(-1)?.weight !== weight) ladder.push({ atMs: Date.now() - clearedAt, weight });
        return Math.abs(weight - SHARE) < 0.01;
      },
      60_000,
    );
    const stats = await traffic.stop();
    const answered = Object.values(stats.byStatus).reduce((s, n) => s + n, 0);
    const ok = stats.byStatus["200"] ?? 0;
    const seconds = (Date.now() - outageAt + 3_000) / 1000;
    return {
      leftMs: lastMoveAt - outageAt,
      rebalancedMs: rebalancedAt - outageAt,
      failed: stats.failed + (answered - ok),
      requests: stats.sent,
      rate: stats.sent / seconds,
      ladder,
    };
  } finally {
    await devsim.stop();
    await db.drop();
  }
};

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const main = async (): Promise<void> => {
  progress(`${RUNS} runs, ${RATE} req/s through the router, health every ${INTERVAL_S} s, 8 regions`);
  const results: RunResult[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const result = await runOnce(run);
    progress(
      `run ${run}: left after ${result.leftMs} ms, rebalanced after ${result.rebalancedMs} ms, ` +
        `${result.failed} failed of ${result.requests}`,
    );
    results.push(result);
  }

  // Route 53's defaults on the same timeline: the first failing check comes 0–30 s after the outage
  // (15 s on average), two more 30 s apart mark the endpoint unhealthy, then resolvers hold the old
  // answer for up to the TTL (30 s on average).
  const r53 = { interval: 30, threshold: 3, ttl: 60 };
  const detectMean = r53.interval / 2 + (r53.threshold - 1) * r53.interval;
  const detectWorst = r53.threshold * r53.interval;
  const leaveMean = detectMean + r53.ttl / 2;
  const leaveWorst = detectWorst + r53.ttl;
  const rate = median(results.map((r) => r.rate));
  const lostMean = Math.round(rate * (1 / TARGETS.length) * leaveMean);
  const lostWorst = Math.round(rate * (1 / TARGETS.length) * leaveWorst);

  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows = [
    ["", "devsim (median of runs)", "runs", "DNS failover, Route 53 defaults (computed: mean / worst)"],
    [
      "(a) no new request to the dead region",
      s(median(results.map((r) => r.leftMs))),
      results.map((r) => s(r.leftMs)).join(", "),
      `${leaveMean} s / ${leaveWorst} s`,
    ],
    [
      "(b) weights fully rebalanced",
      s(median(results.map((r) => r.rebalancedMs))),
      results.map((r) => s(r.rebalancedMs)).join(", "),
      `${detectMean} s / ${detectWorst} s (record withdrawn)`,
    ],
    [
      "(c) failed user requests",
      String(median(results.map((r) => r.failed))),
      results.map((r) => `${r.failed}/${r.requests}`).join(", "),
      `${lostMean} / ${lostWorst} (at ${Math.round(rate)} req/s, 1/8 of it on the dead region)`,
    ],
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const out = [
    line(rows[0] ?? []),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
  ];
  const ladder = results[0]?.ladder.map((step) => `${s(step.atMs)}: ${step.weight.toFixed(2)} %`).join(" → ");
  process.stdout.write(
    `\nOutage of ${DEAD.cloud}/${DEAD.region} under ${Math.round(rate)} req/s; health every ${INTERVAL_S} s, ` +
      `unhealthy after 2 failures; eight regions, ${SHARE} % each.\n\n${out.join("\n")}\n\n` +
      `Return after the fault was cleared (run 1, the region's share of traffic): ${ladder}\n`,
  );
};

try {
  await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
