import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { AdapterError, CLOUDS, type RetryPolicyInput, SIM_REGIONS } from "#core";
import { type SimServer, startSimServer } from "#sim";
import { adapterFailureOf } from "../../test/support/fixtures.ts";
import { deadUrl } from "../../test/support/http-servers.ts";
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
    expect(() =>
      createSimAdapter({ cloud: "aws", baseUrl: "http://127.0.0.1:1", retry: { attempts: 0 } }),
    ).toThrow(/retry\.attempts/);
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

  // One attempt, so each failure maps straight to its error; retries have their own tests below.
  const adapter = (timeoutMs = 2000, retry: RetryPolicyInput = { attempts: 1 }): CloudAdapter =>
    createSimAdapter({ cloud: "gcp", baseUrl, timeoutMs, retry });

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
    const error = await adapterFailureOf(call);
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
    expect(error.message).not.toContain("gave up");
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
    const down = createSimAdapter({
      cloud: "gcp",
      baseUrl: await deadUrl(),
      retry: { attempts: 1 },
    });
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

describe("sim adapter retries against a fake control API", () => {
  let replies: ((res: ServerResponse) => void)[] = [];
  let seen = 0;
  let fake: Server;
  let baseUrl: string;
  const target: DeploymentTarget = { workload: "shop", cloud: "aws", region: "us-east-1" };

  beforeAll(async () => {
    // Answers each request with the next scripted reply; the last one repeats.
    fake = createServer((req, res) => {
      req.resume();
      const reply = replies[Math.min(seen, replies.length - 1)];
      seen += 1;
      reply?.(res);
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      fake.close(() => resolve());
      fake.closeAllConnections();
    });
  });

  const script = (...next: ((res: ServerResponse) => void)[]): void => {
    replies = next;
    seen = 0;
  };
  const status =
    (code: number, headers: Record<string, string> = {}) =>
    (res: ServerResponse) =>
      res
        .writeHead(code, { "content-type": "application/json", ...headers })
        .end(JSON.stringify({ error: { code: "x", message: `status ${code}`, details: {} } }));
  const ok = (res: ServerResponse) =>
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ desiredReplicas: 1, readyReplicas: 1, url: "http://127.0.0.1:9/" }));
  const silent = () => undefined;

  const adapter = (retry: RetryPolicyInput = {}, timeoutMs = 2000): CloudAdapter =>
    createSimAdapter({ cloud: "aws", baseUrl, timeoutMs, retry: { baseMs: 10, maxMs: 50, ...retry } });

  test("5xx and 429 are retried until an answer comes", async () => {
    script(status(503), status(500), status(429), ok);
    expect(await adapter().describe(target, 1)).toMatchObject({ readyReplicas: 1 });
    expect(seen).toBe(4);
  });

  test("Retry-After sets the wait before the next attempt", async () => {
    script(status(429, { "retry-after": "1" }), ok);
    const started = performance.now();
    await adapter({ baseMs: 0 }).describe(target, 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(seen).toBe(2);
  });

  test("a Retry-After beyond the budget ends the retries at once", async () => {
    script(status(429, { "retry-after": "60" }), ok);
    const started = performance.now();
    const error = await adapter()
      .describe(target, 1)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: "throttled" });
    expect(seen).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("when the attempts run out the last failure surfaces, saying so, with its cause", async () => {
    script(status(502));
    const error = await adapter({ attempts: 3 })
      .scale(target, 1, 2)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ failure: "unavailable", cloud: "aws" });
    expect((error as Error).message).toMatch(/HTTP 502.*gave up after 3 attempts in \d+ ms/);
    expect((error as Error).cause).toBeInstanceOf(SimApiError);
    expect((error as Error).cause).toMatchObject({ status: 502 });
    expect(seen).toBe(3);
  });

  test("4xx other than 429 is not retried", async () => {
    for (const code of [400, 401, 403, 409, 422]) {
      script(status(code), ok);
      await expect(adapter().scale(target, 1, 2)).rejects.toBeInstanceOf(AdapterError);
      expect(seen).toBe(1);
    }
  });

  test("a 404 about the deployment is an answer, not a failure to retry", async () => {
    script((res) =>
      res.writeHead(404, { "content-type": "application/json" }).end(
        JSON.stringify({
          error: { code: "not_found", message: "gone", details: { resource: "deployment" } },
        }),
      ),
    );
    expect(await adapter().describe(target, 1)).toBeNull();
    expect(seen).toBe(1);
  });

  test("a call that times out is sent again", async () => {
    script(silent, ok);
    expect(await adapter({}, 100).describe(target, 1)).toMatchObject({ readyReplicas: 1 });
    expect(seen).toBe(2);
  });

  test("a refused connection is retried, then unavailable", async () => {
    const down = createSimAdapter({
      cloud: "aws",
      baseUrl: await deadUrl(),
      retry: { attempts: 3, baseMs: 10 },
    });
    const error = await down.regions().catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: "unavailable" });
    expect((error as Error).message).toContain("gave up after 3 attempts");
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });
});

