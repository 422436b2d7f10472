import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { AdapterError, CLOUDS, SIM_REGIONS } from "#core";
import { type SimServer, startSimServer } from "#sim";
import { runAdapterContract } from "../contract.ts";
import type { CloudAdapter, DeploymentTarget, RevisionSpec } from "../port.ts";
import { SimApiError } from "./client.ts";
import { createSimAdapter, createSimAdapters } from "./sim-adapter.ts";

const revision = (over: Partial<RevisionSpec> = {}): RevisionSpec => ({
  number: 3,
  image: "registry.example.com/shop/web:3.1.4",
  port: 8080,
  healthPath: "/healthz",
  sim: null,
  ...over,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the world's own record of a deployment, bypassing the adapter. */
const rawReader = (sim: SimServer) => ({
  readDeployment: async (target: DeploymentTarget, rev: number) => {
    const info = sim.world.describe({ ...target, revision: rev });
    return info && { image: info.image, replicas: info.desiredReplicas };
  },
  countDeployments: async (target: DeploymentTarget) =>
    sim.world
      .list()
      .filter((d) => d.cloud === target.cloud && d.region === target.region && d.workload === target.workload)
      .length,
});

for (const cloud of CLOUDS) {
  runAdapterContract({
    name: `sim (${cloud})`,
    readyTimeoutMs: 5_000,
    setup: async () => {
      const sim = await startSimServer({ startupMs: 30 });
      return {
        adapter: createSimAdapter({ cloud, baseUrl: sim.url }),
        raw: rawReader(sim),
        target: { workload: "contract", cloud, region: SIM_REGIONS[cloud].at(-1) ?? "no-region" },
        revision: revision(),
        teardown: () => sim.close(),
      };
    },
  });
}

describe("sim adapter against a simulated world", () => {
  let sim: SimServer;
  let adapter: CloudAdapter;
  const target: DeploymentTarget = { workload: "shop", cloud: "azure", region: "westeurope" };

  beforeAll(async () => {
    sim = await startSimServer({ startupMs: 0, random: () => 0.5 });
    adapter = createSimAdapter({ cloud: "azure", baseUrl: `${sim.url}/` });
  });
  afterAll(async () => {
    await sim?.close();
  });
  afterEach(async () => {
    await Promise.all(sim.world.list().map((d) => sim.world.remove(d)));
  });

  const getJson = async (url: string | null, path: string): Promise<{ status: number; body: unknown }> => {
    if (!url) throw new Error("no URL");
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: await res.json() };
  };

  test("declares direct endpoints", () => {
    expect(adapter.capabilities).toEqual({ directEndpoints: true });
    expect(adapter.cloud).toBe("azure");
  });

  test("the deployment URL answers JSON naming workload, cloud, region, revision and image", async () => {
    const { url } = await adapter.deploy(target, revision(), 1);
    expect(await getJson(url, "/cart?id=1")).toEqual({
      status: 200,
      body: {
        workload: "shop",
        cloud: "azure",
        region: "westeurope",
        revision: 3,
        image: "registry.example.com/shop/web:3.1.4",
        method: "GET",
        path: "/cart",
      },
    });
  });

  test("the health path answers ok once ready", async () => {
    const { url } = await adapter.deploy(target, revision({ healthPath: "/ready" }), 1);
    expect(await getJson(url, "/ready")).toEqual({ status: 200, body: { status: "ok" } });
  });

  test("errorRate 1 gives 500s and errorRate 0 gives none", async () => {
    const bad = await adapter.deploy(
      target,
      revision({ number: 1, sim: { errorRate: 1, latencyMs: 0, ready: true } }),
      1,
    );
    const good = await adapter.deploy(
      target,
      revision({ number: 2, sim: { errorRate: 0, latencyMs: 0, ready: true } }),
      1,
    );
    const badStatuses = new Set<number>();
    const goodStatuses = new Set<number>();
    for (let i = 0; i < 10; i += 1) {
      badStatuses.add((await getJson(bad.url, "/")).status);
      goodStatuses.add((await getJson(good.url, "/")).status);
    }
    expect([...badStatuses]).toEqual([500]);
    expect([...goodStatuses]).toEqual([200]);
  });

  test("latency is added to every answer", async () => {
    const { url } = await adapter.deploy(
      target,
      revision({ sim: { errorRate: 0, latencyMs: 150, ready: true } }),
      1,
    );
    const started = performance.now();
    expect((await getJson(url, "/")).status).toBe(200);
    // random() = 0.5 gives no jitter.
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  test("ready: false never becomes ready", async () => {
    const notReady = revision({ sim: { errorRate: 0, latencyMs: 0, ready: false } });
    const { url } = await adapter.deploy(target, notReady, 2);
    await sleep(100);
    expect(await adapter.describe(target, notReady.number)).toMatchObject({
      desiredReplicas: 2,
      readyReplicas: 0,
    });
    expect((await getJson(url, "/healthz")).status).toBe(503);
  });

  test("a target in another cloud is invalid and never reaches the world", async () => {
    const error = await adapter.deploy({ ...target, cloud: "gcp" }, revision(), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ failure: "invalid", cloud: "azure" });
    expect(sim.world.list()).toEqual([]);
  });

  test("an unknown region is not_found, even for describe and remove", async () => {
    const nowhere = { ...target, region: "mars-1" };
    await expect(adapter.describe(nowhere, 1)).rejects.toMatchObject({ failure: "not_found" });
    await expect(adapter.remove(nowhere, 1)).rejects.toMatchObject({ failure: "not_found" });
    await expect(adapter.deploy(nowhere, revision(), 1)).rejects.toMatchObject({ failure: "not_found" });
  });

  test("createSimAdapters gives one adapter per cloud over the same world", async () => {
    const adapters = createSimAdapters(sim.url, { timeoutMs: 2000 });
    expect(Object.keys(adapters).sort()).toEqual([...CLOUDS].sort());
    for (const cloud of CLOUDS) {
      const a = adapters[cloud];
      expect(a.cloud).toBe(cloud);
      const region = SIM_REGIONS[cloud][0] ?? "";
      await a.deploy({ workload: "multi", cloud, region }, revision(), 1);
    }
    expect(sim.world.list().map((d) => d.cloud)).toEqual([...CLOUDS]);
  });

  test("bad options are an AdapterError", () => {
    expect(() => createSimAdapter({ cloud: "aws", baseUrl: "not a url" })).toThrow(AdapterError);
    expect(() => createSimAdapter({ cloud: "aws", baseUrl: "http://127.0.0.1:1", timeoutMs: 0 })).toThrow(
      AdapterError,
    );
  });
});

describe("sim adapter error mapping", () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  let handler: Handler = (_req, res) => res.end();
  let fake: Server;
  let baseUrl: string;
  const target: DeploymentTarget = { workload: "shop", cloud: "gcp", region: "us-central1" };

  beforeAll(async () => {
    fake = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      fake.close(() => resolve());
      fake.closeAllConnections();
    });
  });

  const adapter = (timeoutMs = 2000): CloudAdapter => createSimAdapter({ cloud: "gcp", baseUrl, timeoutMs });

  const answer =
    (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
    (_req, res) => {
      const text = typeof body === "string" ? body : JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(text);
    };

  const apiError = (code: string, message: string, details: object = {}) => ({
    error: { code, message, details },
  });

  const failureOf = async (call: Promise<unknown>): Promise<AdapterError> => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof AdapterError)) throw new Error(`expected an AdapterError, got ${String(error)}`);
    expect(error.cloud).toBe("gcp");
    expect(error.cause).toBeDefined();
    return error;
  };

  test("429 is throttled and keeps Retry-After and the request id", async () => {
    handler = answer(429, apiError("throttled", "slow down"), {
      "retry-after": "7",
      "x-request-id": "req-42",
    });
    const error = await failureOf(adapter().deploy(target, revision(), 1));
    expect(error.failure).toBe("throttled");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("retry after 7");
    expect(error.message).toContain("slow down");
    expect(error.requestId).toBe("req-42");
    expect(error.cause).toBeInstanceOf(SimApiError);
    expect(error.cause).toMatchObject({ status: 429, retryAfter: "7" });
  });

  test("5xx is unavailable", async () => {
    for (const status of [500, 502, 503]) {
      handler = answer(status, apiError("internal", "boom"));
      const error = await failureOf(adapter().scale(target, 1, 2));
      expect(error.failure).toBe("unavailable");
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(String(status));
    }
  });

  test("400 is invalid and 409 is conflict, neither retryable", async () => {
    handler = answer(400, apiError("invalid_input", "invalid body.replicas: too big"));
    const invalid = await failureOf(adapter().deploy(target, revision(), 1000));
    expect(invalid).toMatchObject({ failure: "invalid", retryable: false });
    expect(invalid.message).toContain("body.replicas");

    handler = answer(409, apiError("conflict", "busy"));
    expect(await failureOf(adapter().deploy(target, revision(), 1))).toMatchObject({
      failure: "conflict",
      retryable: false,
    });
  });

  test("garbage in a success is unavailable, with the parse failure as cause", async () => {
    handler = answer(200, "<html>not json</html>");
    const notJson = await failureOf(adapter().describe(target, 1));
    expect(notJson.failure).toBe("unavailable");
    expect(notJson.message).toContain("not json");

    handler = answer(200, { desiredReplicas: "two", readyReplicas: 0, url: null });
    const wrongShape = await failureOf(adapter().describe(target, 1));
    expect(wrongShape.failure).toBe("unavailable");
    expect(wrongShape.cause).toBeInstanceOf(z.ZodError);

    handler = answer(200, { regions: "all of them" });
    expect((await failureOf(adapter().regions())).failure).toBe("unavailable");
  });

  test("a 404 about the deployment: describe is null, remove succeeds, scale and deploy are not_found", async () => {
    handler = answer(404, apiError("not_found", "deployment not found", { resource: "deployment" }));
    expect(await adapter().describe(target, 1)).toBeNull();
    await expect(adapter().remove(target, 1)).resolves.toBeUndefined();
    expect((await failureOf(adapter().scale(target, 1, 2))).failure).toBe("not_found");
    expect((await failureOf(adapter().deploy(target, revision(), 1))).failure).toBe("not_found");
  });

  test("a 404 that does not name a deployment is not taken for absence", async () => {
    handler = answer(404, "Not Found");
    expect((await failureOf(adapter().describe(target, 1))).failure).toBe("not_found");
    expect((await failureOf(adapter().remove(target, 1))).failure).toBe("not_found");
  });

  test("sends what the port was given, to the right path", async () => {
    let seen: { method?: string; url?: string; body: string } = { body: "" };
    handler = (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        seen = { method: req.method, url: req.url, body };
        answer(201, { desiredReplicas: 2, readyReplicas: 0, url: null })(req, res);
      });
    };
    const status = await adapter().deploy(target, revision(), 2);
    expect(status).toEqual({ desiredReplicas: 2, readyReplicas: 0, url: null });
    expect(seen.method).toBe("PUT");
    expect(seen.url).toBe("/v1/clouds/gcp/regions/us-central1/workloads/shop/revisions/3");
    expect(JSON.parse(seen.body)).toEqual({
      image: "registry.example.com/shop/web:3.1.4",
      port: 8080,
      healthPath: "/healthz",
      replicas: 2,
      sim: null,
    });
  });

  test("a closed port is unavailable, with the connection error as cause", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const down = createSimAdapter({ cloud: "gcp", baseUrl: `http://127.0.0.1:${port}` });
    const error = await failureOf(down.regions());
    expect(error.failure).toBe("unavailable");
    expect(error.retryable).toBe(true);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  test("a server that never answers is a timeout, promptly", async () => {
    handler = () => undefined;
    const started = performance.now();
    const error = await failureOf(adapter(100).describe(target, 1));
    expect(error.failure).toBe("timeout");
    expect(error.retryable).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("a body that never ends is a timeout too", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"desiredReplicas":');
    };
    expect((await failureOf(adapter(100).describe(target, 1))).failure).toBe("timeout");
  });
});
