import { describe, expect, it } from "vitest";
import { CanaryStrategy, type Cloud, type RolloutStep, type Target } from "#core";
import { planCanary } from "./canary.ts";
import type { RunningRevision } from "./context.ts";
import { describeStep } from "./describe.ts";

const t = (cloud: Cloud, region: string, replicas = 1): Target => ({ cloud, region, replicas });
const r = (cloud: Cloud, region: string, revision: number): RunningRevision => ({ cloud, region, revision });
const strategy = (steps: unknown[]) => CanaryStrategy.parse({ type: "canary", steps });

const targets = [t("aws", "us-east-1", 2), t("aws", "eu-west-1", 2), t("gcp", "us-central1", 4)];
const running = targets.map((x) => r(x.cloud, x.region, 1));

/** Sum of weights per revision after a set_weights step. */
const shares = (step: RolloutStep | undefined) => {
  if (step?.kind !== "set_weights") throw new Error(`not a set_weights step: ${step?.kind}`);
  const by = new Map<number, number>();
  for (const w of step.weights)
    by.set(w.revision, Math.round(((by.get(w.revision) ?? 0) + w.weight) * 100) / 100);
  return Object.fromEntries(by);
};

describe("planCanary", () => {
  it("widens in waves: one region, then one cloud, then everywhere, with analysis and a pause between", () => {
    const steps = planCanary(
      { targets, running, toRevision: 2 },
      strategy([
        { setWeight: 5, targets: [{ cloud: "aws", region: "us-east-1" }] },
        { analysis: { durationSeconds: 60 } },
        { setWeight: 20, targets: [{ cloud: "aws" }] },
        { pause: {} },
        { setWeight: 50 },
        { pause: { durationSeconds: 30 } },
      ]),
      1,
    );
    expect(steps.map(describeStep)).toEqual([
      "deploy aws/us-east-1 r2 x2",
      "await aws/us-east-1 r2",
      "weights aws/us-east-1/r1=23.75 aws/eu-west-1/r1=23.75 gcp/us-central1/r1=47.5 aws/us-east-1/r2=5",
      "analyse r2 against r1 for 60s",
      "deploy aws/eu-west-1 r2 x2",
      "await aws/eu-west-1 r2",
      "weights aws/us-east-1/r1=20 aws/eu-west-1/r1=20 gcp/us-central1/r1=40 aws/us-east-1/r2=10 aws/eu-west-1/r2=10",
      "pause until promoted",
      "deploy gcp/us-central1 r2 x4",
      "await gcp/us-central1 r2",
      "weights aws/us-east-1/r1=12.5 aws/eu-west-1/r1=12.5 gcp/us-central1/r1=25 aws/us-east-1/r2=12.5 aws/eu-west-1/r2=12.5 gcp/us-central1/r2=25",
      "pause 30s",
      "deploy aws/us-east-1 r2 x2",
      "await aws/us-east-1 r2",
      "deploy aws/eu-west-1 r2 x2",
      "await aws/eu-west-1 r2",
      "deploy gcp/us-central1 r2 x4",
      "await gcp/us-central1 r2",
      "weights aws/us-east-1/r2=25 aws/eu-west-1/r2=25 gcp/us-central1/r2=50",
      "remove aws/eu-west-1 r1",
      "remove aws/us-east-1 r1",
      "remove gcp/us-central1 r1",
    ]);
  });

  it("gives the canary exactly the share each step names, and stable the rest", () => {
    for (const weight of [0, 1, 10, 33.3, 50, 99, 100]) {
      const steps = planCanary({ targets, running, toRevision: 7 }, strategy([{ setWeight: weight }]), 1);
      const set = steps.find((s) => s.kind === "set_weights");
      const expected: Record<number, number> = {};
      if (weight < 100) expected[1] = Math.round((100 - weight) * 100) / 100;
      if (weight > 0) expected[7] = weight;
      expect(shares(set)).toEqual(expected);
    }
  });

  it("ends with all traffic on the canary and every old revision removed, whatever the steps", () => {
    const steps = planCanary(
      {
        targets: [t("azure", "eastus")],
        running: [r("azure", "eastus", 3), r("digitalocean", "fra1", 3)],
        toRevision: 4,
      },
      strategy([{ setWeight: 10 }]),
      3,
    );
    const lastWeights = steps.findLast((s) => s.kind === "set_weights");
    expect(shares(lastWeights)).toEqual({ 4: 100 });
    expect(steps.filter((s) => s.kind === "remove").map(describeStep)).toEqual([
      "remove azure/eastus r3",
      "remove digitalocean/fra1 r3",
    ]);
    // Whatever a full promotion skips, every target gets the canary before it takes everything.
    const lastSwitch = steps.findLastIndex((s) => s.kind === "set_weights");
    const finalDeploys = steps
      .slice(0, lastSwitch)
      .filter((s) => s.kind === "deploy")
      .map(describeStep);
    expect(finalDeploys.at(-1)).toBe("deploy azure/eastus r4 x1");
  });

  it("places the canary only where a step sends it traffic, until the end", () => {
    const steps = planCanary(
      { targets, running, toRevision: 2 },
      strategy([{ setWeight: 10, targets: [{ cloud: "gcp" }] }, { pause: {} }]),
      1,
    );
    const pauseAt = steps.findIndex((s) => s.kind === "pause");
    const before = steps
      .slice(0, pauseAt)
      .filter((s) => s.kind === "deploy")
      .map(describeStep);
    expect(before).toEqual(["deploy gcp/us-central1 r2 x4"]);
  });
});
