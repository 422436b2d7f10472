import { describe, expect, it } from "vitest";
import { renderGauges } from "./metrics.ts";

describe("renderGauges", () => {
  it("writes HELP, TYPE and a sample for each gauge with a value", () => {
    expect(renderGauges([{ name: "a_seconds", help: "A.", value: 1.5 }])).toBe(
      "# HELP a_seconds A.\n# TYPE a_seconds gauge\na_seconds 1.5\n",
    );
  });

  it("declares a gauge without value but writes no sample, so absent() can alert on it", () => {
    const text = renderGauges([
      { name: "never", help: "Never set.", value: null },
      { name: "zero", help: "Zero.", value: 0 },
    ]);
    expect(text).toBe(
      "# HELP never Never set.\n# TYPE never gauge\n# HELP zero Zero.\n# TYPE zero gauge\nzero 0\n",
    );
  });
});
