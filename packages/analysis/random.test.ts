import { describe, expect, it } from "vitest";
import { binomialDraw, normalDraw, seededRandom } from "./random.ts";

describe("seededRandom", () => {
  it("replays the same sequence from the same seed and a different one from another", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
  });

  it("stays in [0, 1) with a mean near one half", () => {
    const r = seededRandom(1);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = r.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      sum += x;
    }
    expect(sum / 20_000).toBeCloseTo(0.5, 1);
  });
});

describe("normalDraw", () => {
  it("has mean 0 and variance 1 within sampling error", () => {
    const r = seededRandom(3);
    const xs = Array.from({ length: 20_000 }, () => normalDraw(r));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});

describe("binomialDraw", () => {
  it("returns 0 for p = 0, all for p = 1, and about n p otherwise", () => {
    const r = seededRandom(5);
    expect(binomialDraw(r, 100, 0)).toBe(0);
    expect(binomialDraw(r, 100, 1)).toBe(100);
    let total = 0;
    for (let i = 0; i < 200; i++) total += binomialDraw(r, 100, 0.3);
    expect(Math.abs(total / 200 - 30)).toBeLessThan(1);
  });
});