describe("sim adapter retries against cloud API faults in the simulated world", () => {
  let sim: SimServer;
  const target: DeploymentTarget = { workload: "chaos", cloud: "gcp", region: "europe-west1" };

  beforeAll(async () => {
    sim = await startSimServer({ startupMs: 0 });
  });
  afterAll(async () => {
    await sim?.close();
  });
  afterEach(async () => {
    for (const f of sim.world.faults()) await sim.world.removeFault(f.id);
    await Promise.all(sim.world.list().map((d) => sim.world.remove(d)));
  });

  const adapter = (retry: RetryPolicyInput = {}, timeoutMs = 5000): CloudAdapter =>
    createSimAdapter({ cloud: "gcp", baseUrl: sim.url, timeoutMs, retry });

  test("a deploy during a short throttle succeeds once it lifts, after the Retry-After", async () => {
    await sim.world.addFault({ type: "api-throttle", cloud: "gcp", value: 1, durationSeconds: 0.5 });
    const started = performance.now();
    const status = await adapter().deploy(target, revision(), 2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(status).toMatchObject({ desiredReplicas: 2, url: expect.stringMatching(/^http:/) });
    expect(sim.world.describe({ ...target, revision: 3 })?.desiredReplicas).toBe(2);
  });

  test("a throttle that does not lift gives throttled once the budget is spent", async () => {
    await sim.world.addFault({ type: "api-throttle", cloud: "gcp", region: "europe-west1", value: 1 });
    const error = await adapter({ budgetMs: 1_500 })
      .deploy(target, revision(), 1)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ failure: "throttled", cloud: "gcp" });
    // Attempts at 0 and 1 s; a third, at 2 s, would start past the budget.
    expect((error as Error).message).toContain("gave up after 2 attempts");
    expect((error as Error).cause).toMatchObject({ status: 429, retryAfter: "1" });
    expect(sim.world.list()).toEqual([]);
    // The other region of the cloud still answers at once.
    await adapter({ attempts: 1 }).deploy({ ...target, region: "us-central1" }, revision(), 1);
  });

  test("the per-call timeout turns a hanging call into a retry that succeeds after the fault", async () => {
    await sim.world.addFault({ type: "api-timeout", cloud: "gcp", durationSeconds: 0.4 });
    const started = performance.now();
    const status = await adapter({ baseMs: 50 }, 150).deploy(target, revision(), 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(status.desiredReplicas).toBe(1);
    expect(sim.world.list()).toHaveLength(1);
  });

  test("a timeout that does not lift gives timeout once the budget is spent", async () => {
    await sim.world.addFault({ type: "api-timeout", cloud: "gcp" });
    const started = performance.now();
    const error = await adapter({ budgetMs: 400, baseMs: 10 }, 100)
      .describe(target, 3)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: "timeout", cloud: "gcp" });
    expect((error as Error).message).toMatch(/gave up after \d attempts/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test("deploy into a region that is out is retried as unavailable, and works once it is back", async () => {
    const outage = await sim.world.addFault({
      type: "region-outage",
      cloud: "gcp",
      region: "europe-west1",
      durationSeconds: 0.3,
    });
    expect(outage.expiresAt).not.toBeNull();
    // Nineteen waits drawn from [0, 100) ms sum to about 950 ms: far past the 300 ms outage.
    const status = await adapter({ attempts: 20, baseMs: 100, maxMs: 100 }).deploy(target, revision(), 1);
    expect(status.url).toMatch(/^http:/);
    expect(sim.world.faults()).toEqual([]);
  });
});
