import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeTestServers, listen, type TestServer } from "../support/http-servers.ts";
import { deleteKeys, REDIS_URL } from "../support/redis.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { startUpstashBridge } from "../support/upstash-bridge.ts";
import { routerOverUpstash, tableTo } from "../support/upstash-router.ts";

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

const table = (workload: string, version: number, server: TestServer) =>
  tableTo(workload, version, server.url);

const routerOver = (url: string, token: string) =>
  routerOverUpstash({ url, token, prefix, maxAgeMs: MAX_AGE_MS });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the router while Redis is unreachable", () => {
  it("keeps serving the last-known routing table, and takes new tables once Redis is back", async () => {
    const proxy: TcpProxy = await startTcpProxy(redisTarget);
    cleanups.push(proxy.close);
    const bridge = await startUpstashBridge({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
    cleanups.push(bridge.close);
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
    // The bridge fails each command at once while its client retries Redis, as Upstash answers at once.
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(5_000);
    // A workload the router has never read has no table to fall back on: a clear 503, not a hang.
    const unknown = await get("never-seen");
    expect(unknown.status).toBe(503);
    expect(JSON.parse(unknown.text)).toMatchObject({ error: { code: "unavailable" } });

    // Redis returns; the bridge reconnects by itself, as Upstash's endpoint would answer again.
    await proxy.restore();
    const published = () =>
      tables.publish(table("shop", 2, second)).then(
        () => true,
        () => false,
      );
    await expect.poll(published, { timeout: 5_000, interval: 100 }).toBe(true);
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
