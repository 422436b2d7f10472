import { describe, expect, it } from "vitest";
import * as analysis from "./index.ts";

describe("the package's public API", () => {
  it("exports the judge, its config, the verdict helper and the recommended buckets", () => {
    expect(Object.keys(analysis).sort()).toEqual([
      "AnalysisConfig",
      "DEFAULT_ANALYSIS_CONFIG",
      "MixtureConfig",
      "RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS",
      "errorVerdict",
      "judgeCanary",
      "logSpacedBounds",
    ]);
  });
});
