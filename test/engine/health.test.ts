import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CloudAdapter } from "#adapters";
import { AdapterError, AnalysisSettings, type Cloud, type Target } from "#core";
import { createWorkload, promoteRollout, resumeRollout, runHealthPass, startRollout } from "#engine";
import {
  findRollout,
  findWorkload,
  listBackendHealth,
  listBackends,
  listTargetFailover,
  type RolloutRecord,
  setBackendUrl,
} from "#store";
import { workloadInput } from "../support/fixtures.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { closeTestServers, deadUrl, listen } from "../support/http-servers.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
afterEach(closeTestServers);

const healthCheck = {
  path: "/healthz",
  intervalSeconds: 1,
  timeoutSeconds: 0.5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};
const aws1 = { cloud: "aws" as const, region: "us-east-1", replicas: 1 };
const aws2 = { cloud: "aws" as const, region: "eu-west-1", replicas: 1 };
const gcp = { cloud: "gcp" as const, region: "us-central1", replicas: 2 };

/**
 * The time health passes act at: a health interval on for every pass, so no test waits for it,
 * and never behind the database's clock, which dates new workloads' first check.
 */
let clock = Date.now();
const pass = (deps = h.deps) => {
  clock = Math.max(clock + 1_000, Date.now());
  return runHealthPass(deps, { now: new Date(clock) });
};
const passes = async (n: number) => {
  for (let i = 0; i < n; i++) await pass();
};

const create = async (name: string, targets: Target[], overrides = {}) => {
  const { rollout } = await createWorkload(
    h.deps,
    workloadInput(name, { targets, healthCheck, ...overrides }),
  );
  if (!rollout) throw new Error("no first rollout");
  await h.drive(async () => (await findRollout(h.deps.sql, rollout.id))?.status === "succeeded");
  const w = await findWorkload(h.deps.sql, name);
  if (!w) throw new Error(`no workload ${name}`);
  return w;
};

/** Shares of the routing table routers read now, per `cloud/region`. */
const shares = async (name: string) => {
  const by: Record<string, number> = {};
  for (const b of (await h.routing.get(name))?.backends ?? []) {
    const key = `${b.cloud}/${b.region}`;
    by[key] = Math.round(((by[key] ?? 0) + b.weight) * 100) / 100;
  }
  return by;
};

/** Replicas the simulated cloud runs for a deployment, read from the world itself. */
const simReplicas = (workload: string, cloud: Cloud, region: string, revision = 1) =>
  h.sim.world.describe({ workload, cloud, region, revision })?.desiredReplicas;

/** Makes a deployment stop serving (no replica left) or serve again. */
const setSimReplicas = (workload: string, cloud: Cloud, region: string, replicas: number, revision = 1) =>
  h.sim.world.scale({ workload, cloud, region, revision }, replicas);

const events = async (workloadId: string) =>
  h.deps.sql<{ type: string; message: string; data: Record<string, unknown> }[]>`
    SELECT type, message, data FROM events WHERE workload_id = ${workloadId} ORDER BY id`;

const failoverOf = async (workloadId: string) =>
  Object.fromEntries(
    (await listTargetFailover(h.deps.sql, workloadId)).map((f) => [`${f.cloud}/${f.region}`, f.percent]),
  );

