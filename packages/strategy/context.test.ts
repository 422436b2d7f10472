import { describe, expect, it } from "vitest";
import { targetWeights } from "./context.ts";

describe("targetWeights", () => {
  it("splits in proportion to replicas", () => {
    const w = targetWeights([
      { cloud: "aws", region: "us-east-1", replicas: 3 },
      { cloud: "gcp", region: "europe-west1", replicas: 1 },
    ]);
    expect(w.get("aws/us-east-1")).toBe(75);
    expect(w.get("gcp/europe-west1")).toBe(25);
  });

  it("sums to exactly 100 when shares do not divide evenly", () => {
    for (let n = 1; n <= 12; n++) {
      const targets = Array.from({ length: n }, (_, i) => ({
        cloud: "aws" as const,
        region: `r${i}`,
        replicas: (i % 4) + 1,
      }));
      const sum = [...targetWeights(targets).values()].reduce((a, b) => a + b, 0);
      expect(Math.round(sum * 100) / 100).toBe(100);
    }
  });

  it("gives a single target everything", () => {
    expect([...targetWeights([{ cloud: "azure", region: "eastus", replicas: 7 }]).values()]).toEqual([100]);
  });
});
