import { describe, expect, it } from "vitest";
import { DevsimError } from "#core";
import { selector, windowIncrease } from "./promql.ts";

describe("selector", () => {
  it("quotes label values so that quotes, backslashes and newlines stay inside them", () => {
    expect(selector("m", { a: "x", region: 'we"ird\\\n' })).toBe('m{a="x",region="we\\"ird\\\\\\n"}');
    expect(selector("m", {})).toBe("m{}");
  });

  it("refuses a label name PromQL would not parse", () => {
    expect(() => selector("m", { "bad-name": "x" })).toThrow(DevsimError);
    expect(() => selector("m", { "1st": "x" })).toThrow(/label name/);
  });
});

describe("windowIncrease", () => {
  it("uses the window in ms for offsets and ranges", () => {
    const promql = windowIncrease("s{}", "r{}", 90_500);
    expect(promql).toContain("s{} offset 90500ms");
    expect(promql).toContain("resets(r{}[90500ms])");
    expect(promql).toContain("increase(s{}[90500ms])");
  });

  it("refuses a window that is not a positive whole number of ms", () => {
    for (const windowMs of [0, -5, 1.5, Number.NaN]) {
      expect(() => windowIncrease("s{}", "r{}", windowMs)).toThrow(/window/);
    }
  });
});
