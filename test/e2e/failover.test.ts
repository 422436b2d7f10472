import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIM_REGIONS } from "#core";
import { startTraffic } from "#sim";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";
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
afterAll(async () => {
  await running?.stop("SIGKILL").catch(() => {});
  await db?.drop();
});

interface HealthJson {
  targets: { cloud: string; region: string; status: string; weight: number; lastCheck: string | null }[];
}

const call = async <T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> => {
  const res = await fetch(`${running.apiUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
};

/** Attempts the router sent to one region of the workload, from the API's /metrics. */
const attemptsTo = async (workload: string, cloud: string, region: string): Promise<number> =>
  routerAttempts(await (await fetch(`${running.apiUrl}/metrics`)).text(), { workload, cloud, region });

const INTERVAL_S = 1;

describe("failover through devsim up", () => {
  it("survives a region outage without failed requests, leaves the region fast and returns gradually", async () => {
    const name = "everywhere";
    const targets = Object.entries(SIM_REGIONS).flatMap(([cloud, regions]) =>
      regions.map((region) => ({ cloud, region, replicas: 1 })),
    );
    const created = await call<{ rollout: { id: string } }>("POST", "/v1/workloads", {
      name,
      image: `registry.example.com/${name}:1`,
      port: 8080,
      healthCheck: {
        path: "/healthz",
        intervalSeconds: INTERVAL_S,
        timeoutSeconds: 0.5,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
      failover: { recoverySteps: [25, 50, 100] },
      targets,
    });
    expect(created.status).toBe(201);
    await eventually(
      async () => {
        const r = await call<{ status: string }>("GET", `/v1/rollouts/${created.json.rollout.id}`);
        return r.json.status === "succeeded";
      },
      60_000,
      "first rollout",
    );
    await eventually(
      async () => {
        const h = await call<HealthJson>("GET", `/v1/workloads/${name}/health`);
        return h.json.targets.length === 8 && h.json.targets.every((t) => t.status === "healthy");
      },
      20_000,
      "every target healthy",
    );

    const traffic = startTraffic({
      url: `${running.routerUrl}/w/${name}/`,
      ratePerSecond: 200,
      concurrency: 64,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const before = traffic.stats();
      expect(before.completed).toBeGreaterThan(200);

      const fault = await call<{ id: string }>("POST", "/v1/sim/faults", {
        type: "region-outage",
        cloud: "aws",
        region: "us-east-1",
      });
      expect(fault.status).toBe(201);
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
      // intervals, with room for a busy machine's scheduling.
      expect(failedOver - outageAt).toBeLessThanOrEqual(2 * INTERVAL_S * 1000 + 2_000);

      // From two intervals on, no new request goes there (the router left it at the first failures).
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, outageAt + 2 * INTERVAL_S * 1000 - Date.now())),
      );
      const attemptsThen = await attemptsTo(name, "aws", "us-east-1");
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await attemptsTo(name, "aws", "us-east-1")).toBe(attemptsThen);

      const during = traffic.stats();
      expect(during.failed).toBeLessThanOrEqual(inFlightAtOutage);
      expect(Object.keys(during.byStatus)).toEqual(["200"]);

      // Cleared: the region comes back through the recovery ladder, never in one jump.
      expect((await call("DELETE", `/v1/sim/faults/${fault.json.id}`)).status).toBe(204);
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
      expect(Object.keys(final.byStatus)).toEqual(["200"]);
    }
  }, 120_000);
});
