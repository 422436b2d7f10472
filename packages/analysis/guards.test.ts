import { describe, expect, it } from "vitest";
import type { RevisionOutcomes } from "#core";
import { AnalysisConfig } from "./config.ts";
import { checkGuards } from "./guards.ts";

const canary = (requests: number, serverErrors: number, latencyBuckets: number[]): RevisionOutcomes => ({
  requests,
  serverErrors,
  bucketBoundsMs: [100, 200, 400],
  latencyBuckets,
});

describe("checkGuards", () => {
  it("checks nothing when no guard is configured", () => {
    expect(checkGuards(canary(1000, 900, [0, 0, 0, 1000]), AnalysisConfig.parse({}))).toEqual([]);
  });

  it("breaches maxErrorRate only above the limit and once minRequests were served", () => {
    const config = AnalysisConfig.parse({ maxErrorRate: 0.05, minRequests: 100 });
    expect(checkGuards(canary(200, 11, [200, 0, 0, 0]), config)).toEqual([
      { guard: "maxErrorRate", limit: 0.05, observed: 0.055, breached: true },
    ]);
    expect(checkGuards(canary(200, 10, [200, 0, 0, 0]), config)[0]?.breached).toBe(false);
    expect(checkGuards(canary(50, 40, [50, 0, 0, 0]), config)[0]?.breached).toBe(false);
    expect(checkGuards(canary(0, 0, [0, 0, 0, 0]), config)[0]).toMatchObject({
      observed: null,
      breached: false,
    });
  });

  it("breaches maxP99LatencyMs only when over 1 % of requests are certainly slower", () => {
    const config = AnalysisConfig.parse({ maxP99LatencyMs: 200, minRequests: 100 });
    // 2 % in (200, 400]: their lower edge 200 is at the limit, so they are certainly slower.
    const slow = checkGuards(canary(1000, 0, [980, 0, 20, 0]), config)[0];
    expect(slow?.breached).toBe(true);
    expect(slow?.observed).toBeGreaterThan(200);
    // 2 % in (100, 200]: maybe slower than 150, maybe not, so a 150 ms limit does not fire.
    const unsure = AnalysisConfig.parse({ maxP99LatencyMs: 150, minRequests: 100 });
    expect(checkGuards(canary(1000, 0, [980, 20, 0, 0]), unsure)[0]?.breached).toBe(false);
    // Exactly 1 % is not more than 1 %.
    expect(checkGuards(canary(1000, 0, [990, 0, 10, 0]), config)[0]?.breached).toBe(false);
    expect(checkGuards(canary(50, 0, [0, 0, 0, 50]), config)[0]?.breached).toBe(false);
  });
});
