import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RoutingTable } from "#core";
import { kvRoutingTables, upstashStore } from "#kv";
import { cachedTableSource, createRouter, type RoutingTableSource } from "#router";
import { closeTestServers, listen, type TestServer } from "../support/http-servers.ts";
import { deleteKeys, REDIS_URL } from "../support/redis.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

// The deployed router reads routing tables with the production @upstash/redis client, over the
// Upstash REST bridge, from a real Redis; a TCP proxy on the way is cut and restored.

const MAX_AGE_MS = 200;
const prefix = `test:degraded-redis:${randomBytes(6).toString("hex")}:`;
const redis = new URL(REDIS_URL);
const redisTarget = { host: redis.hostname, port: Number(redis.port) };

let first: TestServer;
let second: TestServer;

beforeAll(async () => {
  first = await listen((_req, res) => res.end("first"));
  second = await listen((_req, res) => res.end("second"));
});
afterAll(async () => {
  await closeTestServers();
  await deleteKeys(prefix);
});

const table = (workload: string, version: number, server: TestServer): RoutingTable => ({
  workload,
  version,
  backends: [{ cloud: "aws", region: "us-east-1", revision: version, weight: 100, url: server.url }],
});

/** The router's source, counting the refreshes that failed so a test can tell the store was really gone. */
const countingFailures = (source: RoutingTableSource) => {
  const counts = { failures: 0 };
  const counted: RoutingTableSource = {
    get: async (workload) => {
      try {
        return await source.get(workload);
      } catch (error) {
        counts.failures++;
        throw error;
      }
    },
  };
  return { counted, counts };
};

const routerOver = (url: string, token: string) => {
  const tables = kvRoutingTables(upstashStore({ url, token, prefix }));
  const { counted, counts } = countingFailures(tables);
  const router = createRouter({ table: cachedTableSource(counted, { maxAgeMs: MAX_AGE_MS }) });
  const get = async (workload: string) => {
    const started = performance.now();
    const res = await router.request(`http://router.test/w/${workload}/`);
    return { status: res.status, text: await res.text(), ms: performance.now() - started };
  };
  return { tables, counts, get };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // A bridge whose Redis gave up rejects on close; that says nothing about the code under test.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

describe("the router while Redis is unreachable", () => {
  it("keeps serving the last-known routing table, and takes new tables once Redis is back", async () => {
    const proxy: TcpProxy = await startTcpProxy(redisTarget);
    cleanups.push(proxy.close);
    let bridge: UpstashBridge = await startUpstashBridge({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
    cleanups.push(() => bridge.close());
    const { url, token } = bridge;
    const { tables, counts, get } = routerOver(url, token);
    await tables.publish(table("shop", 1, first));
    expect(await get("shop")).toMatchObject({ status: 200, text: "first" });

    await proxy.cut("refuse");
    const during: Awaited<ReturnType<typeof get>>[] = [];
    const until = performance.now() + 8 * MAX_AGE_MS + 1_500;
    while (performance.now() < until) {
      during.push(await get("shop"));
      await sleep(MAX_AGE_MS / 2);
    }
    expect(counts.failures).toBeGreaterThanOrEqual(3);
    for (const res of during) expect(res).toMatchObject({ status: 200, text: "first" });
    // The bridge holds the first command while its client retries Redis; Upstash itself answers at once.
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(5_000);
    // A workload the router has never read has no table to fall back on: a clear 503, not a hang.
    const unknown = await get("never-seen");
    expect(unknown.status).toBe(503);
    expect(JSON.parse(unknown.text)).toMatchObject({ error: { code: "unavailable" } });

    // Redis returns. This bridge's client gave up on it for good, so a new one takes its URL, as
    // Upstash's endpoint would simply answer again.
    await proxy.restore();
    await bridge.close().catch(() => {});
    const port = Number(new URL(url).port);
    bridge = await startUpstashBridge({ redisUrl: `redis://127.0.0.1:${proxy.port}`, token, port });
    await tables.publish(table("shop", 2, second));
    await expect.poll(async () => (await get("shop")).text, { timeout: 5_000, interval: 50 }).toBe("second");
  });

  it("keeps serving the last-known table when the Upstash endpoint itself is unreachable, and recovers", async () => {
    const bridge = await startUpstashBridge({ redisUrl: REDIS_URL });
    cleanups.push(bridge.close);
    const bridgeUrl = new URL(bridge.url);
    const proxy = await startTcpProxy({ host: bridgeUrl.hostname, port: Number(bridgeUrl.port) });
    cleanups.push(proxy.close);
    const { tables, counts, get } = routerOver(proxy.via(bridge.url), bridge.token);
    await tables.publish(table("cart", 1, first));
    expect(await get("cart")).toMatchObject({ status: 200, text: "first" });

    await proxy.cut("refuse");
    await sleep(MAX_AGE_MS + 50);
    // Each request waits for the failing refresh a moment at most, then the last-known table answers.
    const during = [await get("cart"), await get("cart")];
    for (const res of during) expect(res).toMatchObject({ status: 200, text: "first" });
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(1_000);
    await expect.poll(() => counts.failures, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(1);

    await proxy.restore();
    await tables.publish(table("cart", 2, second));
    await expect.poll(async () => (await get("cart")).text, { timeout: 10_000, interval: 50 }).toBe("second");
  });
});
