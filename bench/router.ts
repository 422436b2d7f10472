import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { nginxVersion, startNginx } from "./router/nginx.ts";
import {
  cpuSeconds,
  onStop,
  type Resident,
  resident,
  startNode,
  stopAllAndWait,
  waitUntilServing,
} from "./router/processes.ts";
import { type WrkResult, wrk, wrkVersion } from "./router/wrk.ts";

// Our router against direct requests to a backend and against nginx with the same two weighted
// upstreams, all driven by wrk with the same threads, connections and duration, on loopback; the
// web front end (for edge runtimes) on the global fetch is a second baseline. Two phases:
//
// 1. Throughput: every connection sends as fast as answers come (req/s; the latencies there are
//    mostly queueing, by Little's law connections / req/s).
// 2. Latency at a set load, by default a third of nginx's throughput: each connection waits between
//    requests (a wrk Lua delay, trimmed by the path's own answer time as its warm-up measured it),
//    so every path sees about the same request rate; p50/p99 there, and
//    what each adds to direct requests. Each path is warmed up at that rate first, so that neither
//    its compiler nor its first burst of new connections is what the tail measures. A tail moves
//    with whatever else the machine does for a moment, so this phase runs in rounds, every path
//    once per round, and reports the median of each figure over the rounds beside the spread.
//
// Targets for the router's Node front end (`nodeRouter`, as `devsim up` serves it): at least a third of nginx's throughput on the same
// cores, p99 under 5 ms at that load, the router process under 150 MB resident (its peak).
//
// Routers run as deployed code runs: bundled by esbuild into one file, as SST bundles functions,
// rather than through Node's type stripping, whose compiler alone holds about 40 MB.
//
// A bare proxy on the same transport (node:http in, undici out, a weighted pick and nothing else;
// bench/router/bare-proxy.ts) is the floor: what the router costs beyond it is its own logic. The
// CPU each path's process spends per request (from /proc) sets them side by side; for `direct`
// it is the backend's own, a bare node:http server.
//
// The Node front end runs twice: with Node's defaults, as `devsim up` runs, and with the node flags
// of --router-node-flags (by default a young generation capped at 8 MB per semi-space; Node 24
// otherwise grows it to 64 MB under load, which is most of the router's resident memory).
//
//   node_modules/.bin/node bench/router.ts [--seconds 10] [--warmup 3] [--connections 32]
//     [--threads 1] [--rate <req/s>] [--paced-connections 100] [--rounds 3] [--table kv|static]
//     [--router-node-flags "--max-semi-space-size=8"]   ("" for no second run)
//
// Needs wrk and nginx (Debian: apt-get install -y wrk nginx); nothing else in the project does.

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: "1" },
    rate: { type: "string" },
    "paced-connections": { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    table: { type: "string", default: "kv" },
    "router-node-flags": { type: "string", default: "--max-semi-space-size=8" },
  },
});