describe("the health pass", () => {
  it("fails a dead target over within the threshold, scales the survivor, and brings it back step by step", async () => {
    const w = await create("shop", [aws1, aws2, gcp]);
    await passes(2);
    expect((await listBackendHealth(h.deps.sql, w.id)).map((b) => b.status)).toEqual([
      "healthy",
      "healthy",
      "healthy",
    ]);
    expect(await shares("shop")).toEqual({ "aws/us-east-1": 25, "aws/eu-west-1": 25, "gcp/us-central1": 50 });

    setSimReplicas("shop", "aws", "eu-west-1", 0);
    await pass();
    // One failure is not enough.
    expect(await shares("shop")).toEqual({ "aws/us-east-1": 25, "aws/eu-west-1": 25, "gcp/us-central1": 50 });
    const second = await pass();
    expect(second.changes).toEqual([
      { workload: "shop", cloud: "aws", region: "eu-west-1", change: "failed_over", percent: 0 },
    ]);
    // Same cloud first: all of eu-west-1's share went to us-east-1, published at once.
    expect(await shares("shop")).toEqual({ "aws/us-east-1": 50, "gcp/us-central1": 50 });
    expect(simReplicas("shop", "aws", "us-east-1")).toBe(2);
    expect(simReplicas("shop", "gcp", "us-central1")).toBe(2);
    const dead = (await listBackendHealth(h.deps.sql, w.id)).find((b) => b.region === "eu-west-1");
    expect(dead).toMatchObject({ status: "unhealthy", failures: 2, lastError: "answered 503" });

    const afterFailover = await events(w.id);
    expect(afterFailover.map((e) => e.type)).toEqual(
      expect.arrayContaining(["health.unhealthy", "failover.started", "failover.scaled_up"]),
    );
    expect(afterFailover.find((e) => e.type === "failover.started")?.data).toEqual({
      cloud: "aws",
      region: "eu-west-1",
      movedTo: [{ cloud: "aws", region: "us-east-1", weight: 25 }],
    });
    expect(afterFailover.find((e) => e.type === "health.unhealthy")?.data).toMatchObject({
      cloud: "aws",
      region: "eu-west-1",
      revision: 1,
      error: "answered 503",
    });

    // Still dead: nothing changes, nothing more is recorded.
    const recorded = afterFailover.length;
    await pass();
    expect((await events(w.id)).length).toBe(recorded);

    setSimReplicas("shop", "aws", "eu-west-1", 1);
    await sleep(100);
    const seen: Record<string, number>[] = [];
    for (let i = 0; i < 5; i++) {
      await pass();
      seen.push(await shares("shop"));
    }
    expect(seen).toEqual([
      // One success is not enough either.
      { "aws/us-east-1": 50, "gcp/us-central1": 50 },
      { "aws/us-east-1": 43.75, "aws/eu-west-1": 6.25, "gcp/us-central1": 50 },
      { "aws/us-east-1": 37.5, "aws/eu-west-1": 12.5, "gcp/us-central1": 50 },
      { "aws/us-east-1": 25, "aws/eu-west-1": 25, "gcp/us-central1": 50 },
      { "aws/us-east-1": 25, "aws/eu-west-1": 25, "gcp/us-central1": 50 },
    ]);
    // Scaled back once at 100, not before.
    expect(simReplicas("shop", "aws", "us-east-1")).toBe(1);
    const types = (await events(w.id)).map((e) => e.type);
    expect(types.filter((t) => t === "failover.recovery_step")).toHaveLength(2);
    expect(types.filter((t) => t === "failover.recovered")).toHaveLength(1);
    expect(types.indexOf("failover.scaled_back")).toBeGreaterThan(types.indexOf("failover.recovered"));
    expect(types).toContain("health.healthy");
    expect((await listBackends(h.deps.sql, w.id)).map((b) => b.scaledReplicas)).toEqual([null, null, null]);
  });

  it("survives a whole cloud: both AWS regions' traffic goes to GCP, which doubles", async () => {
    const w = await create("cloudy", [aws1, aws2, gcp]);
    await passes(2);
    setSimReplicas("cloudy", "aws", "us-east-1", 0);
    setSimReplicas("cloudy", "aws", "eu-west-1", 0);
    await passes(2);
    expect(await shares("cloudy")).toEqual({ "gcp/us-central1": 100 });
    expect(simReplicas("cloudy", "gcp", "us-central1")).toBe(4);
    expect(await failoverOf(w.id)).toEqual({ "aws/eu-west-1": 0, "aws/us-east-1": 0 });
  });

  it("records replicas a failing scale did set, so that they are scaled back after recovery", async () => {
    const w = await create("pools", [aws1, aws2, gcp]);
    const aws = h.deps.adapters.aws;
    // As a managed Kubernetes cloud whose node pool cannot grow: the replicas are set, then the scale fails.
    const failing: CloudAdapter = {
      ...aws,
      scale: async (target, revision, replicas) => {
        await aws.scale(target, revision, replicas);
        throw new AdapterError("unavailable", "aws", "node pool 'default' did not grow: quota exceeded");
      },
    };
    const deps = { ...h.deps, adapters: { ...h.deps.adapters, aws: failing } };
    for (let i = 0; i < 2; i++) await pass(deps);
    setSimReplicas("pools", "aws", "eu-west-1", 0);
    for (let i = 0; i < 2; i++) await pass(deps);
    expect(simReplicas("pools", "aws", "us-east-1")).toBe(2);
    const failed = (await events(w.id)).filter((e) => e.type === "failover.scale_failed");
    expect(failed).toEqual([
      {
        type: "failover.scale_failed",
        message:
          "revision 1 in aws/us-east-1 is set to 2 replicas, but the scale did not complete: node pool 'default' did not grow: quota exceeded",
        data: expect.objectContaining({ from: 1, to: 2, failure: "unavailable", replicasSet: true }),
      },
    ]);
    const scaled = (await listBackends(h.deps.sql, w.id)).find((b) => b.region === "us-east-1");
    expect(scaled?.scaledReplicas).toBe(2);
    // Set, recorded: the next pass does not scale again.
    await pass(deps);
    expect((await events(w.id)).filter((e) => e.type === "failover.scale_failed")).toHaveLength(1);

    setSimReplicas("pools", "aws", "eu-west-1", 1);
    await sleep(100);
    for (let i = 0; i < 5 && (await failoverOf(w.id))["aws/eu-west-1"] !== undefined; i++) await pass(deps);
    expect(simReplicas("pools", "aws", "us-east-1")).toBe(1);
    expect((await listBackends(h.deps.sql, w.id)).map((b) => b.scaledReplicas)).toEqual([null, null, null]);
  });

  it("leaves the record alone when a failing scale set nothing, and tries again on the next pass", async () => {
    const w = await create("stuck", [aws1, aws2, gcp]);
    let refusals = 2;
    const aws = h.deps.adapters.aws;
    const refusing: CloudAdapter = {
      ...aws,
      scale: async (target, revision, replicas) => {
        if (refusals-- > 0) throw new AdapterError("throttled", "aws", "Rate exceeded");
        await aws.scale(target, revision, replicas);
      },
    };
    const deps = { ...h.deps, adapters: { ...h.deps.adapters, aws: refusing } };
    for (let i = 0; i < 2; i++) await pass(deps);
    setSimReplicas("stuck", "aws", "eu-west-1", 0);
    for (let i = 0; i < 2; i++) await pass(deps);
    expect(simReplicas("stuck", "aws", "us-east-1")).toBe(1);
    const scaledOf = async () =>
      (await listBackends(h.deps.sql, w.id)).find((b) => b.region === "us-east-1")?.scaledReplicas;
    expect(await scaledOf()).toBeNull();
    expect((await events(w.id)).find((e) => e.type === "failover.scale_failed")).toMatchObject({
      message: "could not scale revision 1 in aws/us-east-1 to 2: Rate exceeded",
      data: expect.objectContaining({ replicasSet: false, failure: "throttled" }),
    });
    await pass(deps);
    await pass(deps);
    expect(simReplicas("stuck", "aws", "us-east-1")).toBe(2);
    expect(await scaledOf()).toBe(2);
  });

  it("keeps the table when every target is down, and says so", async () => {
    const w = await create("alone", [aws1]);
    await passes(2);
    const before = await h.routing.get("alone");
    await setBackendUrl(
      h.deps.sql,
      w.id,
      { cloud: "aws", region: "us-east-1", revision: 1 },
      await deadUrl(),
    );
    await passes(2);
    expect((await h.routing.get("alone"))?.backends.map((b) => b.weight)).toEqual(
      before?.backends.map((b) => b.weight),
    );
    const recorded = await events(w.id);
    expect(recorded.map((e) => e.type)).toContain("failover.no_survivors");
    expect(recorded.map((e) => e.type)).not.toContain("failover.scaled_up");
    expect((await listBackendHealth(h.deps.sql, w.id))[0]?.lastError).toBe("ECONNREFUSED");
  });

  it("counts a backend that answers too slowly as failing", async () => {
    const w = await create("slow", [aws1, gcp]);
    const slow = await listen((_req, res) => {
      setTimeout(() => res.end("late"), 2_000);
    });
    await setBackendUrl(h.deps.sql, w.id, { cloud: "aws", region: "us-east-1", revision: 1 }, slow.url);
    await passes(2);
    expect((await listBackendHealth(h.deps.sql, w.id)).find((b) => b.region === "us-east-1")).toMatchObject({
      status: "unhealthy",
      lastError: "no answer within 500 ms",
    });
    expect(await shares("slow")).toEqual({ "gcp/us-central1": 100 });
  });

  it("probes on the workload's own interval", async () => {
    const w = await create("patient", [aws1], { healthCheck: { ...healthCheck, intervalSeconds: 3 } });
    await pass();
    const first = (await listBackendHealth(h.deps.sql, w.id))[0]?.lastCheck;
    await pass();
    await pass();
    expect((await listBackendHealth(h.deps.sql, w.id))[0]?.lastCheck).toBe(first);
    await pass();
    expect((await listBackendHealth(h.deps.sql, w.id))[0]?.lastCheck).not.toBe(first);
  });
});

