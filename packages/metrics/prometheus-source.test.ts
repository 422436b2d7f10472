import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { DevsimError, type OutcomeQuery } from "#core";
import { LATENCY_BUCKET_BOUNDS_MS, OutcomeCounters, renderOutcomeMetrics } from "#router";
import { prometheusMetricSource } from "./prometheus-source.ts";

const APT_HINT = "apt-get install -y --no-install-recommends prometheus";

/** The `prometheus` binary on the PATH (Debian puts it in /usr/bin); missing, the tests fail, never skip. */
const prometheusBinary = (): string => {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, "prometheus");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(`no 'prometheus' binary on the PATH: install Debian's package (${APT_HINT})`);
};

const freePort = async (): Promise<number> => {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const close = (server: Server | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (!server) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RunningPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** A real Prometheus scraping `target` every second, its storage in a temp dir removed on stop. */
const startPrometheus = async (target: string): Promise<RunningPrometheus> => {
  const binary = prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), "devsim-prometheus-"));
  let child: ChildProcess | undefined;
  let output = "";
  // A worker that exits without running afterAll must not leave Prometheus behind.
  const killOnExit = () => child?.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async (): Promise<void> => {
    process.off("exit", killOnExit);
    const running = child;
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGTERM");
      const timer = setTimeout(() => running.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await writeFile(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: devsim-router",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    );
    // Another process may take the port between our probe and Prometheus' bind: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      output = "";
      const started = spawn(
        binary,
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--log.level=warn",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child = started;
      started.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      started.stderr?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      while (started.exitCode === null && Date.now() < deadline) {
        const ready = await fetch(`${url}/-/ready`).then(
          (response) => response.ok,
          () => false,
        );
        if (ready) return { url, stop };
        await sleep(100);
      }
      if (started.exitCode === null) throw new Error(`Prometheus was not ready within 30 s:\n${output}`);
      if (attempt === 3) throw new Error(`Prometheus exited with ${started.exitCode}:\n${output}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
};

const Matrix = z.object({
  status: z.literal("success"),
  data: z.object({
    resultType: z.literal("matrix"),
    result: z.array(z.object({ values: z.array(z.tuple([z.number(), z.string()])) })),
  }),
});

const aws = { workload: "shop", cloud: "aws" as const, region: "us-east-1", revision: 2 };
const gcp = { workload: "shop", cloud: "gcp" as const, region: "europe-west1", revision: 2 };
const stable = { ...aws, revision: 1 };
const awsLabels = 'workload="shop",cloud="aws",region="us-east-1",revision="2"';

/** Default bounds: 5 10 25 50 100 250 500 1000 2500 5000 ms, then +Inf (index 10). */
const buckets = (entries: Record<number, number>): number[] =>
  Array.from({ length: LATENCY_BUCKET_BOUNDS_MS.length + 1 }, (_, i) => entries[i] ?? 0);

let counters = new OutcomeCounters();
let scrapeTarget: Server | undefined;
let prometheus: RunningPrometheus | undefined;

beforeAll(async () => {
  scrapeTarget = createServer((request, response) => {
    if (request.url !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    response.end(renderOutcomeMetrics(counters.snapshot()));
  });
  prometheus = await startPrometheus(await listen(scrapeTarget));
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await close(scrapeTarget);
});

const running = (): RunningPrometheus => {
  if (!prometheus) throw new Error("Prometheus did not start");
  return prometheus;
};

/** Prometheus' raw samples of `series` over the last two minutes, as [ms, value]. */
const samplesOf = async (series: string): Promise<[number, number][]> => {
  const response = await fetch(`${running().url}/api/v1/query`, {
    method: "POST",
    body: new URLSearchParams({ query: `${series}[2m]` }),
  });
  return Matrix.parse(await response.json())
    .data.result.flatMap((r) => r.values)
    .map(([t, v]) => [Math.round(t * 1000), Number(v)]);
};

/**
 * Waits until Prometheus has scraped a sample of `series` equal to `value` later than `after`, and
 * returns the time of the first such scrape, read from Prometheus' samples rather than guessed.
 */
const scrapedAt = async (series: string, value: number, after = 0): Promise<number> => {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const samples = await samplesOf(series);
    const hit = samples.find(([t, v]) => t > after && v === value);
    if (hit) return hit[0];
    if (Date.now() > deadline) {
      throw new Error(`Prometheus never scraped ${series} = ${value}: ${JSON.stringify(samples)}`);
    }
    await sleep(200);
  }
};

const query = (since: number, until: number, extra: Partial<OutcomeQuery> = {}): OutcomeQuery => ({
  workload: "shop",
  revision: 2,
  since,
  until,
  ...extra,
});

describe("prometheusMetricSource against a real Prometheus", () => {
  // Tests run in order and share one Prometheus: each records on top of what came before.
  let start = 0;
  let firstScrape = 0;
  let secondScrape = 0;

  it("answers exactly what was recorded, summed across targets or for the ones asked", async () => {
    start = Date.now() - 1_000;
    counters.record(aws, 200, 3);
    counters.record(aws, 500, 40);
    counters.record(aws, 200, 700);
    counters.record(gcp, 502, 30);
    counters.record(gcp, 200, 6_000);
    for (let i = 0; i < 4; i++) counters.record(stable, 200, 1);
    firstScrape = await scrapedAt(`devsim_router_requests_total{${awsLabels}}`, 3);

    counters.record(aws, 503, 8);
    counters.record(aws, 200, 8);
    secondScrape = await scrapedAt(`devsim_router_requests_total{${awsLabels}}`, 5);

    const source = prometheusMetricSource({ baseUrl: running().url, timeoutMs: 5_000 });
    expect(await source.outcomes(query(start, secondScrape))).toEqual({
      requests: 7,
      serverErrors: 3,
      bucketBoundsMs: LATENCY_BUCKET_BOUNDS_MS,
      latencyBuckets: buckets({ 0: 1, 1: 2, 3: 2, 7: 1, 10: 1 }),
    });
    expect(
      await source.outcomes(
        query(start, secondScrape, { targets: [{ cloud: "gcp", region: "europe-west1" }] }),
      ),
    ).toEqual({
      requests: 2,
      serverErrors: 1,
      bucketBoundsMs: LATENCY_BUCKET_BOUNDS_MS,
      latencyBuckets: buckets({ 3: 1, 10: 1 }),
    });
    expect((await source.outcomes(query(start, secondScrape, { revision: 1 }))).requests).toBe(4);
    expect((await source.outcomes(query(start, secondScrape, { workload: "other" }))).requests).toBe(0);
    expect((await source.outcomes(query(start, secondScrape, { targets: [] }))).requests).toBe(0);
  });

  it("counts only what the scrapes inside the window saw, and nothing before the first", async () => {
    const source = prometheusMetricSource({ baseUrl: running().url, bucketBoundsMs: [10, 100] });
    // From the first scrape on, only the two later requests are new.
    expect(await source.outcomes(query(firstScrape, secondScrape, { targets: [aws] }))).toEqual({
      requests: 2,
      serverErrors: 1,
      bucketBoundsMs: [10, 100],
      latencyBuckets: [2, 0, 0],
    });
    const job = (name: string) => prometheusMetricSource({ baseUrl: running().url, labels: { job: name } });
    expect((await job("devsim-router").outcomes(query(start, secondScrape))).requests).toBe(7);
    expect((await job("elsewhere").outcomes(query(start, secondScrape))).requests).toBe(0);
    expect(await source.outcomes(query(start - 60_000, start))).toEqual({
      requests: 0,
      serverErrors: 0,
      bucketBoundsMs: [10, 100],
      latencyBuckets: [0, 0, 0],
    });
  });

  it("keeps counting across a router restart, whose counters start again from zero", async () => {
    const before = await scrapedAt(`devsim_router_requests_total{${awsLabels}}`, 5);
    counters = new OutcomeCounters();
    counters.record(aws, 200, 8);
    await scrapedAt(`devsim_router_requests_total{${awsLabels}}`, 1, before);
    counters.record(aws, 500, 8);
    counters.record(aws, 200, 8);
    const after = await scrapedAt(`devsim_router_requests_total{${awsLabels}}`, 3, before);

    const source = prometheusMetricSource({ baseUrl: running().url });
    // The reset lies among the window's samples: Prometheus' increase() estimates, extrapolating
    // to the window's edges (here they fall on scrapes, so it hits the count on Prometheus 2).
    const across = await source.outcomes(query(before, after, { targets: [aws] }));
    expect(across.requests).toBeGreaterThanOrEqual(3);
    expect(across.requests).toBeLessThan(4);
    expect(across.serverErrors).toBeGreaterThanOrEqual(1);
    expect(across.serverErrors).toBeLessThan(1.5);
    expect(across.latencyBuckets[1]).toBeCloseTo(across.requests, 6);

    // The window starts just after the last scrape before the restart: no reset among its samples,
    // but the series ends lower than it began, so all it holds is new.
    const lastBefore = Math.max(
      ...(await samplesOf(`devsim_router_requests_total{${awsLabels}}`))
        .filter(([, v]) => v === 5)
        .map(([t]) => t),
    );
    expect(await source.outcomes(query(lastBefore + 1, after, { targets: [aws] }))).toMatchObject({
      requests: 3,
      serverErrors: 1,
      latencyBuckets: buckets({ 1: 3 }),
    });

    // The restarted router no longer reports gcp: that series went stale, and still counts what
    // its scrapes in the window saw.
    const gone = [{ cloud: "gcp" as const, region: "europe-west1" }];
    expect(await source.outcomes(query(start, after, { targets: gone }))).toMatchObject({
      requests: 2,
      serverErrors: 1,
    });
    expect((await source.outcomes(query(before, after, { targets: gone }))).requests).toBe(0);
  });

  it("refuses a bad label name at once and an empty window before asking", async () => {
    expect(() => prometheusMetricSource({ baseUrl: running().url, labels: { "no-dashes": "x" } })).toThrow(
      /label name/,
    );
    expect(() => prometheusMetricSource({ baseUrl: running().url, bucketBoundsMs: [100, 10] })).toThrow(
      /increasing/,
    );
    const source = prometheusMetricSource({ baseUrl: running().url });
    await expect(source.outcomes(query(start, start))).rejects.toSatisfy(
      (e) => e instanceof DevsimError && e.code === "invalid_input",
    );
  });

  it("throws unavailable when Prometheus answers an error or is not there", async () => {
    const isUnavailable = (e: unknown) => e instanceof DevsimError && e.code === "unavailable";
    const window = query(Date.now() - 60_000, Date.now());

    // Not Prometheus' API: a wrong base path answers 404.
    const wrongPath = prometheusMetricSource({ baseUrl: `${running().url}/not-here` });
    await expect(wrongPath.outcomes(window)).rejects.toSatisfy(
      (e) => isUnavailable(e) && e instanceof DevsimError && e.details.status === 404,
    );

    const nobody = prometheusMetricSource({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    await expect(nobody.outcomes(window)).rejects.toSatisfy(
      (e) => isUnavailable(e) && e instanceof Error && e.cause instanceof Error,
    );
  });
});