const integer = (name: string, value: string, min: number, max: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer in ${min}..${max}`);
  return n;
};
const SECONDS = integer("seconds", flags.seconds, 1, 120);
const WARMUP = integer("warmup", flags.warmup, 0, 60);
const CONNECTIONS = integer("connections", flags.connections, 1, 1000);
const THREADS = integer("threads", flags.threads, 1, 16);
const PACED_CONNECTIONS = integer("paced-connections", flags["paced-connections"], 1, 1000);
const ROUNDS = integer("rounds", flags.rounds, 1, 20);
const RATE = flags.rate === undefined ? undefined : integer("rate", flags.rate, 1, 1_000_000);
const TABLE = flags.table;
if (TABLE !== "kv" && TABLE !== "static") throw new Error("--table must be kv or static");
const ROUTER_NODE_FLAGS = flags["router-node-flags"].split(/\s+/).filter(Boolean);

const WORKLOAD = "bench";
const BARE = "bare proxy, node:http + undici";
const PREFIX = `/w/${WORKLOAD}/`;
const WEIGHTS = [80, 20];

const progress = (line: string): void => {
  process.stderr.write(`· ${line}\n`);
};

// ---- the paths under test ----

interface Path {
  readonly name: string;
  readonly url: string;
  /** The process whose memory is reported, if it is ours. */
  readonly pid?: number | undefined;
  /** The process (with its children) whose CPU time per request is reported. */
  readonly cpuPid?: number | undefined;
}

interface Run {
  readonly wrk: WrkResult;
  /** CPU microseconds the path's process spent per request answered, if it could be read. */
  readonly cpuUsPerRequest: number | undefined;
}

interface Measured extends Path {
  saturated?: Run;
  /** The median of the paced rounds. */
  paced?: Run;
  readonly rounds: Run[];
  memory?: Resident | null;
}

const scratch = mkdtempSync(join(tmpdir(), "devsim-bench-router-"));
// nginx's workers drop root and must still reach their temp paths inside.
chmodSync(scratch, 0o755);
onStop(() => rmSync(scratch, { recursive: true, force: true }));

const load = (url: string, seconds: number, delayMs?: number): Promise<WrkResult> =>
  wrk(url, {
    threads: THREADS,
    connections: delayMs === undefined ? CONNECTIONS : PACED_CONNECTIONS,
    seconds,
    scratchDir: scratch,
    ...(delayMs === undefined ? {} : { delayMs }),
  });

/** Sends 200 requests one by one and tells how they spread over the backends, to check the weights. */
const spread = async (url: string): Promise<string> => {
  const seen = new Map<string, number>();
  const n = 200;
  for (let i = 0; i < n; i++) {
    const response = await fetch(url);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    const by = response.headers.get("x-devsim-backend") ?? "?";
    seen.set(by, (seen.get(by) ?? 0) + 1);
  }
  return [...seen.values()]
    .sort((a, b) => b - a)
    .map((count) => `${Math.round((100 * count) / n)}%`)
    .join(" / ");
};

/** One wrk run, with the CPU time the path's process spent on it. */
const measure = async (path: Path, seconds: number, delayMs?: number): Promise<Run> => {
  const before = cpuSeconds(path.cpuPid);
  const result = await load(path.url, seconds, delayMs);
  const after = cpuSeconds(path.cpuPid);
  const requests = result.requestsPerSecond * seconds;
  return {
    wrk: result,
    cpuUsPerRequest:
      before === null || after === null || !(requests > 0) ? undefined : ((after - before) * 1e6) / requests,
  };
};

const describe = ({ wrk: r, cpuUsPerRequest }: Run): string =>
  `${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms` +
  (cpuUsPerRequest === undefined ? "" : `, ${Math.round(cpuUsPerRequest)} µs CPU a request`) +
  (r.errors > 0 ? `, ${r.errors} errors` : "");

const saturate = async (path: Measured): Promise<void> => {
  if (WARMUP > 0) {
    progress(`${path.name}: warming up for ${WARMUP} s`);
    await load(path.url, WARMUP);
  }
  progress(`${path.name}: as fast as it answers, ${SECONDS} s`);
  path.saturated = await measure(path, SECONDS);
  progress(`${path.name}: ${describe(path.saturated)}`);
};

/**
 * At a set rate, after a warm-up at that rate: a new set of connections is not what is measured.
 * Each connection's cycle is its wait plus the path's own answer time, so the wait is trimmed by
 * what the warm-up showed that time to be, and every path sees about the set rate.
 */
const pace = async (path: Measured, pacedRate: number, round: number): Promise<void> => {
  const name = `${path.name} (round ${round} of ${ROUNDS})`;
  const cycleMs = (PACED_CONNECTIONS * 1000) / pacedRate;
  let delayMs = cycleMs;
  if (WARMUP > 0) {
    progress(`${name}: warming up at about ${Math.round(pacedRate)} req/s for ${WARMUP} s`);
    const warm = await load(path.url, WARMUP, delayMs);
    // A path that cannot keep up gets no wait at all: it then runs as fast as it answers.
    if (warm.requestsPerSecond > 0) {
      const answerMs = (PACED_CONNECTIONS * 1000) / warm.requestsPerSecond - delayMs;
      if (answerMs > 0) delayMs = Math.max(0, cycleMs - answerMs);
    }
  }
  progress(
    `${name}: at about ${Math.round(pacedRate)} req/s (waits of ${delayMs.toFixed(2)} ms), ${SECONDS} s`,
  );
  const run = await measure(path, SECONDS, delayMs);
  path.rounds.push(run);
  progress(`${name}: ${describe(run)}`);
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Each figure the median over the rounds (so not always one round's own), errors summed. */
const medianRun = (runs: readonly Run[]): Run => {
  const cpu = runs.flatMap((r) => (r.cpuUsPerRequest === undefined ? [] : [r.cpuUsPerRequest]));
  return {
    wrk: {
      requestsPerSecond: median(runs.map((r) => r.wrk.requestsPerSecond)),
      p50Ms: median(runs.map((r) => r.wrk.p50Ms)),
      p99Ms: median(runs.map((r) => r.wrk.p99Ms)),
      errors: runs.reduce((sum, r) => sum + r.wrk.errors, 0),
    },
    cpuUsPerRequest: cpu.length === runs.length ? median(cpu) : undefined,
  };
};

// ---- report ----

const fmt = (n: number | undefined, digits = 2): string =>
  n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(digits);

const table = (header: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => `-${"-".repeat(w)}${i === 0 ? "-" : ":"}`).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
};

const report = (paths: readonly Measured[], pacedRate: number | undefined) => {
  const direct = paths.find((p) => p.name === "direct");
  const nginx = paths.find((p) => p.name === "nginx");
  const bare = paths.find((p) => p.name === BARE);
  const memory = (p: Measured) => (p.memory ? `${fmt(p.memory.nowMb, 0)} (${fmt(p.memory.peakMb, 0)})` : "");
  const out: string[] = [];
  out.push(
    `Throughput: wrk -t${THREADS} -c${CONNECTIONS}, ${SECONDS} s each, every connection sending as fast as answers come.`,
    "CPU µs/req: CPU time of the path's own process per request (for direct, the backend's).",
    "",
    table(
      ["path", "req/s", "× nginx", "p50 ms", "p99 ms", "CPU µs/req", "RSS MB (peak)", "errors"],
      paths.map((p) => [
        p.name,
        fmt(p.saturated?.wrk.requestsPerSecond, 0),
        nginx?.saturated
          ? fmt((p.saturated?.wrk.requestsPerSecond ?? 0) / nginx.saturated.wrk.requestsPerSecond)
          : "–",
        fmt(p.saturated?.wrk.p50Ms),
        fmt(p.saturated?.wrk.p99Ms),
        fmt(p.saturated?.cpuUsPerRequest, 0),
        memory(p),
        String(p.saturated?.wrk.errors ?? "–"),
      ]),
    ),
  );
  const added = (p: Measured, pick: (r: WrkResult) => number) =>
    p === direct || !p.paced || !direct?.paced ? "" : fmt(pick(p.paced.wrk) - pick(direct.paced.wrk));
  if (pacedRate !== undefined) {
    out.push(
      "",
      `Latency at about ${Math.round(pacedRate)} req/s: wrk -t${THREADS} -c${PACED_CONNECTIONS}, each connection ` +
        `waiting between requests for ${fmt((PACED_CONNECTIONS * 1000) / pacedRate)} ms less the path's own ` +
        "answer time in its warm-up, so that every path that can keep up sees about that rate.",
      `${ROUNDS} round${ROUNDS === 1 ? "" : "s"}, every path once in each; each figure is the median over the rounds, ` +
        "errors are summed, and the last column has every round's p99.",
      "",
      table(
        [
          "path",
          "req/s",
          "p50 ms",
          "p99 ms",
          "added p50",
          "added p99",
          "CPU µs/req",
          "errors",
          "p99 ms by round",
        ],
        paths.map((p) => [
          p.name,
          fmt(p.paced?.wrk.requestsPerSecond, 0),
          fmt(p.paced?.wrk.p50Ms),
          fmt(p.paced?.wrk.p99Ms),
          added(p, (r) => r.p50Ms),
          added(p, (r) => r.p99Ms),
          fmt(p.paced?.cpuUsPerRequest, 0),
          String(p.paced?.wrk.errors ?? "–"),
          p.rounds.map((r) => fmt(r.wrk.p99Ms)).join(" "),
        ]),
      ),
    );
  }
  const verdict = (ok: boolean | undefined) => (ok === undefined ? "n/a " : ok ? "PASS" : "FAIL");
  const theirs = nginx?.saturated?.wrk.requestsPerSecond;
  for (const router of paths.filter((p) => p.name.startsWith("router, node"))) {
    const ours = router.saturated?.wrk.requestsPerSecond;
    out.push(
      "",
      `${router.name}:`,
      `${verdict(ours !== undefined && theirs !== undefined ? ours >= theirs / 3 : undefined)}  throughput at least a third of nginx's`,
      `${verdict(router.paced ? router.paced.wrk.p99Ms < 5 : undefined)}  p99 under 5 ms at that load ` +
        `(median of the rounds: ${fmt(router.paced?.wrk.p99Ms)} ms, of which ${added(router, (r) => r.p99Ms) || "–"} ms beyond direct requests)`,
      `${verdict(router.memory ? router.memory.peakMb < 150 : undefined)}  under 150 MB resident at its peak`,
      `${verdict((router.saturated?.wrk.errors ?? 0) + (router.paced?.wrk.errors ?? 0) === 0)}  no errors`,
    );
    const ownCost = (run: "saturated" | "paced"): string => {
      const mine = router[run]?.cpuUsPerRequest;
      const floor = bare?.[run]?.cpuUsPerRequest;
      return mine === undefined || floor === undefined ? "–" : `${fmt((100 * (mine - floor)) / floor, 0)} %`;
    };
    out.push(
      `      its CPU per request beyond the bare proxy's: ${ownCost("saturated")} at full load, ${ownCost("paced")} at the set rate`,
    );
  }
  process.stdout.write(`\n${out.join("\n")}\n`);
};

