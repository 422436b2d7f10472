import { describe, expect, it, vi } from "vitest";
import type { Backend, RoutingTable } from "#core";
import {
  cachedTableSource,
  type ForwarderOptions,
  OutcomeCounters,
  OutlierDetector,
  type RoutingTableSource,
  staticTableSource,
} from "#router";
import { deadUrl, type Echo, echoServer, listen, rawRequest as raw } from "./http-servers.ts";

/**
 * Serves a router front end over `options` on a loopback port and gives its base URL; the test
 * file closes it after each test. Front ends that can tell the client's address must, for
 * `x-forwarded-for`.
 */
export type ServeFrontEnd = (options: ForwarderOptions) => Promise<string>;

/** Revision 1 on aws/us-east-1, any other on digitalocean/fra1, of workload `shop`. */
export const backend = (revision: number, weight: number, url: string): Backend => ({
  cloud: revision === 1 ? "aws" : "digitalocean",
  region: revision === 1 ? "us-east-1" : "fra1",
  revision,
  weight,
  url,
});

export const tableOf = (...backends: Backend[]): RoutingTable => ({ workload: "shop", version: 1, backends });

const tables = (...backends: Backend[]): RoutingTableSource => staticTableSource([tableOf(...backends)]);

/** mulberry32: a small seeded generator, so the spread test sees the same numbers every run. */
const seeded = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const json = (body: Buffer): unknown => JSON.parse(body.toString());

/** Passive health that throws whatever it is told: what runs after an attempt fails. */
class BrokenOutliers extends OutlierDetector {
  override success(): void {
    throw new Error("broken after a success");
  }
  override failure(): boolean {
    throw new Error("broken after a failure");
  }
}

/** A router whose first pick (random 0) is a closed port, with a live backend beside it. */
const deadFirst = async (serve: ServeFrontEnd) => {
  const dead = await deadUrl();
  const live = await echoServer("live");
  const counters = new OutcomeCounters();
  const router = await serve({
    table: tables(backend(1, 99, dead), backend(2, 1, live.url)),
    random: () => 0,
    counters,
  });
  return { live, counters, router };
};

/**
 * What every router front end does the same over real sockets, whatever its transport: which
 * backend gets a request, what reaches it, what the client gets back, the router's own answers,
 * and retries of connection failures. Run it from each front end's tests.
 *
 * @example
 * runFrontEndContract("nodeRouter", async (options) => (await listen(nodeRouter(options).listener)).url)
 */
