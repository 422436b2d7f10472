import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { memoryStore } from "#kv";
import { type SimServer, startSimServer } from "#sim";
import { countRolloutsByStatus } from "#store";
import { controlPlaneFor } from "../../test/support/control-plane.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { closeTestServers, deadUrl } from "../../test/support/http-servers.ts";
import { createApi } from "./app.ts";
import { createApiMetrics } from "./metrics.ts";

let db: TestDatabase;
let sim: SimServer;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = await startSimServer({ startupMs: 0 });
});
afterAll(async () => {
  await sim?.close();
  await db?.drop();
});
afterEach(async () => {
  for (const f of sim.world.faults()) await sim.world.removeFault(f.id);
  await Promise.all(sim.world.list().map((d) => sim.world.remove(d)));
  await closeTestServers();
});

/** The API as `devsim up` builds it; the fault routes forward to the simulator at `simUrl`. */
const api = (simUrl?: string) =>
  createApi({
    ...controlPlaneFor({ sql: db.sql, simUrl: sim.url, kv: memoryStore() }),
    metrics: createApiMetrics(() => countRolloutsByStatus(db.sql)),
    ready: async () => true,
    ...(simUrl ? { simUrl } : {}),
  });

const send = async (app: ReturnType<typeof api>, method: string, path: string, body?: unknown) => {
  const res = await app.request(path, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
};

describe("/v1/sim/faults on the API", () => {
  it("injects a region outage in the simulator, lists it and lifts it", async () => {
    const app = api(sim.url);
    const { status } = await sim.world.deploy(
      { cloud: "aws", region: "us-east-1", workload: "web", revision: 1 },
      { image: "web:1", port: 8080, healthPath: "/healthz", replicas: 1, sim: null },
    );

    const created = await send(app, "POST", "/v1/sim/faults", {
      type: "region-outage",
      cloud: "aws",
      region: "us-east-1",
      durationSeconds: 60,
    });
    expect(created).toEqual({
      status: 201,
      body: {
        id: expect.any(String),
        type: "region-outage",
        cloud: "aws",
        region: "us-east-1",
        revision: null,
        value: null,
        durationSeconds: 60,
        createdAt: expect.any(String),
        expiresAt: expect.any(String),
      },
    });
    const { id } = created.body as { id: string };
    expect(sim.world.faults().map((f) => f.id)).toEqual([id]);
    await expect(fetch(`${status.url}/`)).rejects.toThrow();

    expect(await send(app, "GET", "/v1/sim/faults")).toEqual({
      status: 200,
      body: { faults: [created.body] },
    });

    expect(await send(app, "DELETE", `/v1/sim/faults/${id}`)).toEqual({ status: 204, body: undefined });
    expect(sim.world.faults()).toEqual([]);
    expect((await fetch(`${status.url}/`)).status).toBe(200);
  });

  it("relays the simulator's 404s: an unknown cloud, region or fault id", async () => {
    const app = api(sim.url);
    expect(await send(app, "POST", "/v1/sim/faults", { type: "api-throttle", cloud: "ibm" })).toEqual({
      status: 404,
      body: {
        error: {
          code: "not_found",
          message: "cloud 'ibm' not found",
          details: { resource: "cloud", cloud: "ibm" },
        },
      },
    });
    const region = await send(app, "POST", "/v1/sim/faults", {
      type: "region-outage",
      cloud: "gcp",
      region: "mars",
    });
    expect(region).toMatchObject({
      status: 404,
      body: { error: { details: { resource: "region", region: "mars" } } },
    });
    expect(await send(app, "DELETE", "/v1/sim/faults/no-such-fault")).toEqual({
      status: 404,
      body: {
        error: {
          code: "not_found",
          message: "fault 'no-such-fault' not found",
          details: { resource: "fault", id: "no-such-fault" },
        },
      },
    });
  });

  it("refuses bad input with 400 naming the field, without reaching the simulator", async () => {
    const app = api(sim.url);
    const cases: [unknown, string][] = [
      [{ type: "latency", cloud: "aws" }, "value"],
      [{ type: "region-outage", cloud: "aws" }, "region"],
      [{ type: "errors", cloud: "aws", value: 3 }, "value"],
      [{ type: "quake", cloud: "aws" }, "type"],
      [{ type: "api-timeout", cloud: "aws", durationSeconds: 0 }, "durationSeconds"],
    ];
    for (const [body, field] of cases) {
      const res = await send(app, "POST", "/v1/sim/faults", body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "invalid_input", details: { field } } });
    }
    expect(sim.world.faults()).toEqual([]);
  });

  it("answers 503 when the simulator cannot be reached", async () => {
    const app = api(await deadUrl());
    const res = await send(app, "GET", "/v1/sim/faults");
    expect(res).toMatchObject({ status: 503, body: { error: { code: "unavailable" } } });
  });

  it("documents the routes in the OpenAPI document", async () => {
    const doc = (await send(api(sim.url), "GET", "/v1/openapi.json")).body as {
      paths: Record<string, object>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/sim/faults", "/v1/sim/faults/{id}"]));
    expect(doc.components.schemas).toHaveProperty("SimFaultInput");
    expect(doc.components.schemas).toHaveProperty("SimFault");
  });

  it("does not exist when the clouds are not simulated", async () => {
    const app = api();
    for (const [method, path] of [
      ["POST", "/v1/sim/faults"],
      ["GET", "/v1/sim/faults"],
      ["DELETE", "/v1/sim/faults/x"],
    ] as const) {
      const res = await send(
        app,
        method,
        path,
        method === "POST" ? { type: "api-timeout", cloud: "aws" } : undefined,
      );
      expect(res).toMatchObject({ status: 404, body: { error: { code: "not_found", details: { path } } } });
    }
    expect(sim.world.faults()).toEqual([]);
    const doc = (await send(app, "GET", "/v1/openapi.json")).body as { paths: Record<string, object> };
    expect(Object.keys(doc.paths).some((p) => p.startsWith("/v1/sim"))).toBe(false);
  });
});
