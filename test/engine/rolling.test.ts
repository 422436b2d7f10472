import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevsimError } from "#core";
import { createWorkload, deleteWorkload, startRollout, updateWorkload } from "#engine";
import { findRollout, findWorkload, listBackends, listRolloutEvents, requestReconcile } from "#store";
import { workloadInput as workload } from "../support/fixtures.ts";
import { type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const settled = (id: string) => async () => {
  const r = await findRollout(h.deps.sql, id);
  return r && r.status !== "progressing" ? r : null;
};

const worldRevisions = (name: string) =>
  h.sim.world
    .list()
    .filter((d) => d.workload === name)
    .map((d) => `${d.cloud}/${d.region}/${d.revision}`)
    .sort();

describe("rolling rollouts through the reconciler", () => {
  it("deploys a new workload to every target and publishes weights by replicas", async () => {
    const { rollout } = await createWorkload(h.deps, workload("first"));
    if (!rollout) throw new Error("no first rollout");
    const done = await h.drive(settled(rollout.id));
    expect(done.status).toBe("succeeded");
    expect(worldRevisions("first")).toEqual(["aws/us-east-1/1", "gcp/europe-west1/1"]);
    const table = await h.routing.get("first");
    expect(table?.backends.map((b) => [b.cloud, b.revision, b.weight]).sort()).toEqual([
      ["aws", 1, 25],
      ["gcp", 1, 75],
    ]);
    for (const b of table?.backends ?? []) {
      const answer = (await (await fetch(`${b.url}/anything`)).json()) as Record<string, unknown>;
      expect(answer).toMatchObject({ workload: "first", cloud: b.cloud, region: b.region, revision: 1 });
    }
    expect((await findWorkload(h.deps.sql, "first"))?.stableRevision).toBe(1);
  });

  it("rolls to a new image, target by target, and removes the old revision", async () => {
    const rollout = await startRollout(h.deps, "first", { image: "registry.example.com/app:2" });
    expect(rollout.fromRevision).toBe(1);
    expect(rollout.toRevision).toBe(2);
    expect((await h.drive(settled(rollout.id))).status).toBe("succeeded");
    // The old revision goes once it has drained.
    await h.drive(async () => worldRevisions("first").length === 2);
    expect(worldRevisions("first")).toEqual(["aws/us-east-1/2", "gcp/europe-west1/2"]);
    expect((await h.routing.get("first"))?.backends.map((b) => b.revision)).toEqual([2, 2]);
    const events = await listRolloutEvents(h.deps.sql, rollout.id, { limit: 100 });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("rollout_started");
    expect(types.at(-1)).toBe("rollout_succeeded");
    expect(types.filter((t) => t === "removing")).toHaveLength(2);
    // Each target moves only after its new revision is ready.
    const firstShift = types.indexOf("traffic_shifted");
    expect(types.indexOf("ready")).toBeLessThan(firstShift);
  });

  it("refuses a second rollout while one is in flight", async () => {
    const rollout = await startRollout(h.deps, "first", { image: "registry.example.com/app:3" });
    const second = startRollout(h.deps, "first", { image: "registry.example.com/app:4" });
    await expect(second).rejects.toMatchObject({ code: "conflict", details: { rollout: rollout.id } });
    await h.drive(settled(rollout.id));
  });

  it("refuses unknown regions and taken names", async () => {
    const bad = workload("elsewhere", { targets: [{ cloud: "aws", region: "mars-1", replicas: 1 }] });
    await expect(createWorkload(h.deps, bad)).rejects.toMatchObject({
      code: "invalid_input",
      details: { field: "targets.0.region" },
    });
    await expect(createWorkload(h.deps, workload("first"))).rejects.toBeInstanceOf(DevsimError);
  });

  it("moves a workload between targets, draining the target it leaves", async () => {
    const { rollout } = await updateWorkload(h.deps, "first", {
      ...workload("first", { image: "registry.example.com/app:3" }),
      targets: [{ cloud: "digitalocean", region: "fra1", replicas: 2 }],
    });
    if (!rollout) throw new Error("no rollout");
    expect((await h.drive(settled(rollout.id))).status).toBe("succeeded");
    await h.drive(async () => worldRevisions("first").length === 1);
    expect(worldRevisions("first")).toEqual(["digitalocean/fra1/3"]);
    const table = await h.routing.get("first");
    expect(table?.backends).toHaveLength(1);
    expect(table?.backends[0]).toMatchObject({ cloud: "digitalocean", revision: 3, weight: 100 });
  });

  it("changes nothing when a spec update changes nothing", async () => {
    const current = await findWorkload(h.deps.sql, "first");
    if (!current) throw new Error("missing");
    const { rollout } = await updateWorkload(h.deps, "first", {
      image: current.image,
      port: current.port,
      healthCheck: current.healthCheck,
      targets: [...current.targets],
      strategy: current.strategy,
    });
    expect(rollout).toBeNull();
  });

  it("deploys again what the cloud lost", async () => {
    const [before] = await listBackends(h.deps.sql, (await findWorkload(h.deps.sql, "first"))?.id ?? "");
    if (!before) throw new Error("no backend");
    await h.sim.world.remove({
      cloud: before.cloud,
      region: before.region,
      workload: "first",
      revision: before.revision,
    });
    const healer = h.reconciler({ healIntervalMs: 0 });
    await requestReconcile(h.deps.sql, (await findWorkload(h.deps.sql, "first"))?.id ?? "");
    const url = await h.drive(
      async () => (await h.routing.get("first"))?.backends.find((b) => b.url !== before.url)?.url,
      { reconciler: healer },
    );
    expect(worldRevisions("first")).toEqual(["digitalocean/fra1/3"]);
    expect((await fetch(`${url}/`)).status).toBe(200);
  });

  it("fails a rollout whose revision never becomes ready at its deadline, keeping traffic on stable", async () => {
    const rollout = await startRollout(h.deps, "first", {
      image: "registry.example.com/app:9",
      sim: { errorRate: 0, latencyMs: 0, ready: false },
    });
    await h.deps.sql`UPDATE rollouts SET progress_deadline_seconds = 1 WHERE id = ${rollout.id}`;
    const done = await h.drive(settled(rollout.id));
    expect(done.status).toBe("failed");
    expect(done.message).toMatch(
      /progress deadline of 1s exceeded: 0\/2 replicas ready in digitalocean\/fra1/,
    );
    expect((await h.routing.get("first"))?.backends.map((b) => b.revision)).toEqual([3]);
    // The revision that never served is cleaned up by the next heal.
    const healer = h.reconciler({ healIntervalMs: 0 });
    await h.drive(async () => worldRevisions("first").length === 1, { reconciler: healer });
    expect(worldRevisions("first")).toEqual(["digitalocean/fra1/3"]);
  });

  it("deletes a workload: traffic stops at once and its deployments are removed", async () => {
    await deleteWorkload(h.deps, "first");
    expect(await h.routing.get("first")).toBeNull();
    expect(await findWorkload(h.deps.sql, "first")).toBeNull();
    await h.drive(async () => worldRevisions("first").length === 0);
    await expect(deleteWorkload(h.deps, "first")).rejects.toMatchObject({ code: "not_found" });
  });
});
