import { request as httpRequest, type IncomingMessage } from "node:http";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import type { Backend, RoutingTable } from "#core";
import { OutcomeCounters, OutlierDetector, RetryBudget, staticTableSource } from "#router";
import { closeTestServers, deadUrl, type Echo, echoServer, listen } from "../../test/support/http-servers.ts";
import { type NodeRouter, type NodeRouterOptions, nodeRouter } from "./node-router.ts";

// The Node front end of the router, served on node:http, against real node:http backends.

const routers: NodeRouter[] = [];

afterEach(async () => {
  await closeTestServers();
  await Promise.all(routers.splice(0).map((r) => r.close()));
});

const backend = (revision: number, weight: number, url: string): Backend => ({
  cloud: revision === 1 ? "aws" : "digitalocean",
  region: revision === 1 ? "us-east-1" : "fra1",
  revision,
  weight,
  url,
});

const tableOf = (...backends: Backend[]): RoutingTable => ({ workload: "shop", version: 1, backends });

/** Serves a node router over `backends` (random 0 picks the first with weight); its base URL. */
const serve = async (backends: Backend[], options: Partial<NodeRouterOptions> = {}): Promise<string> => {
  const router = nodeRouter({
    table: staticTableSource([tableOf(...backends)]),
    random: () => 0,
    ...options,
  });
  routers.push(router);
  return (await listen(router.listener)).url;
};

/** A raw answer: status, headers and body bytes exactly as they came over the wire. */
const raw = (
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ res: IncomingMessage; body: Buffer }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ res, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(init.body);
  });

