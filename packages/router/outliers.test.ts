import { describe, expect, it } from "vitest";
import { OutlierDetector } from "./outliers.ts";

const clock = () => {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

const backends = [
  { url: "http://a", weight: 50 },
  { url: "http://b", weight: 50 },
];

describe("OutlierDetector", () => {
  it("ejects after the set number of failures in a row, and only then", () => {
    const time = clock();
    const outliers = new OutlierDetector({ consecutiveFailures: 3, now: time.now });
    expect(outliers.failure("http://a")).toBe(false);
    expect(outliers.failure("http://a")).toBe(false);
    expect(outliers.isEjected("http://a")).toBe(false);
    expect(outliers.failure("http://a")).toBe(true);
    expect(outliers.isEjected("http://a")).toBe(true);
    expect(outliers.isEjected("http://b")).toBe(false);
  });

  it("forgets a run of failures after one success", () => {
    const time = clock();
    const outliers = new OutlierDetector({ consecutiveFailures: 2, now: time.now });
    outliers.failure("http://a");
    outliers.success("http://a");
    expect(outliers.failure("http://a")).toBe(false);
    expect(outliers.failure("http://a")).toBe(true);
  });

  it("lets a backend back in after the ejection, and ejects it for longer each time in a row", () => {
    const time = clock();
    const outliers = new OutlierDetector({
      consecutiveFailures: 1,
      baseEjectionMs: 1_000,
      maxEjectionMs: 2_500,
      now: time.now,
    });
    outliers.failure("http://a");
    time.advance(999);
    expect(outliers.isEjected("http://a")).toBe(true);
    time.advance(1);
    expect(outliers.isEjected("http://a")).toBe(false);
    outliers.failure("http://a");
    time.advance(1_999);
    expect(outliers.isEjected("http://a")).toBe(true);
    time.advance(1);
    expect(outliers.isEjected("http://a")).toBe(false);
    // Third time: 3 000 ms, capped at 2 500.
    outliers.failure("http://a");
    time.advance(2_499);
    expect(outliers.isEjected("http://a")).toBe(true);
    time.advance(1);
    expect(outliers.isEjected("http://a")).toBe(false);
  });

  it("does not lengthen an ejection for failures of requests sent before it", () => {
    const time = clock();
    const outliers = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1_000, now: time.now });
    outliers.failure("http://a");
    time.advance(500);
    expect(outliers.failure("http://a")).toBe(false);
    time.advance(500);
    expect(outliers.isEjected("http://a")).toBe(false);
  });

  it("resets the ejection count once a backend stayed in for maxEjectionMs", () => {
    const time = clock();
    const outliers = new OutlierDetector({
      consecutiveFailures: 1,
      baseEjectionMs: 1_000,
      maxEjectionMs: 5_000,
      now: time.now,
    });
    outliers.failure("http://a");
    time.advance(1_000 + 5_000);
    outliers.success("http://a");
    outliers.failure("http://a");
    time.advance(1_000);
    // Back to the base length, not twice it.
    expect(outliers.isEjected("http://a")).toBe(false);
  });

  it("filters ejected backends out, but keeps all when every one with weight is out", () => {
    const time = clock();
    const outliers = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1_000, now: time.now });
    expect(outliers.filter(backends)).toBe(backends);
    outliers.failure("http://a");
    expect(outliers.filter(backends)).toEqual([{ url: "http://b", weight: 50 }]);
    outliers.failure("http://b");
    expect(outliers.filter(backends)).toBe(backends);
    time.advance(1_000);
    expect(outliers.filter(backends)).toBe(backends);
  });

  it("keeps all when the only ones left have no weight", () => {
    const time = clock();
    const outliers = new OutlierDetector({ consecutiveFailures: 1, now: time.now });
    outliers.failure("http://a");
    const list = [
      { url: "http://a", weight: 100 },
      { url: "http://b", weight: 0 },
    ];
    expect(outliers.filter(list)).toBe(list);
  });

  it("keeps backends with a recent failure out of a retry, unless nothing else has weight", () => {
    const time = clock();
    const outliers = new OutlierDetector({ consecutiveFailures: 3, now: time.now });
    const three = [...backends, { url: "http://c", weight: 10 }];
    expect(outliers.unsuspected(three)).toBe(three);
    outliers.failure("http://a");
    expect(outliers.unsuspected(three).map((b) => b.url)).toEqual(["http://b", "http://c"]);
    outliers.success("http://a");
    expect(outliers.unsuspected(three)).toEqual(three);
    outliers.failure("http://b");
    outliers.failure("http://c");
    outliers.failure("http://a");
    expect(outliers.unsuspected(three)).toBe(three);
  });

  it("still keeps a backend out of a retry once its ejection is over, until it answers", () => {
    const time = clock();
    const outliers = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1_000, now: time.now });
    const three = [...backends, { url: "http://c", weight: 10 }];
    outliers.failure("http://a");
    time.advance(1_000);
    // Back in the choice, but nothing says it works again: a retry goes elsewhere.
    expect(outliers.isEjected("http://a")).toBe(false);
    expect(outliers.unsuspected(three).map((b) => b.url)).toEqual(["http://b", "http://c"]);
    outliers.success("http://a");
    expect(outliers.unsuspected(three)).toEqual(three);
  });

  it.each([
    [{ consecutiveFailures: 0 }],
    [{ consecutiveFailures: 1.5 }],
    [{ baseEjectionMs: 0 }],
    [{ baseEjectionMs: 2_000, maxEjectionMs: 1_000 }],
    [{ maxEjectionMs: Number.POSITIVE_INFINITY }],
  ])("refuses options %j", (options) => {
    expect(() => new OutlierDetector(options)).toThrow(/must be/);
  });
});
