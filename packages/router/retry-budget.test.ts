import { describe, expect, it } from "vitest";
import { RetryBudget } from "./retry-budget.ts";

const clock = () => {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

const retriesOver = (budget: RetryBudget, requests: number): number => {
  let retries = 0;
  for (let i = 0; i < requests; i++) {
    budget.request();
    if (budget.tryRetry()) retries++;
  }
  return retries;
};

describe("RetryBudget", () => {
  it("allows a retry for every 1/ratio requests when nothing else is left", () => {
    const time = clock();
    expect(retriesOver(new RetryBudget({ ratio: 0.2, minPerSecond: 0, now: time.now }), 100)).toBe(20);
    expect(retriesOver(new RetryBudget({ ratio: 0.5, minPerSecond: 0, now: time.now }), 100)).toBe(50);
    expect(retriesOver(new RetryBudget({ ratio: 0, minPerSecond: 0, now: time.now }), 100)).toBe(0);
  });

  it("has a reserve of minPerSecond that refills with time", () => {
    const time = clock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 3, now: time.now });
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    time.advance(334);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    // A long quiet spell refills the reserve, but never beyond minPerSecond.
    time.advance(60_000);
    expect(retriesOver(budget, 10)).toBe(3);
  });

  it("does not bank more than a burst's worth of deposits", () => {
    const time = clock();
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, now: time.now });
    for (let i = 0; i < 100_000; i++) budget.request();
    let retries = 0;
    while (budget.tryRetry()) retries++;
    expect(retries).toBe(200);
  });

  it.each([[{ ratio: -0.1 }], [{ ratio: 1.5 }], [{ minPerSecond: -1 }], [{ minPerSecond: Number.NaN }]])(
    "refuses options %j",
    (options) => {
      expect(() => new RetryBudget(options)).toThrow(/must be/);
    },
  );
});
