import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnalysisSettings } from "#core";
import {
  abortRollout,
  createWorkload,
  pauseRollout,
  promoteRollout,
  resumeRollout,
  rollbackWorkload,
  startRollout,
  updateWorkload,
} from "#engine";
import { findRollout, findWorkload, listAnalysis, listRolloutEvents, type RolloutRecord } from "#store";
import { workloadInput } from "../support/fixtures.ts";
import { type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const rolloutNow = async (id: string): Promise<RolloutRecord> => {
  const r = await findRollout(h.deps.sql, id);
  if (!r) throw new Error(`no rollout ${id}`);
  return r;
};
const until = (id: string, ok: (r: RolloutRecord) => boolean) =>
  h.drive(async () => {
    const r = await rolloutNow(id);
    return ok(r) ? r : null;
  });
const settled = (id: string) => until(id, (r) => r.status !== "progressing");

/** Revision shares of the routing table routers read now. */
const shares = async (name: string) => {
  const table = await h.routing.get(name);
  const by: Record<number, number> = {};
  for (const b of table?.backends ?? [])
    by[b.revision] = Math.round(((by[b.revision] ?? 0) + b.weight) * 100) / 100;
  return by;
};

const targets = [
  { cloud: "aws" as const, region: "us-east-1", replicas: 1 },
  { cloud: "aws" as const, region: "eu-west-1", replicas: 1 },
  { cloud: "gcp" as const, region: "us-central1", replicas: 2 },
];

const canary = {
  type: "canary" as const,
  steps: [
    { setWeight: 10, targets: [{ cloud: "aws" as const, region: "us-east-1" }] },
    { pause: {} },
    { setWeight: 50 },
    { pause: { durationSeconds: 1 } },
  ],
  analysis: AnalysisSettings.parse({ minRequests: 50, onInconclusive: "extend" }),
  progressDeadlineSeconds: 600,
};

describe("canary rollouts", () => {
  it("widens by its steps, waits to be promoted, and ends on the new revision", async () => {
    const { rollout: first } = await createWorkload(
      h.deps,
      workloadInput("web", { targets, strategy: canary }),
    );
    if (!first) throw new Error("no first rollout");
    expect((await settled(first.id)).status).toBe("succeeded");

    const started = await startRollout(h.deps, "web", { image: "registry.example.com/app:2" });
    const waiting = await until(started.id, (r) => r.status === "paused");
    expect(waiting.steps[waiting.currentStep]).toMatchObject({ kind: "pause", durationSeconds: null });
    expect(await shares("web")).toEqual({ 1: 90, 2: 10 });
    const canaryBackends = (await h.routing.get("web"))?.backends.filter((b) => b.revision === 2) ?? [];
    expect(canaryBackends.map((b) => `${b.cloud}/${b.region}`)).toEqual(["aws/us-east-1"]);

    await expect(promoteRollout(h.deps, started.id, { full: false })).resolves.toMatchObject({
      status: "progressing",
    });
    const done = await settled(started.id);
    expect(done.status).toBe("succeeded");
    expect(await shares("web")).toEqual({ 2: 100 });
    const types = (await listRolloutEvents(h.deps.sql, started.id, { limit: 100 })).map((e) => e.type);
    expect(types).toContain("promoted");
    expect(types.filter((t) => t === "traffic_shifted")).toHaveLength(3);
  });

  it("refuses to promote a rollout that is not at a pause or analysis, and one that ended", async () => {
    const started = await startRollout(h.deps, "web", { image: "registry.example.com/app:3" });
    await expect(promoteRollout(h.deps, started.id)).rejects.toMatchObject({ code: "invalid_transition" });
    await until(started.id, (r) => r.status === "paused");
    await promoteRollout(h.deps, started.id, { full: true });
    const done = await settled(started.id);
    expect(done.status).toBe("succeeded");
    // The 50% step and the timed pause were skipped with the rest.
    const events = await listRolloutEvents(h.deps.sql, started.id, { limit: 100 });
    expect(events.filter((e) => e.type === "traffic_shifted")).toHaveLength(2);
    await expect(promoteRollout(h.deps, started.id)).rejects.toMatchObject({
      code: "invalid_transition",
      details: { status: "succeeded" },
    });
  });

  it("aborts: all traffic back on stable at once, canary removed, status aborted", async () => {
    const started = await startRollout(h.deps, "web", { image: "registry.example.com/app:4" });
    await until(started.id, (r) => r.status === "paused");
    expect(await shares("web")).toEqual({ 3: 90, 4: 10 });
    const aborted = await abortRollout(h.deps, started.id);
    expect(aborted.status).toBe("aborted");
    expect(await shares("web")).toEqual({ 3: 100 });
    await expect(abortRollout(h.deps, started.id)).rejects.toMatchObject({ code: "invalid_transition" });
    await h.drive(async () => h.sim.world.list().every((d) => d.workload !== "web" || d.revision === 3));
    expect((await findWorkload(h.deps.sql, "web"))?.stableRevision).toBe(3);
  });

  it("pauses and resumes on request", async () => {
    const started = await startRollout(h.deps, "web", { image: "registry.example.com/app:5" });
    const paused = await pauseRollout(h.deps, started.id);
    expect(paused.status).toBe("paused");
    await expect(pauseRollout(h.deps, started.id)).rejects.toMatchObject({ code: "invalid_transition" });
    await h.reconciler().reconcileOnce();
    expect((await rolloutNow(started.id)).currentStep).toBe(paused.currentStep);
    expect((await resumeRollout(h.deps, started.id)).status).toBe("progressing");
    // At the pause that waits for promotion, resuming promotes.
    await until(started.id, (r) => r.status === "paused");
    await resumeRollout(h.deps, started.id);
    expect((await settled(started.id)).status).toBe("succeeded");
  });

  it("rolls back to the last revision that succeeded, fast", async () => {
    const rollback = await rollbackWorkload(h.deps, "web");
    expect(rollback).toMatchObject({ fromRevision: 5, toRevision: 3, strategy: { type: "rolling" } });
    expect(rollback.steps.some((s) => s.kind === "pause" || s.kind === "analysis")).toBe(false);
    expect((await settled(rollback.id)).status).toBe("succeeded");
    expect(await shares("web")).toEqual({ 3: 100 });
  });

  it("rolls back a rollout in flight by returning traffic to stable", async () => {
    const started = await startRollout(h.deps, "web", { image: "registry.example.com/app:6" });
    await until(started.id, (r) => r.status === "paused");
    const rolledBack = await rollbackWorkload(h.deps, "web");
    expect(rolledBack).toMatchObject({ id: started.id, status: "rolled_back" });
    expect(await shares("web")).toEqual({ 3: 100 });
  });
});

describe("analysis without traffic", () => {
  it("never passes a canary step that receives no requests", async () => {
    const quiet = {
      type: "canary" as const,
      steps: [{ setWeight: 20 }, { analysis: { durationSeconds: 1 } }],
      analysis: AnalysisSettings.parse({ onInconclusive: "fail" }),
      progressDeadlineSeconds: 600,
    };
    const { rollout: first } = await createWorkload(
      h.deps,
      workloadInput("quiet", { targets, strategy: quiet }),
    );
    if (!first) throw new Error("no first rollout");
    await settled(first.id);
    const started = await startRollout(h.deps, "quiet", { image: "registry.example.com/app:2" });
    const done = await settled(started.id);
    expect(done.status).toBe("rolled_back");
    expect(done.message).toMatch(/inconclusive/);
    const verdicts = await listAnalysis(h.deps.sql, started.id);
    expect(verdicts.map((v) => v.verdict)).not.toContain("pass");
    expect(verdicts.at(-1)).toMatchObject({ verdict: "inconclusive", metric: "noRequests" });
    expect(await shares("quiet")).toEqual({ 1: 100 });
  });
});

describe("blue-green rollouts", () => {
  it("switches all traffic in one write and keeps the old revision for the delay", async () => {
    const { rollout } = await updateWorkload(h.deps, "web", {
      ...workloadInput("web", { targets }),
      image: "registry.example.com/app:3",
      strategy: {
        type: "blueGreen",
        scaleDownDelaySeconds: 2,
        progressDeadlineSeconds: 600,
      },
    });
    expect(rollout).toBeNull();
    const started = await startRollout(h.deps, "web", { image: "registry.example.com/app:7" });
    const weightsSeen = new Set<string>();
    const done = await h.drive(async () => {
      weightsSeen.add(JSON.stringify(await shares("web")));
      const r = await rolloutNow(started.id);
      return r.status !== "progressing" ? r : null;
    });
    expect(done.status).toBe("succeeded");
    // Never a mix: stable alone, then the new revision alone.
    expect([...weightsSeen].sort()).toEqual(['{"3":100}', '{"7":100}']);
    const running = () =>
      h.sim.world
        .list()
        .filter((d) => d.workload === "web")
        .map((d) => d.revision);
    expect(running()).toContain(3);
    await h.drive(async () => !running().includes(3), { timeoutMs: 10_000 });
  });
});
