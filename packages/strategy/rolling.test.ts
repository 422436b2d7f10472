import { describe, expect, it } from "vitest";
import type { Cloud, RolloutStep, Target } from "#core";
import type { RunningRevision } from "./context.ts";
import { describeStep } from "./describe.ts";
import { planRolling } from "./rolling.ts";

const t = (cloud: Cloud, region: string, replicas = 1): Target => ({ cloud, region, replicas });
const r = (cloud: Cloud, region: string, revision: number): RunningRevision => ({ cloud, region, revision });
describe("planRolling", () => {
  it("deploys a first revision target by target and spreads traffic by replicas", () => {
    const steps = planRolling({
      targets: [t("aws", "us-east-1", 2), t("gcp", "us-central1", 2)],
      running: [],
      toRevision: 1,
    });
    expect(steps.map(describeStep)).toEqual([
      "deploy aws/us-east-1 r1 x2",
      "await aws/us-east-1 r1",
      "shift aws/us-east-1 ->1 50",
      "deploy gcp/us-central1 r1 x2",
      "await gcp/us-central1 r1",
      "shift gcp/us-central1 ->1 50",
    ]);
  });

  it("replaces the old revision in each target only after traffic moved", () => {
    const steps = planRolling({
      targets: [t("aws", "us-east-1"), t("azure", "eastus")],
      running: [r("aws", "us-east-1", 1), r("azure", "eastus", 1)],
      toRevision: 2,
    });
    expect(steps.map(describeStep)).toEqual([
      "deploy aws/us-east-1 r2 x1",
      "await aws/us-east-1 r2",
      "shift aws/us-east-1 ->2 50",
      "remove aws/us-east-1 r1",
      "deploy azure/eastus r2 x1",
      "await azure/eastus r2",
      "shift azure/eastus ->2 50",
      "remove azure/eastus r1",
    ]);
  });

  it("drains and empties targets the workload leaves, after the new targets serve", () => {
    const steps = planRolling({
      targets: [t("digitalocean", "fra1")],
      running: [r("aws", "eu-west-1", 3), r("aws", "eu-west-1", 4), r("digitalocean", "fra1", 4)],
      toRevision: 5,
    });
    expect(steps.map(describeStep)).toEqual([
      "deploy digitalocean/fra1 r5 x1",
      "await digitalocean/fra1 r5",
      "shift digitalocean/fra1 ->5 100",
      "remove digitalocean/fra1 r4",
      "shift aws/eu-west-1 ->none 0",
      "remove aws/eu-west-1 r3",
      "remove aws/eu-west-1 r4",
    ]);
  });

  it("keeps the revision that already runs when only the replicas change", () => {
    const steps = planRolling({
      targets: [t("gcp", "europe-west1", 4)],
      running: [r("gcp", "europe-west1", 2)],
      toRevision: 2,
    });
    expect(steps.map(describeStep)).toEqual([
      "deploy gcp/europe-west1 r2 x4",
      "await gcp/europe-west1 r2",
      "shift gcp/europe-west1 ->2 100",
    ]);
  });

  it("holds its invariants over many shapes of input", () => {
    const regions: [Cloud, string][] = [
      ["aws", "us-east-1"],
      ["aws", "eu-west-1"],
      ["azure", "eastus"],
      ["gcp", "us-central1"],
      ["digitalocean", "nyc3"],
    ];
    for (let mask = 1; mask < 32; mask++) {
      for (let runningMask = 0; runningMask < 32; runningMask += 3) {
        const targets = regions.filter((_, i) => mask & (1 << i)).map(([c, g], i) => t(c, g, i + 1));
        const running = regions.filter((_, i) => runningMask & (1 << i)).map(([c, g]) => r(c, g, 7));
        const steps = planRolling({ targets, running, toRevision: 8 });

        const finalWeight = new Map<string, number>();
        for (const s of steps) if (s.kind === "shift") finalWeight.set(`${s.cloud}/${s.region}`, s.weight);
        const total = [...finalWeight.values()].reduce((a, b) => a + b, 0);
        expect(Math.round(total * 100) / 100).toBe(100);

        for (const target of targets) {
          const at = (s: RolloutStep) =>
            "cloud" in s && s.cloud === target.cloud && s.region === target.region;
          const kinds = steps.filter(at).map((s) => s.kind);
          expect(kinds.slice(0, 3)).toEqual(["deploy", "await_ready", "shift"]);
        }
        const removed = steps
          .filter((s) => s.kind === "remove")
          .map((s) => `${s.cloud}/${s.region}/${s.revision}`);
        expect(new Set(removed).size).toBe(removed.length);
        expect(removed.sort()).toEqual(running.map((x) => `${x.cloud}/${x.region}/${x.revision}`).sort());
        const lastNewShift = steps.findLastIndex((s) => s.kind === "shift" && s.to === 8);
        const firstDrain = steps.findIndex((s) => s.kind === "shift" && s.to === null);
        if (firstDrain >= 0) expect(firstDrain).toBeGreaterThan(lastNewShift);
      }
    }
  });
});
