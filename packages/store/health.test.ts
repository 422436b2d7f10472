import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import {
  deleteBackend,
  listBackends,
  markBackendRemoving,
  readRoutingState,
  readRoutingTable,
  recordBackend,
  setBackendUrl,
  setWorkloadWeights,
} from "./backends.ts";
import {
  claimHealthChecks,
  forgetVacatedTargets,
  listBackendHealth,
  listDegradedTargets,
  listTargetFailover,
  recordProbes,
  setScaledReplicas,
  setTargetFailover,
} from "./health.ts";
import { migrate } from "./migrate.ts";
import { findRollout, holdRollout, insertRollout, releaseRollout } from "./rollouts.ts";
import { findWorkload, insertWorkload, updateWorkloadSpec } from "./workloads.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

const targets = [
  { cloud: "aws" as const, region: "us-east-1", replicas: 2 },
  { cloud: "aws" as const, region: "eu-west-1", replicas: 2 },
  { cloud: "gcp" as const, region: "us-central1", replicas: 4 },
];
const strategy = { type: "rolling" as const, progressDeadlineSeconds: 600 };

/** A workload whose three targets run revision 1 with weights 25/25/50. */
const seed = async (name: string) => {
  const w = await insertWorkload(db.sql, {
    name,
    project: "default",
    port: 80,
    healthCheck: { path: "/h" },
    targets,
    strategy,
  });
  for (const [i, t] of targets.entries()) {
    const key = { cloud: t.cloud, region: t.region, revision: 1 };
    await recordBackend(db.sql, w.id, key, t.replicas);
    await setBackendUrl(db.sql, w.id, key, `http://127.0.0.1:${9000 + i}`);
  }
  await setWorkloadWeights(db.sql, w.id, [
    { cloud: "aws", region: "us-east-1", revision: 1, weight: 25 },
    { cloud: "aws", region: "eu-west-1", revision: 1, weight: 25 },
    { cloud: "gcp", region: "us-central1", revision: 1, weight: 50 },
  ]);
  return w;
};
const failed = (cloud: "aws" | "gcp", region: string, since = 1_000) => ({
  cloud,
  region,
  status: "failed" as const,
  percent: 0,
  since,
  nextStepAt: null,
});
const version = async (id: string) =>
  Number(
    (await db.sql<{ v: string }[]>`SELECT routing_version::text AS v FROM workloads WHERE id = ${id}`)[0]?.v,
  );
const weights = async (id: string) =>
  Object.fromEntries(
    (await readRoutingTable(db.sql, id))?.backends.map((b) => [`${b.cloud}/${b.region}`, b.weight]) ?? [],
  );

