import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { DevsimError } from "#core";
import { BACKEND_HEADER, startTraffic, type Traffic } from "./traffic.ts";

const servers: Server[] = [];
const traffics: Traffic[] = [];
afterEach(async () => {
  await Promise.all(traffics.splice(0).map((t) => t.stop()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
});

/** A loopback server; `handler` may hold a request open by not answering. */
const serve = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const track = (traffic: Traffic): Traffic => {
  traffics.push(traffic);
  return traffic;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("startTraffic", () => {
  test("sends at a steady rate and counts by status and by backend header", async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n += 1;
      // Backend a answers 200; backend b answers every other request with 500.
      const backend = n % 2 === 0 ? "a" : "b";
      const status = backend === "b" && n % 4 === 1 ? 500 : 200;
      res.writeHead(status, { [BACKEND_HEADER]: backend }).end("{}");
    });
    const traffic = track(startTraffic({ url, ratePerSecond: 40 }));
    await sleep(500);
    const stats = await traffic.stop();

    // 40/s for 0.5 s is ~21 requests (one at start); timers are not exact.
    expect(stats.sent).toBeGreaterThanOrEqual(15);
    expect(stats.sent).toBeLessThanOrEqual(26);
    expect(stats.sent).toBe(n);
    expect(stats).toMatchObject({ completed: n, failed: 0, dropped: 0, inFlight: 0 });
    const backendA = stats.byBackend.a ?? {};
    const backendB = stats.byBackend.b ?? {};
    expect(Object.keys(backendA)).toEqual(["200"]);
    expect(backendB["500"]).toBeGreaterThan(0);
    expect((backendA["200"] ?? 0) + (backendB["200"] ?? 0)).toBe(stats.byStatus["200"]);
    expect(backendB["500"]).toBe(stats.byStatus["500"]);
  });

  test("stats() is a snapshot and responses without the header count as 'none'", async () => {
    const url = await serve((_req, res) => res.end("ok"));
    const traffic = track(startTraffic({ url, ratePerSecond: 50 }));
    await sleep(200);
    const snapshot = traffic.stats();
    const before = snapshot.completed;
    await sleep(200);
    expect(snapshot.completed).toBe(before);
    const stats = await traffic.stop();
    expect(stats.completed).toBeGreaterThan(before);
    expect(stats.byBackend).toEqual({ none: { "200": stats.completed } });
  });

  test("with a slow target it keeps concurrency bounded and drops ticks instead of piling up", async () => {
    let open = 0;
    let maxOpen = 0;
    const url = await serve((_req, res) => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      setTimeout(() => {
        open -= 1;
        res.end("slow");
      }, 300);
    });
    const traffic = track(startTraffic({ url, ratePerSecond: 100, concurrency: 2 }));
    await sleep(250);
    const during = traffic.stats();
    expect(during.inFlight).toBe(2);
    expect(during.sent).toBe(2);
    expect(during.dropped).toBeGreaterThan(10);
    const stats = await traffic.stop();
    expect(maxOpen).toBe(2);
    expect(stats).toMatchObject({ completed: 2, inFlight: 0, byStatus: { "200": 2 } });
  });

  test("stop waits for requests in flight", async () => {
    const url = await serve((_req, res) => setTimeout(() => res.end("done"), 200));
    const traffic = track(startTraffic({ url, ratePerSecond: 1 }));
    await sleep(20);
    expect(traffic.stats().inFlight).toBe(1);
    const stats = await traffic.stop();
    expect(stats).toMatchObject({ sent: 1, completed: 1, failed: 0, inFlight: 0 });
    expect(await traffic.stop()).toBe(stats);
  });

  test("stop is bounded: requests still open after stopTimeoutMs are aborted and counted as failed", async () => {
    const url = await serve(() => undefined);
    const traffic = track(startTraffic({ url, ratePerSecond: 1, stopTimeoutMs: 100 }));
    await sleep(20);
    const started = performance.now();
    const stats = await traffic.stop();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(stats).toMatchObject({ sent: 1, completed: 0, failed: 1, inFlight: 0 });
  });

  test("requests that time out or cannot connect count as failed", async () => {
    const hanging = await serve(() => undefined);
    const timedOut = track(startTraffic({ url: hanging, ratePerSecond: 1, timeoutMs: 50 }));
    await sleep(200);
    expect(timedOut.stats()).toMatchObject({ sent: 1, failed: 1, inFlight: 0 });

    const closedUrl = await serve(() => undefined);
    const last = servers.pop();
    await new Promise<void>((resolve) => last?.close(() => resolve()));
    const refused = track(startTraffic({ url: closedUrl, ratePerSecond: 1 }));
    expect(await refused.stop()).toMatchObject({ sent: 1, completed: 0, failed: 1 });
  });

  test("uses the injected fetch and sends the given headers", async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => {
      seen.push(String(req.headers["x-tenant"]));
      res.end();
    });
    let calls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      calls += 1;
      return fetch(input, init);
    };
    const traffic = track(
      startTraffic({ url, ratePerSecond: 1, fetch: countingFetch, headers: { "x-tenant": "t1" } }),
    );
    const stats = await traffic.stop();
    expect(calls).toBe(1);
    expect(stats.completed).toBe(1);
    expect(seen).toEqual(["t1"]);
  });

  test("bad options are rejected naming the field", () => {
    for (const [options, field] of [
      [{ url: "not a url", ratePerSecond: 1 }, "options.url"],
      [{ url: "http://127.0.0.1:1", ratePerSecond: 0 }, "options.ratePerSecond"],
      [{ url: "http://127.0.0.1:1", ratePerSecond: 1, concurrency: 0 }, "options.concurrency"],
    ] as const) {
      let error: unknown;
      try {
        track(startTraffic(options));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DevsimError);
      expect(error).toMatchObject({ code: "invalid_input", message: expect.stringContaining(field) });
    }
  });
});