export const runFrontEndContract = (name: string, serve: ServeFrontEnd): void => {
  describe(`${name}: the front-end contract`, () => {
    it("strips the path prefix, keeps the query, names the backend and sets the forwarding headers", async () => {
      const stable = await echoServer("stable");
      const router = await serve({ table: tables(backend(1, 100, stable.url)) });
      const { res, body } = await raw(`${router}/w/shop/cart/items?id=7&tag=a%20b`, {
        headers: { accept: "application/json", "x-custom": "kept", "x-forwarded-for": "203.0.113.9" },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers["x-devsim-backend"]).toBe("aws/us-east-1/1");
      expect(res.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
      const echo = json(body) as Echo;
      expect(echo).toMatchObject({ name: "stable", method: "GET", url: "/cart/items?id=7&tag=a%20b" });
      expect(echo.headers).toMatchObject({
        host: new URL(stable.url).host,
        accept: "application/json",
        "x-custom": "kept",
        "x-forwarded-host": new URL(router).host,
        "x-forwarded-proto": "http",
        "x-forwarded-for": "203.0.113.9, 127.0.0.1",
      });
    });

    it("routes by host, and joins a backend's base path without doubling slashes", async () => {
      const stable = await echoServer("stable");
      const router = await serve({ table: tables(backend(1, 100, `${stable.url}/base/`)) });
      const { body } = await raw(`${router}/orders?x=1`, { headers: { host: "shop.example.com:8080" } });
      expect(json(body)).toMatchObject({ name: "stable", url: "/base/orders?x=1" });
    });

    it("forwards a POST body of a megabyte, byte for byte", async () => {
      const stable = await echoServer("stable");
      const router = await serve({ table: tables(backend(1, 100, stable.url)) });
      const body = Array.from({ length: 1 << 20 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
      const response = await fetch(`${router}/w/shop/orders`, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain" },
      });
      const echo = (await response.json()) as Echo;
      expect(echo).toMatchObject({ method: "POST", headers: { "content-type": "text/plain" } });
      expect(echo.body.length).toBe(body.length);
      expect(echo.body === body).toBe(true);
    });

    it("spreads traffic by weight", async () => {
      const stable = await echoServer("stable");
      const canary = await echoServer("canary");
      const router = await serve({
        table: tables(backend(1, 80, stable.url), backend(2, 20, canary.url)),
        random: seeded(42),
      });
      const answeredBy = new Map<string, number>();
      const total = 400;
      for (let i = 0; i < total; i++) {
        const response = await fetch(`${router}/w/shop/`);
        const { name: by } = (await response.json()) as Echo;
        expect(response.headers.get("x-devsim-backend")).toBe(
          by === "stable" ? "aws/us-east-1/1" : "digitalocean/fra1/2",
        );
        answeredBy.set(by, (answeredBy.get(by) ?? 0) + 1);
      }
      expect(Math.abs((answeredBy.get("canary") ?? 0) / total - 0.2)).toBeLessThan(0.05);
      expect((answeredBy.get("stable") ?? 0) + (answeredBy.get("canary") ?? 0)).toBe(total);
    });

    it("answers 404 without a workload or for an unknown one, and 503 when nothing has weight", async () => {
      const stable = await echoServer("stable");
      const router = await serve({ table: tables(backend(1, 0, stable.url)) });
      const none = await raw(`${router}/elsewhere`, { headers: { host: "127.0.0.1" } });
      expect(none.res.statusCode).toBe(404);
      expect(json(none.body)).toMatchObject({ error: { code: "not_found", details: { workload: null } } });
      const unknown = await raw(`${router}/w/blog/`);
      expect(unknown.res.statusCode).toBe(404);
      expect(json(unknown.body)).toMatchObject({
        error: { code: "not_found", details: { workload: "blog" } },
      });
      const drained = await raw(`${router}/w/shop/`);
      expect(drained.res.statusCode).toBe(503);
      expect(json(drained.body)).toMatchObject({
        error: { code: "unavailable", details: { workload: "shop" } },
      });
      expect(stable.sockets).toHaveLength(0);
    });

    it("retries a GET that finds a closed port on another backend, and counts both", async () => {
      const { counters, router } = await deadFirst(serve);
      const response = await fetch(`${router}/w/shop/status`);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-devsim-backend")).toBe("digitalocean/fra1/2");
      expect(await response.json()).toMatchObject({ name: "live", url: "/status" });
      expect(counters.snapshot().series).toMatchObject([
        { workload: "shop", cloud: "aws", region: "us-east-1", revision: 1, requests: 1, serverErrors: 1 },
        {
          workload: "shop",
          cloud: "digitalocean",
          region: "fra1",
          revision: 2,
          requests: 1,
          serverErrors: 0,
        },
      ]);
    });

    it("retries a PUT with its whole body", async () => {
      const dead = await deadUrl();
      const live = await echoServer("live");
      const router = await serve({
        table: tables(backend(1, 99, dead), backend(2, 1, live.url)),
        random: () => 0,
      });
      const body = "document ".repeat(5_000);
      const response = await fetch(`${router}/w/shop/doc`, { method: "PUT", body });
      expect(response.status).toBe(200);
      const echo = (await response.json()) as Echo;
      expect(echo).toMatchObject({ name: "live", method: "PUT" });
      expect(echo.body === body).toBe(true);
    });

    it("answers 502 naming the backend for a POST that finds a closed port, without retrying", async () => {
      const { live, counters, router } = await deadFirst(serve);
      const { res, body } = await raw(`${router}/w/shop/orders`, { method: "POST", body: "{}" });
      expect(res.statusCode).toBe(502);
      expect(res.headers["x-devsim-backend"]).toBe("aws/us-east-1/1");
      expect(json(body)).toMatchObject({
        error: {
          code: "bad_gateway",
          details: { backend: { cloud: "aws", region: "us-east-1", revision: 1 } },
        },
      });
      expect(live.sockets).toHaveLength(0);
      expect(counters.snapshot().series).toMatchObject([{ revision: 1, requests: 1, serverErrors: 1 }]);
    });

    it("answers 500, and goes on serving, when what follows an attempt throws", async () => {
      const quiet = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        const dead = await deadUrl();
        const failing = await serve({ table: tables(backend(1, 100, dead)), outliers: new BrokenOutliers() });
        for (let i = 0; i < 2; i++) {
          const { res, body } = await raw(`${failing}/w/shop/`);
          expect(res.statusCode).toBe(500);
          expect(json(body)).toMatchObject({ error: { code: "internal" } });
        }
        // After a success the answer may already be on its way: a 500 or a cut connection, never a hang.
        const stable = await echoServer("stable");
        const answering = await serve({
          table: tables(backend(1, 100, stable.url)),
          outliers: new BrokenOutliers(),
        });
        for (let i = 0; i < 2; i++) {
          const outcome = await fetch(`${answering}/w/shop/`).then(
            async (r) => {
              await r.text();
              return r.status;
            },
            () => "cut",
          );
          expect([500, "cut"]).toContain(outcome);
        }
      } finally {
        quiet.mockRestore();
      }
    });

    it("passes a redirect through without following it", async () => {
      const { url } = await listen((_req, res) => {
        res.writeHead(307, { location: "/next" }).end();
      });
      const router = await serve({ table: tables(backend(1, 100, url)) });
      const { res } = await raw(`${router}/w/shop/old`);
      expect(res.statusCode).toBe(307);
      expect(res.headers.location).toBe("/next");
    });

    it("relays a streamed answer as it comes", async () => {
      let finish: () => void = () => {};
      const { url } = await listen((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first;");
        finish = () => res.end("second");
      });
      const router = await serve({ table: tables(backend(1, 100, url)) });
      const response = await fetch(`${router}/w/shop/stream`);
      const reader = response.body?.getReader();
      if (reader === undefined) throw new Error("expected a body");
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe("first;");
      finish();
      let rest = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      expect(rest).toBe("second");
    });

    it("sees a weight change through cachedTableSource once maxAgeMs has passed", async () => {
      const stable = await echoServer("stable");
      const canary = await echoServer("canary");
      let published = tableOf(backend(1, 100, stable.url), backend(2, 0, canary.url));
      let now = 0;
      const router = await serve({
        table: cachedTableSource({ get: async () => published }, { maxAgeMs: 1000, now: () => now }),
      });
      const answeredBy = async () => ((await (await fetch(`${router}/w/shop/`)).json()) as Echo).name;

      expect(await answeredBy()).toBe("stable");
      published = { ...tableOf(backend(1, 0, stable.url), backend(2, 100, canary.url)), version: 2 };
      now = 999;
      expect(await answeredBy()).toBe("stable");
      now = 1000;
      expect(await answeredBy()).toBe("canary");
    });
  });
};