describe("workload specs", () => {
  it("reads a health check stored with only a path with every default, and no policy as the default one", async () => {
    const w = await seed("old-row");
    await db.sql`UPDATE workloads SET health_check = '{"path": "/h"}'::jsonb, failover = NULL WHERE id = ${w.id}`;
    const read = await findWorkload(db.sql, "old-row");
    expect(read?.healthCheck).toEqual({
      path: "/h",
      intervalSeconds: 10,
      timeoutSeconds: 2,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    expect(read?.failover).toEqual({
      sameCloudFirst: true,
      cloudOrder: [],
      recoverySteps: [25, 50, 100],
      scaleSurvivors: true,
    });
  });

  it("stores a failover policy, and a spec change moves the routing version", async () => {
    const w = await seed("policy");
    const before = await version(w.id);
    const failover = {
      sameCloudFirst: false,
      cloudOrder: ["gcp" as const],
      recoverySteps: [50, 100],
      scaleSurvivors: false,
    };
    await updateWorkloadSpec(db.sql, w.id, {
      port: 80,
      healthCheck: { path: "/h", intervalSeconds: 1 },
      targets,
      strategy,
      failover,
    });
    const read = await findWorkload(db.sql, "policy");
    expect(read?.failover).toEqual(failover);
    expect(read?.healthCheck.intervalSeconds).toBe(1);
    expect(await version(w.id)).toBe(before + 1);
  });
});

describe("the failover overlay on the routing table", () => {
  it("publishes effective weights, and a change of traffic percent moves the version with it", async () => {
    const w = await seed("overlay");
    const v0 = await version(w.id);
    expect(await weights(w.id)).toEqual({ "aws/us-east-1": 25, "aws/eu-west-1": 25, "gcp/us-central1": 50 });

    await setTargetFailover(db.sql, w.id, failed("aws", "us-east-1"));
    expect(await version(w.id)).toBe(v0 + 1);
    expect(await weights(w.id)).toEqual({ "aws/eu-west-1": 50, "gcp/us-central1": 50 });
    const state = await readRoutingState(db.sql, w.id);
    expect(state?.table.version).toBe(v0 + 1);
    expect(state?.overlay.moves).toEqual([
      { from: { cloud: "aws", region: "us-east-1" }, to: { cloud: "aws", region: "eu-west-1" }, weight: 25 },
    ]);

    // The same percent again is no change: the version stays.
    await setTargetFailover(db.sql, w.id, failed("aws", "us-east-1", 2_000));
    expect(await version(w.id)).toBe(v0 + 1);

    await setTargetFailover(db.sql, w.id, {
      cloud: "aws",
      region: "us-east-1",
      status: "recovering",
      percent: 50,
      since: 3_000,
      nextStepAt: 13_000,
    });
    expect(await version(w.id)).toBe(v0 + 2);
    expect(await weights(w.id)).toEqual({
      "aws/us-east-1": 12.5,
      "aws/eu-west-1": 37.5,
      "gcp/us-central1": 50,
    });
    expect(await listTargetFailover(db.sql, w.id)).toEqual([
      {
        cloud: "aws",
        region: "us-east-1",
        status: "recovering",
        percent: 50,
        since: 3_000,
        nextStepAt: 13_000,
      },
    ]);

    await setTargetFailover(db.sql, w.id, { ...failed("aws", "us-east-1"), status: "healthy", percent: 100 });
    expect(await version(w.id)).toBe(v0 + 3);
    expect(await weights(w.id)).toEqual({ "aws/us-east-1": 25, "aws/eu-west-1": 25, "gcp/us-central1": 50 });
  });

  it("keeps the rollout's table when every target is down", async () => {
    const w = await seed("all-down");
    for (const t of targets) await setTargetFailover(db.sql, w.id, failed(t.cloud, t.region));
    expect(await weights(w.id)).toEqual({ "aws/us-east-1": 25, "aws/eu-west-1": 25, "gcp/us-central1": 50 });
    expect((await readRoutingState(db.sql, w.id))?.overlay.allDown).toBe(true);
  });

  it("lists degraded targets only while something runs there, and forgets vacated ones", async () => {
    const w = await seed("degraded");
    expect(await listDegradedTargets(db.sql, w.id)).toEqual([]);
    await setTargetFailover(db.sql, w.id, failed("aws", "eu-west-1"));
    expect(await listDegradedTargets(db.sql, w.id)).toEqual([
      { cloud: "aws", region: "eu-west-1", status: "failed", percent: 0 },
    ]);
    const key = { cloud: "aws" as const, region: "eu-west-1", revision: 1 };
    await markBackendRemoving(db.sql, w.id, key, 0);
    expect(await listDegradedTargets(db.sql, w.id)).toEqual([]);
    const v = await version(w.id);
    await forgetVacatedTargets(db.sql, w.id);
    expect(await listTargetFailover(db.sql, w.id)).toEqual([]);
    expect(await version(w.id)).toBe(v + 1);
  });
});

describe("probe records", () => {
  it("start unknown, store what the probes found, and go with their backend", async () => {
    const w = await seed("probes");
    const initial = await listBackendHealth(db.sql, w.id);
    expect(initial.map((b) => [b.region, b.status, b.lastCheck, b.url])).toEqual([
      ["eu-west-1", "unknown", null, "http://127.0.0.1:9001"],
      ["us-east-1", "unknown", null, "http://127.0.0.1:9000"],
      ["us-central1", "unknown", null, "http://127.0.0.1:9002"],
    ]);
    const checkedAt = new Date("2030-01-01T00:00:00.000Z");
    const key = { cloud: "aws" as const, region: "us-east-1", revision: 1 };
    await recordProbes(db.sql, w.id, [
      {
        ...key,
        state: { status: "unhealthy", successes: 0, failures: 2 },
        checkedAt,
        error: "connection refused",
      },
      // Gone meanwhile: skipped, not an error.
      {
        ...key,
        revision: 9,
        state: { status: "healthy", successes: 1, failures: 0 },
        checkedAt,
        error: null,
      },
    ]);
    await setScaledReplicas(db.sql, w.id, { ...key, region: "eu-west-1" }, 4);
    const after = await listBackendHealth(db.sql, w.id);
    expect(after.find((b) => b.region === "us-east-1")).toMatchObject({
      status: "unhealthy",
      failures: 2,
      successes: 0,
      lastCheck: "2030-01-01T00:00:00.000Z",
      lastError: "connection refused",
      scaledReplicas: null,
    });
    expect(after.find((b) => b.region === "eu-west-1")).toMatchObject({
      status: "unknown",
      scaledReplicas: 4,
    });
    expect((await listBackends(db.sql, w.id)).find((b) => b.region === "eu-west-1")?.scaledReplicas).toBe(4);

    await markBackendRemoving(db.sql, w.id, key, 0);
    await deleteBackend(db.sql, w.id, key);
    const rows =
      await db.sql`SELECT 1 FROM backend_health WHERE workload_id = ${w.id} AND region = 'us-east-1'`;
    expect(rows).toHaveLength(0);
  });
});

describe("claimHealthChecks", () => {
  it("claims a due workload once per interval", async () => {
    const w = await seed("claims");
    await db.sql`UPDATE workloads SET next_health_check_at = now() + interval '1000 day'`;
    const now = new Date(Date.now() + 2 * 86_400_000);
    await db.sql`UPDATE workloads SET next_health_check_at = ${now}, health_check = '{"path":"/h","intervalSeconds":5}' WHERE id = ${w.id}`;
    expect(await claimHealthChecks(db.sql, now, 10)).toEqual([w.id]);
    expect(await claimHealthChecks(db.sql, now, 10)).toEqual([]);
    expect(await claimHealthChecks(db.sql, new Date(now.getTime() + 4_999), 10)).toEqual([]);
    expect(await claimHealthChecks(db.sql, new Date(now.getTime() + 5_000), 10)).toEqual([w.id]);
    // Without an interval in the row, the default (10 s).
    await db.sql`UPDATE workloads SET health_check = '{"path":"/h"}' WHERE id = ${w.id}`;
    const later = new Date(now.getTime() + 5_000);
    await db.sql`UPDATE workloads SET next_health_check_at = ${later} WHERE id = ${w.id}`;
    expect(await claimHealthChecks(db.sql, later, 10)).toEqual([w.id]);
    expect(await claimHealthChecks(db.sql, new Date(later.getTime() + 9_999), 10)).toEqual([]);
    expect(await claimHealthChecks(db.sql, new Date(later.getTime() + 10_000), 10)).toEqual([w.id]);
  });

  it("skips deleted workloads", async () => {
    const w = await seed("deleted-claim");
    const now = new Date(Date.now() + 10 * 86_400_000);
    await db.sql`UPDATE workloads SET next_health_check_at = now() + interval '1000 day'`;
    await db.sql`UPDATE workloads SET deleted_at = now(), next_health_check_at = now() WHERE id = ${w.id}`;
    expect(await claimHealthChecks(db.sql, now, 10)).not.toContain(w.id);
  });
});

describe("rollout holds", () => {
  it("begin once, and release by starting the step over", async () => {
    const w = await seed("holds");
    const r = await insertRollout(db.sql, {
      workloadId: w.id,
      fromRevision: 1,
      toRevision: 2,
      strategy,
      steps: [],
    });
    await db.sql`UPDATE rollouts SET step_started_at = now() WHERE id = ${r.id}`;
    expect(await holdRollout(db.sql, r.id, "aws/us-east-1 failed over")).toBe(true);
    expect(await holdRollout(db.sql, r.id, "aws/us-east-1 failed over")).toBe(false);
    expect(await holdRollout(db.sql, r.id, "aws/us-east-1 recovering (25%)")).toBe(false);
    expect(await findRollout(db.sql, r.id)).toMatchObject({ heldReason: "aws/us-east-1 recovering (25%)" });
    expect(await releaseRollout(db.sql, r.id)).toBe(true);
    expect(await releaseRollout(db.sql, r.id)).toBe(false);
    expect(await findRollout(db.sql, r.id)).toMatchObject({ heldReason: null, stepStartedAt: null });
  });
});
