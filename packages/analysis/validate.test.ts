import { describe, expect, it } from "vitest";
import type { RevisionOutcomes } from "#core";
import { outcomesProblem } from "./validate.ts";

const ok: RevisionOutcomes = {
  requests: 10,
  serverErrors: 1,
  bucketBoundsMs: [10, 20],
  latencyBuckets: [5, 4, 1],
};

describe("outcomesProblem", () => {
  it("accepts well-formed outcomes, empty ones included", () => {
    expect(outcomesProblem(ok)).toBeNull();
    expect(
      outcomesProblem({ requests: 0, serverErrors: 0, bucketBoundsMs: [], latencyBuckets: [0] }),
    ).toBeNull();
  });

  it.each([
    [{ requests: -1 }, "requests"],
    [{ requests: 1.5 }, "requests"],
    [{ serverErrors: 11 }, "serverErrors"],
    [{ serverErrors: Number.NaN }, "serverErrors"],
    [{ bucketBoundsMs: [20, 10] }, "bucketBoundsMs"],
    [{ bucketBoundsMs: [0, 10] }, "bucketBoundsMs"],
    [{ bucketBoundsMs: [10, Number.POSITIVE_INFINITY] }, "bucketBoundsMs"],
    [{ latencyBuckets: [5, 5] }, "latencyBuckets"],
    [{ latencyBuckets: [5, -1, 6] }, "latencyBuckets"],
  ])("names the field at fault in %j", (change, field) => {
    expect(outcomesProblem({ ...ok, ...change })).toContain(field);
  });
});
