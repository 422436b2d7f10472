import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTraffic, type Traffic } from "#sim";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";
import { callJson, type RolloutJson } from "../support/json-api.ts";

let db: TestDatabase;
let running: DevsimProcess;
let traffic: Traffic | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  running = await spawnDevsim(["--no-demo", "--database-url", db.url]);
});
afterEach(async () => {
  await traffic?.stop();
  traffic = undefined;
});
afterAll(async () => {
  await running?.stop("SIGKILL").catch(() => {});
  await db?.drop();
});

const call = <T>(method: string, path: string, body?: unknown) =>
  callJson<T>(running.apiUrl, method, path, body);

const rollout = async (id: string) => (await call<RolloutJson>("GET", `/v1/rollouts/${id}`)).json;
const finished = (id: string, timeoutMs = 60_000) =>
  eventually(
    async () => {
      const r = await rollout(id);
      return r.status === "progressing" || r.status === "paused" ? null : r;
    },
    timeoutMs,
    `rollout ${id} to end`,
  );

const canaryShare = (r: RolloutJson, revision: number) =>
  r.weights.filter((w) => w.revision === revision).reduce((sum, w) => sum + w.weight, 0);

/** Creates a workload, waits for its first rollout and starts steady traffic through the router. */
const workload = async (name: string, strategy: unknown, sim = { errorRate: 0.005 }) => {
  const created = await call<{ rollout: { id: string } }>("POST", "/v1/workloads", {
    name,
    image: `registry.example.com/${name}:1`,
    port: 8080,
    healthCheck: { path: "/healthz" },
    targets: [
      { cloud: "aws", region: "us-east-1", replicas: 2 },
      { cloud: "gcp", region: "europe-west1", replicas: 2 },
    ],
    strategy,
    sim,
  });
  expect(created.status).toBe(201);
  expect((await finished(created.json.rollout.id)).status).toBe("succeeded");
  traffic = startTraffic({ url: `${running.routerUrl}/w/${name}/`, ratePerSecond: 150, concurrency: 64 });
};

const start = async (name: string, body: unknown) => {
  const res = await call<RolloutJson>("POST", `/v1/workloads/${name}/rollouts`, body);
  expect(res.status).toBe(202);
  return res.json.id;
};

const waves = {
  type: "canary",
  steps: [
    { setWeight: 10 },
    { analysis: { durationSeconds: 20 } },
    { setWeight: 25 },
    { analysis: { durationSeconds: 20 } },
    { setWeight: 50 },
    { analysis: { durationSeconds: 5 } },
  ],
  analysis: { alpha: 0.01, minRequests: 30, onInconclusive: "extend" },
};

describe("progressive delivery through devsim up", () => {
  it("rolls back a canary erring at 5% against 0.5% before its weight passes 25%, and says why", async () => {
    await workload("bad", waves);
    const id = await start("bad", { image: "registry.example.com/bad:2", sim: { errorRate: 0.05 } });
    let highest = 0;
    const done = await eventually(
      async () => {
        const r = await rollout(id);
        highest = Math.max(highest, canaryShare(r, 2));
        return r.status === "progressing" ? null : r;
      },
      90_000,
      "the bad canary to be judged",
    );
    expect(done.status).toBe("rolled_back");
    expect(highest).toBeLessThanOrEqual(25);
    expect(done.message).toMatch(/error/i);
    expect(done.analysis.some((a) => a.verdict === "fail")).toBe(true);
    expect(canaryShare(done, 2)).toBe(0);
    expect(canaryShare(done, 1)).toBe(100);
  }, 120_000);

  it("promotes a healthy canary to 100% through every step", async () => {
    await workload("good", waves);
    const id = await start("good", { image: "registry.example.com/good:2", sim: { errorRate: 0.005 } });
    const done = await finished(id, 120_000);
    expect(done.status).toBe("succeeded");
    expect(done.currentStep).toBe(done.steps.length);
    expect(canaryShare(done, 2)).toBe(100);
    expect(done.analysis.filter((a) => a.verdict === "pass").length).toBe(3);
  }, 150_000);

  it("aborts mid-canary: all traffic on stable within 2 seconds", async () => {
    await workload("halt", { ...waves, steps: [{ setWeight: 30 }, { pause: {} }] });
    const id = await start("halt", { image: "registry.example.com/halt:2" });
    await eventually(async () => (await rollout(id)).status === "paused", 30_000, "canary at its pause");
    // Routers take up to a second to see the canary's weight.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = traffic?.stats().byBackend ?? {};
    const abortedAt = Date.now();
    expect((await call<RolloutJson>("POST", `/v1/rollouts/${id}/abort`)).json.status).toBe("aborted");
    await new Promise((resolve) => setTimeout(resolve, 2_000 - (Date.now() - abortedAt)));
    const mark = traffic?.stats().byBackend ?? {};
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = traffic?.stats().byBackend ?? {};
    const canaryAnswers = (stats: Record<string, Record<string, number>>) =>
      Object.entries(stats)
        .filter(([backend]) => backend.endsWith("/2"))
        .reduce((sum, [, byStatus]) => sum + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
    expect(canaryAnswers(before)).toBeGreaterThan(0);
    expect(canaryAnswers(after)).toBe(canaryAnswers(mark));
  });

  it("switches blue-green atomically, and rolls back to the previous revision", async () => {
    await workload("bg", { type: "blueGreen", scaleDownDelaySeconds: 20 });
    const id = await start("bg", { image: "registry.example.com/bg:2" });
    const done = await finished(id);
    expect(done.status).toBe("succeeded");
    // Routers hold a table for up to a second; after that nothing reaches the old revision.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const mark = traffic?.stats().byBackend ?? {};
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const after = traffic?.stats().byBackend ?? {};
    for (const [backend, byStatus] of Object.entries(after)) {
      if (backend.endsWith("/1")) expect(byStatus).toEqual(mark[backend]);
    }
    const back = await call<RolloutJson>("POST", "/v1/workloads/bg/rollback");
    expect(back.status).toBe(202);
    expect((await finished(back.json.id)).status).toBe("succeeded");
    const traffic2 = await call<{ backends: { revision: number; weight: number }[] }>(
      "GET",
      "/v1/workloads/bg/traffic",
    );
    expect(traffic2.json.backends.filter((b) => b.weight > 0).every((b) => b.revision === 1)).toBe(true);
  }, 60_000);
});
