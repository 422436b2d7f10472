import { describe, expect, it } from "vitest";
import type { ProbeStatus } from "./probe-state.ts";
import { targetStatus } from "./target-status.ts";

const STATUSES: readonly ProbeStatus[] = ["unknown", "healthy", "unhealthy"];
const combinations = (length: number): ProbeStatus[][] =>
  length === 0 ? [[]] : combinations(length - 1).flatMap((c) => STATUSES.map((s) => [...c, s]));

describe("targetStatus", () => {
  it("is unknown with nothing to probe", () => {
    expect(targetStatus([])).toBe("unknown");
  });

  it.each([
    [["unhealthy"], "unhealthy"],
    [["unhealthy", "unhealthy"], "unhealthy"],
    // A lone bad canary beside a good stable: the rollout's business.
    [["healthy", "unhealthy"], "healthy"],
    [["unhealthy", "unknown"], "unknown"],
    [["unknown", "healthy"], "healthy"],
    [["unknown"], "unknown"],
  ] as const)("%j is %s", (backends, status) => {
    expect(targetStatus(backends)).toBe(status);
  });

  it("follows the rule for every mix of up to four backends", () => {
    for (let n = 1; n <= 4; n++) {
      for (const backends of combinations(n)) {
        const expected = backends.every((s) => s === "unhealthy")
          ? "unhealthy"
          : backends.some((s) => s === "healthy")
            ? "healthy"
            : "unknown";
        expect(targetStatus(backends), backends.join(",")).toBe(expected);
        // Order never matters.
        expect(targetStatus(backends.toReversed())).toBe(expected);
      }
    }
  });
});
