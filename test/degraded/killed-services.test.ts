import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";
import { workloadInput } from "../support/fixtures.ts";
import { closeTestServers, listen } from "../support/http-servers.ts";
import { startPrivatePostgres, startPrivateRedis } from "../support/private-services.ts";
import { startUpstashBridge } from "../support/upstash-bridge.ts";
import { routerOverUpstash, tableTo } from "../support/upstash-router.ts";

// The servers themselves die here, not the way to them: each test kills a Postgres or Redis of
// its own (the shared ones serve other test files meanwhile) and starts it again.

/** What /readyz may take to notice: a refused connection, a reconnect pause, slack. */
const NOTICE_MS = 3_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly ms: number;
}

const call = async (base: string, method: string, path: string, body?: unknown): Promise<Answer> => {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = (text.startsWith("{") ? JSON.parse(text) : {}) as Record<string, unknown>;
  return { status: res.status, json, ms: performance.now() - started };
};

const rolloutSucceeds = (base: string, id: string) =>
  eventually(
    async () => (await call(base, "GET", `/v1/rollouts/${id}`)).json.status === "succeeded",
    10_000,
    `rollout ${id} to succeed`,
  );

describe("devsim up while its Postgres server is killed", () => {
  it("answers 503, keeps routing, and recovers by itself when the server is back", async () => {
    const postgres = await startPrivatePostgres();
    cleanups.push(postgres.destroy);
    const dataDir = await mkdtemp(join(tmpdir(), "devsim-killed-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const devsim: DevsimProcess = await spawnDevsim([
      "--no-demo",
      "--database-url",
      postgres.url,
      "--data-dir",
      dataDir,
    ]);
    cleanups.push(() => devsim.stop("SIGKILL").catch(() => null));
    const base = devsim.apiUrl;
    const shop = `${devsim.routerUrl}/w/shop/`;

    const created = await call(base, "POST", "/v1/workloads", workloadInput("shop"));
    expect(created.status).toBe(201);
    await rolloutSucceeds(base, String((created.json.rollout as { id: string }).id));
    await eventually(async () => (await fetch(shop)).status === 200, 5_000, "the router serving shop");

    await postgres.stop();
    const notReady = await eventually(
      async () => {
        const ready = await call(base, "GET", "/readyz");
        return ready.status === 503 && ready;
      },
      NOTICE_MS,
      "/readyz 503",
    );
    expect(notReady.ms).toBeLessThan(NOTICE_MS);
    const listed = await call(base, "GET", "/v1/workloads");
    expect(listed.status).toBe(503);
    expect(listed.json).toMatchObject({ error: { code: "unavailable" } });
    expect(listed.ms).toBeLessThan(NOTICE_MS);
    // Longer than the router trusts a table, so it has had to look again while the database is dead.
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      const res = await fetch(shop);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    await postgres.start();
    await eventually(async () => (await call(base, "GET", "/readyz")).status === 200, 10_000, "/readyz 200");
    const after = await call(base, "GET", "/v1/workloads");
    expect(after.status).toBe(200);
    expect(JSON.stringify(after.json)).toContain('"shop"');
    const rollout = await call(base, "POST", "/v1/workloads/shop/rollouts", {
      image: "registry.example.com/app:2",
    });
    expect(rollout.status).toBe(202);
    await rolloutSucceeds(base, String(rollout.json.id));
  }, 30_000);
});

describe("the router while its Redis server is killed", () => {
  it("serves the last-known table, and takes new tables once Redis is started again", async () => {
    const redis = await startPrivateRedis();
    cleanups.push(redis.destroy);
    const bridge = await startUpstashBridge({ redisUrl: redis.url });
    cleanups.push(bridge.close);
    cleanups.push(closeTestServers);
    const first = await listen((_req, res) => res.end("first"));
    const second = await listen((_req, res) => res.end("second"));
    const { tables, counts, get } = routerOverUpstash({
      url: bridge.url,
      token: bridge.token,
      prefix: "routing:",
      maxAgeMs: 200,
    });
    await tables.publish(tableTo("shop", 1, first.url));
    expect(await get("shop")).toMatchObject({ status: 200, text: "first" });

    await redis.kill();
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      expect(await get("shop")).toMatchObject({ status: 200, text: "first" });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(counts.failures).toBeGreaterThanOrEqual(2);

    // Nothing was saved, so the restarted Redis is empty until the next table is published.
    await redis.start();
    const published = () =>
      tables.publish(tableTo("shop", 2, second.url)).then(
        () => true,
        () => false,
      );
    await expect.poll(published, { timeout: 5_000, interval: 100 }).toBe(true);
    await expect.poll(async () => (await get("shop")).text, { timeout: 5_000, interval: 50 }).toBe("second");
  });
});