describe("nodeRouter: what is sent and relayed", () => {
  it("forwards method, path, query and headers, and relays status, headers and body", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 100, stable.url)]);
    const { res, body } = await raw(`${router}/w/shop/cart/items?id=7&tag=a%20b`, {
      method: "DELETE",
      headers: {
        accept: "application/json",
        "x-custom": "kept",
        "accept-encoding": "br",
        connection: "keep-alive, x-secret",
        "x-secret": "hop",
        "x-forwarded-for": "203.0.113.9",
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-devsim-backend"]).toBe("aws/us-east-1/1");
    expect(res.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    const echo = JSON.parse(body.toString()) as Echo;
    expect(echo).toMatchObject({ name: "stable", method: "DELETE", url: "/cart/items?id=7&tag=a%20b" });
    expect(echo.headers).toMatchObject({
      host: new URL(stable.url).host,
      accept: "application/json",
      "x-custom": "kept",
      // Bytes are relayed untouched, so the client's codings are the backend's to choose from.
      "accept-encoding": "br",
      "x-forwarded-host": new URL(router).host,
      "x-forwarded-proto": "http",
      "x-forwarded-for": "203.0.113.9, 127.0.0.1",
    });
    expect(echo.headers["x-secret"]).toBeUndefined();
  });

  it("routes by host, and joins a backend's base path without doubling slashes", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 100, `${stable.url}/base/`)]);
    const { body } = await raw(`${router}/orders?x=1`, { headers: { host: "shop.example.com" } });
    expect(JSON.parse(body.toString())).toMatchObject({ url: "/base/orders?x=1" });
  });

  it("relays a status with its reason, and a redirect without following it", async () => {
    const { url } = await listen((req, res) => {
      if (req.url === "/old") res.writeHead(307, { location: "/next" }).end();
      else res.writeHead(418, "Short And Stout", { "content-type": "text/plain" }).end("teapot");
    });
    const router = await serve([backend(1, 100, url)]);
    const redirect = await raw(`${router}/w/shop/old`);
    expect(redirect.res.statusCode).toBe(307);
    expect(redirect.res.headers.location).toBe("/next");
    const teapot = await raw(`${router}/w/shop/brew`);
    expect(teapot.res.statusCode).toBe(418);
    expect(teapot.res.statusMessage).toBe("Short And Stout");
    expect(teapot.body.toString()).toBe("teapot");
  });

  it("answers HEAD and 204 without a body", async () => {
    const { url } = await listen((req, res) => {
      if (req.method === "HEAD") res.writeHead(200, { "content-length": "5" }).end();
      else res.writeHead(204).end();
    });
    const router = await serve([backend(1, 100, url)]);
    const head = await raw(`${router}/w/shop/`, { method: "HEAD" });
    expect(head.res.statusCode).toBe(200);
    expect(head.res.headers["content-length"]).toBe("5");
    expect(head.body).toHaveLength(0);
    const empty = await raw(`${router}/w/shop/`, { method: "DELETE" });
    expect(empty.res.statusCode).toBe(204);
    expect(empty.body).toHaveLength(0);
  });

  it("relays an encoded answer byte for byte, with its encoding headers", async () => {
    const encoded = gzipSync("hello ".repeat(10_000));
    const { url } = await listen((_req, res) => {
      res.writeHead(200, {
        "content-encoding": "gzip",
        "content-length": encoded.length,
        connection: "keep-alive",
        "keep-alive": "timeout=5",
      });
      res.end(encoded);
    });
    const router = await serve([backend(1, 100, url)]);
    const { res, body } = await raw(`${router}/w/shop/`, { headers: { "accept-encoding": "gzip" } });
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers["content-length"]).toBe(String(encoded.length));
    expect(body.equals(encoded)).toBe(true);
  });

  it("forwards a POST body of a megabyte and relays an answer of a megabyte, byte for byte", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 100, stable.url)]);
    const body = Array.from({ length: 1 << 20 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    const response = await fetch(`${router}/w/shop/orders`, {
      method: "POST",
      body,
      headers: { "content-type": "text/plain" },
    });
    const echo = (await response.json()) as Echo;
    expect(echo.method).toBe("POST");
    expect(echo.headers["content-type"]).toBe("text/plain");
    expect(echo.body === body).toBe(true);
  });

  it("relays a streamed answer as it comes", async () => {
    let finish: () => void = () => {};
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first;");
      finish = () => res.end("second");
    });
    const router = await serve([backend(1, 100, url)]);
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

  it("streams a request body to the backend before the client has sent all of it", async () => {
    let sawFirst: (chunk: string) => void = () => {};
    const firstArrived = new Promise<string>((resolve) => {
      sawFirst = resolve;
    });
    const { url } = await listen(async (req, res) => {
      let received = "";
      for await (const chunk of req) {
        if (received === "") sawFirst(String(chunk));
        received += String(chunk);
      }
      res.end(`got ${received}`);
    });
    const router = await serve([backend(1, 100, url)]);
    const answer = new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${router}/w/shop/upload`, { method: "POST" }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve(text));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.write("part-one;");
      // The rest is sent only once the backend has seen the first part: proof it was not buffered.
      void firstArrived.then(() => req.end("part-two"));
    });
    expect(await firstArrived).toBe("part-one;");
    expect(await answer).toBe("got part-one;part-two");
  });

  it("tells the backend when the client hangs up mid-answer", async () => {
    let backendSawClose: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      backendSawClose = resolve;
    });
    const { url } = await listen((_req, res) => {
      res.writeHead(200);
      res.write("start");
      res.on("close", () => backendSawClose());
    });
    const router = await serve([backend(1, 100, url)]);
    const controller = new AbortController();
    const response = await fetch(`${router}/w/shop/`, { signal: controller.signal });
    await response.body?.getReader().read();
    controller.abort();
    await closed;
  });

  it("serves many requests over the same few connections", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 100, stable.url)]);
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`${router}/w/shop/${i}`);
      expect(((await response.json()) as Echo).url).toBe(`/${i}`);
    }
    expect(stable.sockets).toHaveLength(1);
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => fetch(`${router}/w/shop/${i}`).then((r) => r.json())),
      );
    }
    // Eight at a time need at most eight connections, whatever the rounds.
    expect(stable.sockets.length).toBeGreaterThan(1);
    expect(stable.sockets.length).toBeLessThanOrEqual(8);
  });
});

describe("nodeRouter: the router's own answers", () => {
  it("answers 404 without a workload, 404 for an unknown one and 503 when nothing has weight", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 0, stable.url)]);
    const none = await raw(`${router}/elsewhere`);
    expect(none.res.statusCode).toBe(404);
    expect(JSON.parse(none.body.toString())).toMatchObject({ error: { code: "not_found" } });
    const unknown = await raw(`${router}/w/other/`);
    expect(unknown.res.statusCode).toBe(404);
    expect(JSON.parse(unknown.body.toString())).toMatchObject({ error: { details: { workload: "other" } } });
    const empty = await raw(`${router}/w/shop/`);
    expect(empty.res.statusCode).toBe(503);
    expect(JSON.parse(empty.body.toString())).toMatchObject({ error: { code: "unavailable" } });
  });

  it("does not take a path starting with // for a host", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 100, stable.url)]);
    const { res } = await raw(`${router}//evil.example.com/w/shop/`);
    expect(res.statusCode).toBe(404);
  });
});

