import { describe, expect, it } from "vitest";
import { errorVerdict } from "./verdict.ts";

describe("errorVerdict", () => {
  it("carries the source's message and no evidence", () => {
    const v = errorVerdict("prometheus: connect ECONNREFUSED");
    expect(v).toEqual({
      status: "error",
      reason: "metric source failed: prometheus: connect ECONNREFUSED",
      decidedBy: null,
      evidence: null,
    });
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });
});
