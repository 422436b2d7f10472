import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SIM_REGIONS } from "#core";
import { startTraffic } from "#sim";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";
import { callJson, FAST_HEALTH_CHECK, FAST_HEALTH_INTERVAL_S } from "../support/json-api.ts";
import { routerAttempts } from "../support/router-metrics.ts";

// The done-when, end to end through `devsim up`: under steady load through the router, a
// region outage fails no user request, traffic leaves the region within two health intervals, and
// comes back gradually once the fault is cleared.

let db: TestDatabase;
let running: DevsimProcess;

beforeAll(async () => {
  db = await createTestDatabase();
  running = await spawnDevsim(["--no-demo", "--database-url", db.url]);
});
// A test that fails mid-outage must not leave the region out for the next one.
afterEach(async () => {
  const { json } = await call<{ faults: { id: string }[] }>("GET", "/v1/sim/faults");
  for (const fault of json.faults) await call("DELETE", `/v1/sim/faults/${fault.id}`);
});
afterAll(async () => {
  await running?.stop("SIGKILL").catch(() => {});
  await db?.drop();
});

interface HealthJson {
  targets: { cloud: string; region: string; status: string; weight: number; lastCheck: string | null }[];
}

const call = <T>(method: string, path: string, body?: unknown) =>
  callJson<T>(running.apiUrl, method, path, body);

/** Attempts the router sent to one region of the workload, from the API's /metrics. */
const attemptsTo = async (workload: string, cloud: string, region: string): Promise<number> =>
  routerAttempts(await (await fetch(`${running.apiUrl}/metrics`)).text(), { workload, cloud, region });

const INTERVAL_S = FAST_HEALTH_INTERVAL_S;
const healthCheck = FAST_HEALTH_CHECK;

const everyRegion = Object.entries(SIM_REGIONS).flatMap(([cloud, regions]) =>
  regions.map((region) => ({ cloud, region, replicas: 1 })),
);

const rolloutStatus = async (id: string) =>
  (await call<{ status: string; heldReason: string | null }>("GET", `/v1/rollouts/${id}`)).json;

/** Creates a workload, waits for its first rollout and for every target to be healthy. */
const healthyWorkload = async (name: string, targets: unknown[], extra: Record<string, unknown> = {}) => {
  const created = await call<{ rollout: { id: string } }>("POST", "/v1/workloads", {
    name,
    image: `registry.example.com/${name}:1`,
    port: 8080,
    healthCheck,
    targets,
    ...extra,
  });
  expect(created.status).toBe(201);
  await eventually(
    async () => (await rolloutStatus(created.json.rollout.id)).status === "succeeded",
    60_000,
    `first rollout of ${name}`,
  );
  await eventually(
    async () => {
      const h = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
      return h.json.targets.length === targets.length && h.json.targets.every((t) => t.status === "healthy");
    },
    20_000,
    `every target of ${name} healthy`,
  );
};

const outage = async (cloud: string, region: string): Promise<string> => {
  const fault = await call<{ id: string }>("POST", "/v1/sim/faults", {
    type: "region-outage",
    cloud,
    region,
  });
  expect(fault.status).toBe(201);
  return fault.json.id;
};