describe("rollouts during a failover", () => {
  const canary = {
    type: "canary" as const,
    steps: [
      { setWeight: 10, targets: [{ cloud: "aws" as const, region: "us-east-1" }] },
      { pause: {} },
      { setWeight: 50 },
      { pause: { durationSeconds: 1 } },
    ],
    analysis: AnalysisSettings.parse({}),
    progressDeadlineSeconds: 600,
  };
  const rolloutNow = async (id: string): Promise<RolloutRecord> => {
    const r = await findRollout(h.deps.sql, id);
    if (!r) throw new Error(`no rollout ${id}`);
    return r;
  };

  it("holds a rollout, refuses to promote it, and lets it finish after recovery", async () => {
    const w = await create("canary-web", [aws1, aws2, gcp], { strategy: canary });
    await passes(2);
    const started = await startRollout(h.deps, "canary-web", { image: "registry.example.com/app:2" });
    await h.drive(async () => (await rolloutNow(started.id)).status === "paused");
    await promoteRollout(h.deps, started.id);

    setSimReplicas("canary-web", "gcp", "us-central1", 0);
    await passes(2);
    expect(await failoverOf(w.id)).toEqual({ "gcp/us-central1": 0 });
    const promoting = promoteRollout(h.deps, started.id);
    await expect(promoting).rejects.toMatchObject({
      code: "conflict",
      details: {
        workload: "canary-web",
        degradedTargets: [{ cloud: "gcp", region: "us-central1", status: "failed" }],
      },
    });
    await expect(promoting).rejects.toThrow(/degraded: gcp\/us-central1 failed over/);

    const held = await rolloutNow(started.id);
    for (let i = 0; i < 5; i++) {
      await h.reconciler().reconcileOnce();
      await sleep(20);
    }
    const still = await rolloutNow(started.id);
    expect(still).toMatchObject({ status: "progressing", currentStep: held.currentStep });
    expect(still.heldReason).toMatch(/gcp\/us-central1 failed over/);
    expect((await events(w.id)).filter((e) => e.type === "rollout.held")).toHaveLength(1);

    setSimReplicas("canary-web", "gcp", "us-central1", 2);
    await sleep(100);
    await passes(2);
    // Recovering is still degraded.
    expect(await failoverOf(w.id)).toEqual({ "gcp/us-central1": 25 });
    // Still held, and the reason says where the workload stands now.
    const recovering = await h.drive(async () => {
      const r = await rolloutNow(started.id);
      return /gcp\/us-central1 recovering \(25%\)/.test(r.heldReason ?? "") ? r : null;
    });
    expect(recovering.currentStep).toBe(held.currentStep);
    await expect(promoteRollout(h.deps, started.id)).rejects.toThrow(/gcp\/us-central1 recovering \(25%\)/);
    await passes(2);
    expect(await failoverOf(w.id)).toEqual({ "gcp/us-central1": 100 });

    const done = await h.drive(async () => {
      const r = await rolloutNow(started.id);
      return r.status === "succeeded" ? r : null;
    });
    expect(done.heldReason).toBeNull();
    const types = (await events(w.id)).map((e) => e.type);
    expect(types.indexOf("rollout.resumed")).toBeGreaterThan(types.indexOf("failover.recovered"));
  });

  it("refuses a resume that would promote while degraded", async () => {
    const w = await create("resume-web", [aws1, aws2, gcp], { strategy: canary });
    await passes(2);
    const started = await startRollout(h.deps, "resume-web", { image: "registry.example.com/app:2" });
    await h.drive(async () => (await rolloutNow(started.id)).status === "paused");
    setSimReplicas("resume-web", "aws", "eu-west-1", 0);
    await passes(2);
    expect(await failoverOf(w.id)).toEqual({ "aws/eu-west-1": 0 });
    await expect(resumeRollout(h.deps, started.id)).rejects.toMatchObject({ code: "conflict" });
    expect((await rolloutNow(started.id)).status).toBe("paused");
  });
});
