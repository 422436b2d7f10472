import { describe, expect, it } from "vitest";
import { AnalysisConfig, DEFAULT_ANALYSIS_CONFIG } from "./config.ts";

describe("AnalysisConfig", () => {
  it("fills every default, the mixture's included", () => {
    expect(DEFAULT_ANALYSIS_CONFIG).toEqual({
      alpha: 0.01,
      errorAlphaShare: 0.5,
      minRequests: 100,
      onInconclusive: "fail",
      mixture: {
        errorRateRatio: 2,
        errorSpread: 0.25,
        slowShareRatio: 1.15,
        latencySpread: 0.7,
        shareScale: 0.012,
      },
    });
  });

  it("keeps what is given and defaults the rest of the mixture", () => {
    const c = AnalysisConfig.parse({
      alpha: 0.05,
      maxErrorRate: 0.1,
      maxP99LatencyMs: 800,
      onInconclusive: "extend",
      mixture: { errorRateRatio: 3 },
    });
    expect(c.alpha).toBe(0.05);
    expect(c.maxErrorRate).toBe(0.1);
    expect(c.maxP99LatencyMs).toBe(800);
    expect(c.onInconclusive).toBe("extend");
    expect(c.mixture).toEqual({
      errorRateRatio: 3,
      errorSpread: 0.25,
      slowShareRatio: 1.15,
      latencySpread: 0.7,
      shareScale: 0.012,
    });
  });

  it.each([
    [{ alpha: 0 }, "alpha"],
    [{ alpha: 0.7 }, "alpha"],
    [{ errorAlphaShare: 1 }, "errorAlphaShare"],
    [{ minRequests: 0 }, "minRequests"],
    [{ minRequests: 2.5 }, "minRequests"],
    [{ maxErrorRate: 1.5 }, "maxErrorRate"],
    [{ maxP99LatencyMs: -1 }, "maxP99LatencyMs"],
    [{ onInconclusive: "retry" }, "onInconclusive"],
    [{ mixture: { errorRateRatio: 1 } }, "mixture"],
    [{ threshold: 1 }, ""],
  ])("rejects %j", (input, field) => {
    const result = AnalysisConfig.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(field);
  });
});