describe("failover through devsim up", () => {
  it("survives a region outage without failed requests, leaves the region fast and returns gradually", async () => {
    const name = "everywhere";
    await healthyWorkload(name, everyRegion, { failover: { recoverySteps: [25, 50, 100] } });

    const traffic = startTraffic({
      url: `${running.routerUrl}/w/${name}/`,
      ratePerSecond: 200,
      concurrency: 64,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const before = traffic.stats();
      expect(before.completed).toBeGreaterThan(200);

      const fault = await outage("aws", "us-east-1");
      const outageAt = Date.now();
      const inFlightAtOutage = traffic.stats().inFlight;

      // Weight leaves the region once health has seen it fail unhealthyThreshold times.
      const failedOver = await eventually(
        async () => {
          const h = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
          const dead = h.json.targets.find((t) => t.cloud === "aws" && t.region === "us-east-1");
          return dead?.status === "unhealthy" && dead.weight === 0 ? Date.now() : null;
        },
        10_000,
        "aws/us-east-1 failed over",
      );
      // Two failed probes, then the pass that sees the second and publishes: a little over two
      // intervals, with room for a busy machine's scheduling (the router left the region long before).
      expect(failedOver - outageAt).toBeLessThanOrEqual(2 * INTERVAL_S * 1000 + 3_000);

      // From two intervals on, no new request goes there (the router left it at the first failures).
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, outageAt + 2 * INTERVAL_S * 1000 - Date.now())),
      );
      const attemptsThen = await attemptsTo(name, "aws", "us-east-1");
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await attemptsTo(name, "aws", "us-east-1")).toBe(attemptsThen);

      const during = traffic.stats();
      expect(during.failed).toBeLessThanOrEqual(inFlightAtOutage);
      expect(Object.keys(during.byStatus), JSON.stringify(during.byBackend)).toEqual(["200"]);

      // Cleared: the region comes back through the recovery ladder, never in one jump.
      expect((await call("DELETE", `/v1/sim/faults/${fault}`)).status).toBe(204);
      const seen: number[] = [];
      await eventually(
        async () => {
          const h = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
          const back = h.json.targets.find((t) => t.cloud === "aws" && t.region === "us-east-1");
          if (back && seen.at(-1) !== back.weight) seen.push(back.weight);
          return back?.status === "healthy" && Math.abs(back.weight - 12.5) < 0.01;
        },
        20_000,
        "aws/us-east-1 back at its full share",
      );
      const partial = seen.filter((w) => w > 0 && w < 12.5);
      expect(partial.length).toBeGreaterThanOrEqual(1);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(await attemptsTo(name, "aws", "us-east-1")).toBeGreaterThan(attemptsThen);
    } finally {
      const final = await traffic.stop();
      expect(Object.keys(final.byStatus), JSON.stringify(final.byBackend)).toEqual(["200"]);
    }
  }, 120_000);

  it("survives a whole-cloud outage the same way, on the other clouds", async () => {
    const name = "cloudless";
    await healthyWorkload(name, everyRegion);
    const traffic = startTraffic({
      url: `${running.routerUrl}/w/${name}/`,
      ratePerSecond: 200,
      concurrency: 64,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const faults = [await outage("aws", "us-east-1"), await outage("aws", "eu-west-1")];
      const outageAt = Date.now();
      const inFlightAtOutage = traffic.stats().inFlight;

      await eventually(
        async () => {
          const h = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
          const aws = h.json.targets.filter((t) => t.cloud === "aws");
          const others = h.json.targets.filter((t) => t.cloud !== "aws");
          return (
            aws.every((t) => t.status === "unhealthy" && t.weight === 0) &&
            Math.abs(others.reduce((sum, t) => sum + t.weight, 0) - 100) < 0.01
          );
        },
        10_000,
        "aws failed over to the other clouds",
      );
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, outageAt + 2 * INTERVAL_S * 1000 - Date.now())),
      );
      const awsAttempts = async () =>
        (await attemptsTo(name, "aws", "us-east-1")) + (await attemptsTo(name, "aws", "eu-west-1"));
      const attemptsThen = await awsAttempts();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await awsAttempts()).toBe(attemptsThen);

      const during = traffic.stats();
      expect(during.failed).toBeLessThanOrEqual(inFlightAtOutage);
      expect(Object.keys(during.byStatus), JSON.stringify(during.byBackend)).toEqual(["200"]);
      for (const id of faults) expect((await call("DELETE", `/v1/sim/faults/${id}`)).status).toBe(204);
      await eventually(
        async () => {
          const h = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
          return h.json.targets.every((t) => t.status === "healthy" && Math.abs(t.weight - 12.5) < 0.01);
        },
        20_000,
        "aws back at its share",
      );
    } finally {
      const final = await traffic.stop();
      expect(Object.keys(final.byStatus), JSON.stringify(final.byBackend)).toEqual(["200"]);
    }
  }, 120_000);

  it("holds a canary in progress during a region outage, and finishes it after recovery", async () => {
    const name = "steady-canary";
    await healthyWorkload(
      name,
      [
        { cloud: "aws", region: "us-east-1", replicas: 1 },
        { cloud: "aws", region: "eu-west-1", replicas: 1 },
        { cloud: "gcp", region: "us-central1", replicas: 1 },
      ],
      {
        strategy: {
          type: "canary",
          steps: [{ setWeight: 25 }, { pause: { durationSeconds: 2 } }, { setWeight: 50 }],
        },
      },
    );
    const started = await call<{ id: string }>("POST", `/v1/workloads/${name}/rollouts`, {
      image: `registry.example.com/${name}:2`,
    });
    expect(started.status).toBe(202);
    const id = started.json.id;
    await eventually(
      async () => (await rolloutStatus(id)).status === "progressing",
      10_000,
      "canary started",
    );

    const fault = await outage("aws", "eu-west-1");
    const held = await eventually(
      async () => {
        const r = await rolloutStatus(id);
        return r.heldReason !== null ? r : null;
      },
      10_000,
      "the canary held",
    );
    expect(held.status).toBe("progressing");
    expect(held.heldReason).toContain("aws/eu-west-1");
    const promote = await call<{ error: { code: string; message: string } }>(
      "POST",
      `/v1/rollouts/${id}/promote`,
    );
    expect(promote.status).toBe(409);
    expect(promote.json.error.message).toContain("aws/eu-west-1");
    // Held, it does not finish while the workload is degraded, however long its steps are.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await rolloutStatus(id)).status).toBe("progressing");

    expect((await call("DELETE", `/v1/sim/faults/${fault}`)).status).toBe(204);
    await eventually(
      async () => (await rolloutStatus(id)).status === "succeeded",
      60_000,
      "the canary finished",
    );
    expect((await rolloutStatus(id)).heldReason).toBeNull();
  }, 120_000);
});