// ---- the run ----

const main = async (): Promise<void> => {
  const wrkLine = wrkVersion();
  if (wrkLine === null) {
    throw new Error(
      "wrk is not installed, and every measurement uses it. Install it: apt-get install -y wrk",
    );
  }
  const nginxLine = nginxVersion();
  if (nginxLine === null) {
    progress(
      "nginx is not installed: no nginx baseline and no ratio to it. Install it: apt-get install -y nginx",
    );
  }
  progress(
    `${availableParallelism()} cores, Node ${process.version}, ${wrkLine}, ${nginxLine ?? "no nginx"}`,
  );
  progress(`router: ${TABLE === "kv" ? "in-memory KV" : "static"} routing table`);
  // Other work on the machine moves every figure; the load average tells whether there was any.
  progress(`load average before: ${loadavg()[0]?.toFixed(2)}`);

  progress("starting two backends");
  const here = import.meta.dirname;
  const backends = await Promise.all(
    ["a", "b"].map((name) => startNode(join(here, "router/backend.ts"), [name])),
  );
  const upstreams = backends.map((b, i) => ({ url: b.url, weight: WEIGHTS[i] ?? 1 }));

  const paths: Measured[] = [
    { name: "direct", url: `${upstreams[0]?.url}/`, cpuPid: backends[0]?.child.pid, rounds: [] },
  ];
  if (nginxLine !== null) {
    progress("starting nginx: one worker, weighted upstreams with keepalive");
    const nginx = await startNginx(scratch, PREFIX, upstreams);
    progress(`nginx spreads requests ${await spread(nginx.url)}`);
    // Its master process alone would understate it (the worker is another process), so no memory figure.
    paths.push({ name: "nginx", url: nginx.url, cpuPid: nginx.pid, rounds: [] });
  }
  progress("bundling the router server and the bare proxy");
  await build({
    entryPoints: [join(here, "router/server.ts"), join(here, "router/bare-proxy.ts")],
    outdir: scratch,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    logLevel: "warning",
    // CommonJS dependencies inside an ES module bundle still call require.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  const routers: { transport: "node" | "fetch"; name: string; nodeFlags: readonly string[] }[] = [
    { transport: "node", name: "router, node front end", nodeFlags: [] },
    ...(ROUTER_NODE_FLAGS.length > 0
      ? [
          {
            transport: "node" as const,
            name: `router, node, ${ROUTER_NODE_FLAGS.join(" ")}`,
            nodeFlags: ROUTER_NODE_FLAGS,
          },
        ]
      : []),
    { transport: "fetch", name: "router, web front end on fetch", nodeFlags: [] },
  ];
  progress(`starting the ${BARE}`);
  const bare = await startNode(join(scratch, "bare-proxy.mjs"), [
    PREFIX,
    ...upstreams.map((u) => `${u.url}=${u.weight}`),
  ]);
  const bareUrl = `${bare.url}${PREFIX}`;
  await waitUntilServing(bareUrl);
  progress(`${BARE} spreads requests ${await spread(bareUrl)}`);
  paths.push({ name: BARE, url: bareUrl, pid: bare.child.pid, cpuPid: bare.child.pid, rounds: [] });
  for (const { transport, name, nodeFlags } of routers) {
    progress(`starting the ${name}`);
    const targets = upstreams.map((u) => `${u.url}=${u.weight}`);
    const router = await startNode(
      join(scratch, "server.mjs"),
      [transport, TABLE, WORKLOAD, ...targets],
      nodeFlags,
    );
    const url = `${router.url}${PREFIX}`;
    await waitUntilServing(url);
    progress(`${name} spreads requests ${await spread(url)}`);
    paths.push({ name, url, pid: router.child.pid, cpuPid: router.child.pid, rounds: [] });
  }

  for (const path of paths) await saturate(path);

  const nginx = paths.find((p) => p.name === "nginx")?.saturated;
  const pacedRate = RATE ?? (nginx ? nginx.wrk.requestsPerSecond / 3 : undefined);
  if (pacedRate === undefined) {
    progress("no nginx and no --rate: skipping the latency-at-a-set-load phase");
  } else {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const path of paths) await pace(path, pacedRate, round);
    }
    for (const path of paths) path.paced = medianRun(path.rounds);
  }
  for (const path of paths) path.memory = resident(path.pid);
  report(paths, pacedRate);
  process.stdout.write(
    `\nLoad average (1 min) at the end: ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} cores.\n`,
  );
};

try {
  await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await stopAllAndWait();
}
