import { describe, expect, it } from "vitest";
import { BlueGreenStrategy, CanaryStrategy } from "#core";
import { planBlueGreen } from "./blue-green.ts";
import { describeStep } from "./describe.ts";
import { planRollout } from "./plan.ts";

const targets = [
  { cloud: "aws" as const, region: "us-east-1", replicas: 1 },
  { cloud: "azure" as const, region: "westeurope", replicas: 3 },
];
const running = targets.map((t) => ({ cloud: t.cloud, region: t.region, revision: 4 }));

describe("planBlueGreen", () => {
  it("deploys everywhere, switches all traffic in one step, keeps the old revision for the delay", () => {
    const steps = planBlueGreen(
      { targets, running, toRevision: 5 },
      BlueGreenStrategy.parse({ type: "blueGreen", scaleDownDelaySeconds: 45 }),
    );
    expect(steps.map(describeStep)).toEqual([
      "deploy aws/us-east-1 r5 x1",
      "await aws/us-east-1 r5",
      "deploy azure/westeurope r5 x3",
      "await azure/westeurope r5",
      "weights aws/us-east-1/r5=25 azure/westeurope/r5=75",
      "remove aws/us-east-1 r4 after 45s",
      "remove azure/westeurope r4 after 45s",
    ]);
    expect(steps.filter((s) => s.kind === "set_weights")).toHaveLength(1);
  });
});

describe("planRollout", () => {
  const canary = CanaryStrategy.parse({ type: "canary", steps: [{ setWeight: 10 }, { setWeight: 50 }] });

  it("rolls when there is no stable revision to compare with or switch back to", () => {
    const steps = planRollout({ targets, running: [], toRevision: 1 }, canary, null);
    expect(steps.map((s) => s.kind)).not.toContain("set_weights");
    expect(steps.map((s) => s.kind)).toContain("shift");
  });

  it("follows the strategy otherwise", () => {
    const parsedCanary = planRollout({ targets, running, toRevision: 5 }, canary, 4);
    expect(parsedCanary.filter((s) => s.kind === "set_weights")).toHaveLength(3);
    const bg = planRollout(
      { targets, running, toRevision: 5 },
      BlueGreenStrategy.parse({ type: "blueGreen" }),
      4,
    );
    expect(bg.at(-1)).toMatchObject({ kind: "remove", keepSeconds: 30 });
    const rolling = planRollout(
      { targets, running, toRevision: 5 },
      { type: "rolling", progressDeadlineSeconds: 600 },
      4,
    );
    expect(rolling.map((s) => s.kind)).toContain("shift");
  });
});