describe("nodeRouter: connection failures and passive health", () => {
  it("retries a GET that finds a closed port on the live backend, and counts both", async () => {
    const dead = await deadUrl();
    const live = await echoServer("live");
    const counters = new OutcomeCounters();
    const router = await serve([backend(1, 99, dead), backend(2, 1, live.url)], { counters });
    const response = await fetch(`${router}/w/shop/status`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-devsim-backend")).toBe("digitalocean/fra1/2");
    expect(await response.json()).toMatchObject({ name: "live", url: "/status" });
    expect(counters.snapshot().series).toMatchObject([
      { revision: 1, requests: 1, serverErrors: 1 },
      { revision: 2, requests: 1, serverErrors: 0 },
    ]);
  });

  it("retries a PUT with its whole body", async () => {
    const dead = await deadUrl();
    const live = await echoServer("live");
    const router = await serve([backend(1, 99, dead), backend(2, 1, live.url)]);
    const body = "document ".repeat(5_000);
    const response = await fetch(`${router}/w/shop/doc`, { method: "PUT", body });
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({ name: "live", method: "PUT" });
    expect(echo.body === body).toBe(true);
  });

  it("does not retry a PUT whose body is larger than it keeps", async () => {
    const dead = await deadUrl();
    const live = await echoServer("live");
    const router = await serve([backend(1, 99, dead), backend(2, 1, live.url)], { retryBodyLimitBytes: 10 });
    const response = await fetch(`${router}/w/shop/doc`, { method: "PUT", body: "more than ten bytes" });
    expect(response.status).toBe(502);
    expect(live.sockets).toHaveLength(0);
  });

  it("answers 502 naming the backend for a POST that finds a closed port, without retrying", async () => {
    const dead = await deadUrl();
    const live = await echoServer("live");
    const router = await serve([backend(1, 99, dead), backend(2, 1, live.url)]);
    const { res, body } = await raw(`${router}/w/shop/orders`, { method: "POST", body: "{}" });
    expect(res.statusCode).toBe(502);
    expect(res.headers["x-devsim-backend"]).toBe("aws/us-east-1/1");
    expect(JSON.parse(body.toString())).toMatchObject({ error: { code: "bad_gateway" } });
    expect(live.sockets).toHaveLength(0);
  });

  it("ejects a backend whose connections keep failing, so later requests go straight to the others", async () => {
    const dead = await deadUrl();
    const live = await echoServer("live");
    const counters = new OutcomeCounters();
    const outliers = new OutlierDetector({
      consecutiveFailures: 2,
      baseEjectionMs: 60_000,
      maxEjectionMs: 60_000,
    });
    const router = await serve([backend(1, 99, dead), backend(2, 1, live.url)], { counters, outliers });
    for (let i = 0; i < 10; i++) expect((await fetch(`${router}/w/shop/`)).status).toBe(200);
    const dead1 = counters.snapshot().series.find((s) => s.revision === 1);
    // Two failures eject it; the eight requests after never try it.
    expect(dead1?.requests).toBe(2);
    expect(outliers.isEjected(dead)).toBe(true);
  });

  it("bounds retries by its budget, so a total outage does not double the load", async () => {
    const deadA = await deadUrl();
    const deadB = await deadUrl();
    const counters = new OutcomeCounters();
    const router = await serve([backend(1, 50, deadA), backend(2, 50, deadB)], {
      counters,
      retryBudget: new RetryBudget({ ratio: 0.2, minPerSecond: 0 }),
      // Never ejected, so every request tries a dead backend.
      outliers: new OutlierDetector({ consecutiveFailures: 1_000_000 }),
    });
    for (let i = 0; i < 50; i++) expect((await fetch(`${router}/w/shop/`)).status).toBe(502);
    const attempts = counters.snapshot().series.reduce((sum, s) => sum + s.requests, 0);
    // 50 requests and a fifth as many retries, not 100 attempts.
    expect(attempts).toBe(60);
  });
});
