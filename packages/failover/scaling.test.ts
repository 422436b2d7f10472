import { describe, expect, it } from "vitest";
import type { Cloud } from "#core";
import { planScaling, type ScalableBackend } from "./scaling.ts";
import type { TargetShare } from "./weights.ts";

const backend = (
  cloud: Cloud,
  region: string,
  replicas: number,
  scaledReplicas: number | null = null,
  revision = 1,
  weight = 10,
): ScalableBackend => ({ cloud, region, revision, replicas, weight, scaledReplicas });
const share = (cloud: Cloud, region: string, normal: number, effective: number): TargetShare => ({
  cloud,
  region,
  normal,
  effective,
});

// aws/us-east-1 failed; its 25 went to aws/eu-west-1 (25 → 50); gcp unchanged.
const shares = [
  share("aws", "us-east-1", 25, 0),
  share("aws", "eu-west-1", 25, 50),
  share("gcp", "us-central1", 50, 50),
];

describe("planScaling", () => {
  it("scales a survivor by the growth of its share, rounding up", () => {
    const changes = planScaling({
      backends: [
        backend("aws", "us-east-1", 2),
        backend("aws", "eu-west-1", 3),
        backend("gcp", "us-central1", 4),
      ],
      shares,
      recovered: false,
      scaleUp: true,
    });
    expect(changes).toEqual([{ cloud: "aws", region: "eu-west-1", revision: 1, from: 3, to: 6, kind: "up" }]);
  });

  it("rounds up partial replicas and forgives floating point", () => {
    const plan = (replicas: number, normal: number, effective: number) =>
      planScaling({
        backends: [backend("gcp", "x", replicas)],
        shares: [share("gcp", "x", normal, effective)],
        recovered: false,
        scaleUp: true,
      })[0]?.to;
    expect(plan(1, 30, 40)).toBe(2);
    expect(plan(3, 30, 40)).toBe(4);
    // 0.1 + 0.2 style: 2 × 45/30 is 3 exactly, not 4.
    expect(plan(2, 30, 45.00000000001)).toBe(3);
  });

  it("caps at 100 replicas, or the given maximum", () => {
    const input = {
      backends: [backend("gcp", "x", 60)],
      shares: [share("gcp", "x", 10, 40)],
      recovered: false,
      scaleUp: true,
    };
    expect(planScaling(input)[0]?.to).toBe(100);
    expect(planScaling({ ...input, maxReplicas: 70 })[0]?.to).toBe(70);
    expect(planScaling({ ...input, backends: [backend("gcp", "x", 60, 100)] })).toEqual([]);
  });

  it("never shrinks mid-failover: a recovery step keeps the replicas a survivor has", () => {
    // us-east-1 recovering at 50: eu-west-1 at 37.5 would want 5 of 3, but already runs 6.
    const recovering = [share("aws", "us-east-1", 25, 12.5), share("aws", "eu-west-1", 25, 37.5)];
    expect(
      planScaling({
        backends: [backend("aws", "eu-west-1", 3, 6)],
        shares: recovering,
        recovered: false,
        scaleUp: true,
      }),
    ).toEqual([]);
    // But grows further when a second target fails on top.
    const worse = [share("aws", "eu-west-1", 25, 75)];
    expect(
      planScaling({
        backends: [backend("aws", "eu-west-1", 3, 6)],
        shares: worse,
        recovered: false,
        scaleUp: true,
      }),
    ).toEqual([{ cloud: "aws", region: "eu-west-1", revision: 1, from: 6, to: 9, kind: "up" }]);
  });

  it("scales every revision of a receiving target, and none without weight", () => {
    const changes = planScaling({
      backends: [
        backend("aws", "eu-west-1", 2, null, 1, 15),
        backend("aws", "eu-west-1", 1, null, 2, 10),
        backend("aws", "eu-west-1", 4, null, 3, 0),
      ],
      shares,
      recovered: false,
      scaleUp: true,
    });
    expect(changes.map((c) => [c.revision, c.from, c.to])).toEqual([
      [1, 2, 4],
      [2, 1, 2],
    ]);
  });

  it("scales back everything it scaled once every target is recovered, and only that", () => {
    const changes = planScaling({
      backends: [
        backend("aws", "eu-west-1", 3, 6),
        backend("gcp", "us-central1", 4),
        backend("aws", "us-east-1", 2, 2),
      ],
      shares: [],
      recovered: true,
      scaleUp: true,
    });
    expect(changes).toEqual([
      { cloud: "aws", region: "eu-west-1", revision: 1, from: 6, to: 3, kind: "back" },
      { cloud: "aws", region: "us-east-1", revision: 1, from: 2, to: 2, kind: "back" },
    ]);
  });

  it("with scaleSurvivors off, only scales back", () => {
    const input = { backends: [backend("aws", "eu-west-1", 3, 6)], shares, scaleUp: false };
    expect(planScaling({ ...input, backends: [backend("aws", "eu-west-1", 3)], recovered: false })).toEqual(
      [],
    );
    expect(planScaling({ ...input, recovered: true })).toHaveLength(1);
  });

  it("leaves targets whose share did not grow, and targets it knows nothing of", () => {
    expect(
      planScaling({
        backends: [
          backend("gcp", "us-central1", 4),
          backend("azure", "eastus", 1),
          backend("aws", "us-east-1", 2),
        ],
        shares,
        recovered: false,
        scaleUp: true,
      }),
    ).toEqual([]);
  });
});
