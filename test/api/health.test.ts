import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApi } from "#api";
import { runHealthPass } from "#engine";
import { type Harness, harnessApi, startHarness } from "../support/harness.ts";

let h: Harness;
let api: ReturnType<typeof createApi>;

beforeAll(async () => {
  h = await startHarness();
  api = harnessApi(h);
});
afterAll(async () => {
  await h?.close();
});

interface ApiError {
  error: { code: string; message: string; details: Record<string, unknown> };
}
interface TargetHealthJson {
  cloud: string;
  region: string;
  status: string;
  weight: number;
  lastCheck: string | null;
}
interface HealthJson {
  targets: TargetHealthJson[];
}
interface RolloutJson {
  id: string;
  status: string;
  heldReason: string | null;
}

const send = async <T = ApiError>(method: string, path: string, body?: unknown) => {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const res = await api.request(path, init);
  return { status: res.status, json: (await res.json()) as T };
};

let clock = Date.now();
const passes = async (n: number) => {
  for (let i = 0; i < n; i++) {
    clock = Math.max(clock + 1_000, Date.now());
    await runHealthPass(h.deps, { now: new Date(clock) });
  }
};

const shop = {
  name: "shop",
  image: "registry.example.com/shop:1",
  port: 8080,
  healthCheck: { path: "/healthz", intervalSeconds: 1, timeoutSeconds: 0.5 },
  targets: [
    { cloud: "aws", region: "us-east-1", replicas: 1 },
    { cloud: "azure", region: "eastus", replicas: 1 },
  ],
  strategy: {
    type: "canary",
    steps: [{ setWeight: 20, targets: [{ cloud: "aws", region: "us-east-1" }] }, { pause: {} }],
  },
};
const statuses = (health: HealthJson) =>
  health.targets.map((t) => [`${t.cloud}/${t.region}`, t.status, t.weight]);

describe("GET /v1/workloads/{name}/health", () => {
  it("answers 404 for an unknown workload", async () => {
    const res = await send("GET", "/v1/workloads/nobody/health");
    expect(res.status).toBe(404);
    expect(res.json.error).toMatchObject({ code: "not_found", details: { workload: "nobody" } });
  });

  it("follows a target from unknown to healthy, unhealthy and recovering", async () => {
    const created = await send<{ rollout: RolloutJson }>("POST", "/v1/workloads", shop);
    expect(created.status).toBe(201);
    await h.drive(
      async () =>
        (await send<RolloutJson>("GET", `/v1/rollouts/${created.json.rollout.id}`)).json.status ===
        "succeeded",
    );

    const fresh = await send<HealthJson>("GET", "/v1/workloads/shop/health");
    expect(fresh.status).toBe(200);
    expect(fresh.json.targets).toEqual([
      { cloud: "aws", region: "us-east-1", status: "unknown", weight: 50, lastCheck: null },
      { cloud: "azure", region: "eastus", status: "unknown", weight: 50, lastCheck: null },
    ]);

    await passes(2);
    const healthy = (await send<HealthJson>("GET", "/v1/workloads/shop/health")).json;
    expect(statuses(healthy)).toEqual([
      ["aws/us-east-1", "healthy", 50],
      ["azure/eastus", "healthy", 50],
    ]);
    for (const t of healthy.targets) expect(t.lastCheck).toBe(new Date(clock).toISOString());

    h.sim.world.scale({ workload: "shop", cloud: "azure", region: "eastus", revision: 1 }, 0);
    await passes(2);
    expect(statuses((await send<HealthJson>("GET", "/v1/workloads/shop/health")).json)).toEqual([
      ["aws/us-east-1", "healthy", 100],
      ["azure/eastus", "unhealthy", 0],
    ]);
    const traffic = await send<{ backends: { region: string; weight: number }[] }>(
      "GET",
      "/v1/workloads/shop/traffic",
    );
    expect(traffic.json.backends.map((b) => [b.region, b.weight])).toEqual([
      ["us-east-1", 100],
      ["eastus", 0],
    ]);

    h.sim.world.scale({ workload: "shop", cloud: "azure", region: "eastus", revision: 1 }, 1);
    await sleep(100);
    await passes(2);
    expect(statuses((await send<HealthJson>("GET", "/v1/workloads/shop/health")).json)).toEqual([
      ["aws/us-east-1", "healthy", 87.5],
      ["azure/eastus", "recovering", 12.5],
    ]);
    await passes(2);
    expect(statuses((await send<HealthJson>("GET", "/v1/workloads/shop/health")).json)).toEqual([
      ["aws/us-east-1", "healthy", 50],
      ["azure/eastus", "healthy", 50],
    ]);
  });
});

describe("rollouts while the workload is degraded", () => {
  it("answer 409 to promote, naming the targets, and still abort", async () => {
    const started = await send<RolloutJson>("POST", "/v1/workloads/shop/rollouts", {
      image: "registry.example.com/shop:2",
    });
    expect(started.status).toBe(202);
    expect(started.json.heldReason).toBeNull();
    await h.drive(
      async () =>
        (await send<RolloutJson>("GET", `/v1/rollouts/${started.json.id}`)).json.status === "paused",
    );

    h.sim.world.scale({ workload: "shop", cloud: "azure", region: "eastus", revision: 1 }, 0);
    await passes(2);
    const refused = await send("POST", `/v1/rollouts/${started.json.id}/promote`);
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe("conflict");
    expect(refused.json.error.message).toMatch(/workload 'shop' is degraded: azure\/eastus failed over/);
    expect(refused.json.error.details).toMatchObject({
      degradedTargets: [{ cloud: "azure", region: "eastus", status: "failed", percent: 0 }],
    });
    expect((await send<RolloutJson>("GET", `/v1/rollouts/${started.json.id}`)).json.status).toBe("paused");

    const aborted = await send<RolloutJson>("POST", `/v1/rollouts/${started.json.id}/abort`);
    expect(aborted.status).toBe(200);
    expect(aborted.json.status).toBe("aborted");
  });
});

describe("workload specs", () => {
  it("show the health check with its defaults and the failover policy", async () => {
    const res = await send<{ healthCheck: unknown; failover: unknown }>("GET", "/v1/workloads/shop");
    expect(res.json.healthCheck).toEqual({
      path: "/healthz",
      intervalSeconds: 1,
      timeoutSeconds: 0.5,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    expect(res.json.failover).toEqual({
      sameCloudFirst: true,
      cloudOrder: [],
      recoverySteps: [25, 50, 100],
      scaleSurvivors: true,
    });
  });

  it.each([
    [{ healthCheck: { path: "/healthz", timeoutSeconds: 10 } }, "healthCheck.timeoutSeconds"],
    [{ healthCheck: { path: "/healthz", intervalSeconds: 0 } }, "healthCheck.intervalSeconds"],
    [{ failover: { recoverySteps: [50, 20, 100] } }, "failover.recoverySteps.1"],
    [{ failover: { cloudOrder: ["aws", "aws"] } }, "failover.cloudOrder.1"],
  ])("answer 400 naming the field for %j", async (fields, field) => {
    const res = await send("POST", "/v1/workloads", { ...shop, name: "bad", ...fields });
    expect(res.status).toBe(400);
    expect(res.json.error.details.field).toBe(field);
  });

  it("are documented with the health route", async () => {
    const doc = (await send<{ paths: Record<string, unknown> }>("GET", "/v1/openapi.json")).json;
    expect(Object.keys(doc.paths)).toContain("/v1/workloads/{name}/health");
  });
});
