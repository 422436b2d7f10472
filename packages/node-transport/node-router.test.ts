import { request as httpRequest } from "node:http";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import type { Backend } from "#core";
import { OutcomeCounters, OutlierDetector, RetryBudget, staticTableSource } from "#router";
import { backend, runFrontEndContract, tableOf } from "../../test/support/front-end-contract.ts";
import {
  closeTestServers,
  deadUrl,
  type Echo,
  echoServer,
  listen,
  rawRequest as raw,
} from "../../test/support/http-servers.ts";
import { type NodeRouter, type NodeRouterOptions, nodeRouter } from "./node-router.ts";

// The Node front end of the router, served on node:http, against real node:http backends: the
// front-end contract, and what only this front end does (bytes relayed untouched, streamed
// request bodies, its retry body limit).

const routers: NodeRouter[] = [];

afterEach(async () => {
  await closeTestServers();
  await Promise.all(routers.splice(0).map((r) => r.close()));
});

/** Serves a node router with `options`; its base URL. */
const serveWith = async (options: NodeRouterOptions): Promise<string> => {
  const router = nodeRouter(options);
  routers.push(router);
  return (await listen(router.listener)).url;
};

/** Serves a node router over `backends` (random 0 picks the first with weight); its base URL. */
const serve = (backends: Backend[], options: Partial<NodeRouterOptions> = {}): Promise<string> =>
  serveWith({ table: staticTableSource([tableOf(...backends)]), random: () => 0, ...options });

runFrontEndContract("nodeRouter", serveWith);

describe("nodeRouter: what is sent and relayed", () => {
  it("passes accept-encoding on and drops the headers the connection header names", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 100, stable.url)]);
    const { res, body } = await raw(`${router}/w/shop/cart`, {
      method: "DELETE",
      headers: { "accept-encoding": "br", connection: "keep-alive, x-secret", "x-secret": "hop" },
    });
    expect(res.statusCode).toBe(200);
    const echo = JSON.parse(body.toString()) as Echo;
    expect(echo.method).toBe("DELETE");
    // Bytes are relayed untouched, so the client's codings are the backend's to choose from.
    expect(echo.headers["accept-encoding"]).toBe("br");
    expect(echo.headers["x-secret"]).toBeUndefined();
  });

  it("relays a status with its reason", async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(418, "Short And Stout", { "content-type": "text/plain" }).end("teapot");
    });
    const router = await serve([backend(1, 100, url)]);
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
  it("does not take a path starting with // for a host", async () => {
    const stable = await echoServer("stable");
    const router = await serve([backend(1, 100, stable.url)]);
    const { res } = await raw(`${router}//evil.example.com/w/shop/`);
    expect(res.statusCode).toBe(404);
  });
});

describe("nodeRouter: connection failures and passive health", () => {
  it("does not retry a PUT whose body is larger than it keeps", async () => {
    const dead = await deadUrl();
    const live = await echoServer("live");
    const router = await serve([backend(1, 99, dead), backend(2, 1, live.url)], { retryBodyLimitBytes: 10 });
    const response = await fetch(`${router}/w/shop/doc`, { method: "PUT", body: "more than ten bytes" });
    expect(response.status).toBe(502);
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
