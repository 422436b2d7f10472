import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CloudAdapter, CloudAdapters } from "#adapters";
import { createReconciler, createWorkload } from "#engine";
import { findRollout, listRolloutEvents, type RolloutRecord } from "#store";
import { workloadInput } from "../support/fixtures.ts";
import { type Harness, startHarness } from "../support/harness.ts";

const workload = (name: string) =>
  workloadInput(name, {
    targets: [
      { cloud: "aws", region: "eu-west-1", replicas: 1 },
      { cloud: "azure", region: "westeurope", replicas: 1 },
    ],
  });

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h?.close();
});

/** Every step of a finished rollout is recorded exactly once, in order. */
const expectEachStepOnce = async (rollout: RolloutRecord) => {
  const events = await listRolloutEvents(h.deps.sql, rollout.id, { limit: 1000 });
  const steps = events.filter((e) => typeof e.data.step === "number").map((e) => e.data.step);
  expect(steps).toEqual(rollout.steps.map((_, i) => i));
};

describe("reconciler copies side by side", () => {
  it("drive many rollouts to completion with no step applied twice", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `w${i}`);
    const ids = await Promise.all(
      names.map(async (n) => (await createWorkload(h.deps, workload(n))).rollout?.id ?? ""),
    );
    const copies = [h.reconciler(), h.reconciler(), h.reconciler()];
    const deadline = Date.now() + 20_000;
    const finished = async () => {
      const rollouts = await Promise.all(ids.map((id) => findRollout(h.deps.sql, id)));
      return rollouts.every((r) => r?.status === "succeeded") ? rollouts : null;
    };
    let done = await finished();
    while (!done && Date.now() < deadline) {
      await Promise.all(copies.map((c) => c.reconcileOnce()));
      done = await finished();
    }
    expect(done).not.toBeNull();
    for (const r of done ?? []) if (r) await expectEachStepOnce(r);
  });

  it("another copy finishes the work of a copy that stopped answering, once its lease lapses", async () => {
    const { rollout } = await createWorkload(h.deps, workload("stuck"));
    if (!rollout) throw new Error("no rollout");
    // The first copy hangs inside a cloud call, as a process frozen or cut off mid-step would.
    let release: () => void = () => {};
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hanging = (adapter: CloudAdapter): CloudAdapter => ({
      ...adapter,
      cloud: adapter.cloud,
      capabilities: adapter.capabilities,
      describe: async (target, revision) => {
        await hung;
        return adapter.describe(target, revision);
      },
    });
    const a = h.deps.adapters;
    const frozenAdapters: CloudAdapters = {
      aws: hanging(a.aws),
      azure: hanging(a.azure),
      gcp: hanging(a.gcp),
      digitalocean: hanging(a.digitalocean),
    };
    const frozen = createReconciler({ ...h.deps, adapters: frozenAdapters }, { leaseMs: 300, drainMs: 20 });
    const frozenPass = frozen.reconcileOnce();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // While the lease holds, nobody else takes the workload.
    expect(await h.reconciler().reconcileOnce()).toBe(0);

    const rescuer = h.reconciler();
    const done = await h.drive(
      async () => {
        const r = await findRollout(h.deps.sql, rollout.id);
        return r?.status === "succeeded" ? r : null;
      },
      { reconciler: rescuer },
    );
    release();
    await frozenPass;
    await expectEachStepOnce(done);
    expect((await findRollout(h.deps.sql, rollout.id))?.status).toBe("succeeded");
  });
});
