import { request } from "node:http";
import { gzipSync } from "node:zlib";
import { getRequestListener } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { afterEach, describe, expect, it } from "vitest";
import type { Backend, RoutingTable } from "#core";
import { closeTestServers, deadUrl, type Echo, echoServer, listen } from "../../test/support/http-servers.ts";
import { createRouter } from "./app.ts";
import { OutcomeCounters } from "./outcomes.ts";
import { cachedTableSource, type RoutingTableSource, staticTableSource } from "./table-source.ts";

// Real backends on loopback, reached through the platform's fetch, as on an edge runtime.

afterEach(closeTestServers);

/** A backend that answers with what it received, as JSON; its URL. */
const echoBackend = async (name: string): Promise<string> => (await echoServer(name)).url;

const backend = (revision: number, weight: number, url: string): Backend => ({
  cloud: revision === 1 ? "aws" : "digitalocean",
  region: revision === 1 ? "us-east-1" : "fra1",
  revision,
  weight,
  url,
});

const tableOf = (...backends: Backend[]): RoutingTable => ({ workload: "shop", version: 1, backends });

/** mulberry32: a small seeded generator, so the distribution test sees the same numbers every run. */
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

describe("router against real HTTP backends", () => {
  it("sets x-devsim-backend, strips the path prefix, keeps the query and replaces the host", async () => {
    const stable = await echoBackend("stable");
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, stable))]) });
    const response = await app.request("/w/shop/cart/items?id=7&tag=a%20b", {
      headers: { host: "router.example.com", accept: "application/json" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({ name: "stable", method: "GET", url: "/cart/items?id=7&tag=a%20b" });
    expect(echo.headers).toMatchObject({
      host: new URL(stable).host,
      accept: "application/json",
      "x-forwarded-host": "router.example.com",
      "x-forwarded-proto": "http",
    });
  });

  it("routes by host", async () => {
    const stable = await echoBackend("stable");
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, stable))]) });
    const response = await app.request("/items?page=2", { headers: { host: "shop.apps.example.com:8080" } });
    expect(await response.json()).toMatchObject({ name: "stable", url: "/items?page=2" });
  });

  it("forwards a POST body of a megabyte, byte for byte", async () => {
    const stable = await echoBackend("stable");
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, stable))]) });
    const body = JSON.stringify({ items: Array.from({ length: 50_000 }, (_, i) => `item-${i}`) }).padEnd(
      1 << 20,
    );
    const response = await app.request("/w/shop/orders", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    const echo = (await response.json()) as Echo;
    expect(echo.method).toBe("POST");
    expect(echo.headers["content-type"]).toBe("application/json");
    expect(echo.body.length).toBe(body.length);
    expect(echo.body === body).toBe(true);
  });

  it("spreads traffic roughly by weight", async () => {
    const stable = await echoBackend("stable");
    const canary = await echoBackend("canary");
    const app = createRouter({
      table: staticTableSource([tableOf(backend(1, 80, stable), backend(2, 20, canary))]),
      random: seeded(42),
    });
    const answeredBy = new Map<string, number>();
    const total = 500;
    for (let i = 0; i < total; i++) {
      const response = await app.request("/w/shop/");
      const { name } = (await response.json()) as Echo;
      expect(response.headers.get("x-devsim-backend")).toBe(
        name === "stable" ? "aws/us-east-1/1" : "digitalocean/fra1/2",
      );
      answeredBy.set(name, (answeredBy.get(name) ?? 0) + 1);
    }
    expect(Math.abs((answeredBy.get("canary") ?? 0) / total - 0.2)).toBeLessThan(0.05);
    expect((answeredBy.get("stable") ?? 0) + (answeredBy.get("canary") ?? 0)).toBe(total);
  });

  it("answers 404 for an unknown workload and 503 when nothing has weight", async () => {
    const stable = await echoBackend("stable");
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 0, stable))]) });
    const unknown = await app.request("/w/blog/");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      error: { code: "not_found", details: { workload: "blog" } },
    });
    const drained = await app.request("/w/shop/");
    expect(drained.status).toBe(503);
    expect(await drained.json()).toMatchObject({
      error: { code: "unavailable", details: { workload: "shop" } },
    });
  });

  it("retries a GET that finds a closed port on the live backend, and counts both", async () => {
    const dead = await deadUrl();
    const live = await echoBackend("live");
    const counters = new OutcomeCounters();
    const app = createRouter({
      table: staticTableSource([tableOf(backend(1, 99, dead), backend(2, 1, live))]),
      random: () => 0,
      counters,
    });
    const response = await app.request("/w/shop/status");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-devsim-backend")).toBe("digitalocean/fra1/2");
    expect(await response.json()).toMatchObject({ name: "live", url: "/status" });
    expect(counters.snapshot().series).toMatchObject([
      { workload: "shop", cloud: "aws", region: "us-east-1", revision: 1, requests: 1, serverErrors: 1 },
      { workload: "shop", cloud: "digitalocean", region: "fra1", revision: 2, requests: 1, serverErrors: 0 },
    ]);
  });

  it("retries a PUT that finds a closed port with its whole body", async () => {
    const dead = await deadUrl();
    const live = await echoBackend("live");
    const app = createRouter({
      table: staticTableSource([tableOf(backend(1, 99, dead), backend(2, 1, live))]),
      random: () => 0,
    });
    const body = "document ".repeat(50_000);
    const response = await app.request("/w/shop/doc", { method: "PUT", body });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({ name: "live", method: "PUT" });
    expect(echo.body === body).toBe(true);
  });

  it("answers a POST that finds a closed port with 502 and does not retry it", async () => {
    const dead = await deadUrl();
    const live = await echoBackend("live");
    const counters = new OutcomeCounters();
    const app = createRouter({
      table: staticTableSource([tableOf(backend(1, 99, dead), backend(2, 1, live))]),
      random: () => 0,
      counters,
    });
    const response = await app.request("/w/shop/orders", { method: "POST", body: "{}" });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({
      error: {
        code: "bad_gateway",
        details: { backend: { cloud: "aws", region: "us-east-1", revision: 1 } },
      },
    });
    expect(counters.snapshot().series).toMatchObject([{ revision: 1, requests: 1, serverErrors: 1 }]);
  });

  it("sees a weight change through cachedTableSource once maxAgeMs has passed", async () => {
    const stable = await echoBackend("stable");
    const canary = await echoBackend("canary");
    let published = tableOf(backend(1, 100, stable), backend(2, 0, canary));
    const store: RoutingTableSource = { get: async () => published };
    let now = 0;
    const app = createRouter({ table: cachedTableSource(store, { maxAgeMs: 1000, now: () => now }) });
    const answeredBy = async () => ((await (await app.request("/w/shop/")).json()) as Echo).name;

    expect(await answeredBy()).toBe("stable");
    published = { ...tableOf(backend(1, 0, stable), backend(2, 100, canary)), version: 2 };
    now = 999;
    expect(await answeredBy()).toBe("stable");
    now = 1000;
    expect(await answeredBy()).toBe("canary");
  });

  it("relays a gzip-encoded answer decoded, without the encoding headers", async () => {
    const text = "hello ".repeat(1000);
    const { url } = await listen((_req, res) => {
      const gz = gzipSync(text);
      res.writeHead(200, {
        "content-type": "text/plain",
        "content-encoding": "gzip",
        "content-length": gz.length,
      });
      res.end(gz);
    });
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, url))]) });
    const response = await app.request("/w/shop/", { headers: { "accept-encoding": "gzip" } });
    expect(response.headers.get("content-encoding")).toBeNull();
    expect(response.headers.get("content-length")).toBeNull();
    expect(await response.text()).toBe(text);
  });

  it("passes a redirect through", async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(307, { location: "/next" });
      res.end();
    });
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, url))]) });
    const response = await app.request("/w/shop/old");
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("/next");
  });

  it("relays a streamed answer as it comes", async () => {
    let finish: () => void = () => {};
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first;");
      finish = () => res.end("second");
    });
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, url))]) });
    const response = await app.request("/w/shop/stream");
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
});

describe("router served on node:http", () => {
  it("proxies over real sockets and adds the client to x-forwarded-for", async () => {
    const stable = await echoBackend("stable");
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, stable))]), getConnInfo });
    const router = await listen(getRequestListener(app.fetch));
    const body = "payload ".repeat(10_000);
    const response = await fetch(`${router.url}/w/shop/upload?x=1`, {
      method: "PUT",
      body,
      headers: { "x-forwarded-for": "198.51.100.7", connection: "keep-alive" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({ name: "stable", method: "PUT", url: "/upload?x=1", body });
    expect(echo.headers["x-forwarded-for"]).toBe("198.51.100.7, 127.0.0.1");
    expect(echo.headers["x-forwarded-host"]).toBe(new URL(router.url).host);
  });

  it("routes by host over real sockets", async () => {
    const stable = await echoBackend("stable");
    const app = createRouter({ table: staticTableSource([tableOf(backend(1, 100, stable))]) });
    const router = await listen(getRequestListener(app.fetch));
    // fetch always sends the URL's host, so this one request goes out through node:http.
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(`${router.url}/items`, { headers: { host: "shop.localhost" } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve(text));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(answer)).toMatchObject({ name: "stable", url: "/items" });
  });
});
