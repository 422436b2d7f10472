import { describe, expect, it } from "vitest";
import { minimise } from "./minimise.ts";

describe("minimise", () => {
  it("finds the vertex of a parabola in a few evaluations", () => {
    const r = minimise((x) => (x - 1.3) ** 2 + 2, -10, 10, 1e-8);
    expect(r.x).toBeCloseTo(1.3, 6);
    expect(r.fx).toBeCloseTo(2, 10);
    expect(r.evaluations).toBeLessThan(15);
  });

  it("finds minima of smooth non-quadratic functions", () => {
    expect(minimise((x) => Math.cosh(x - 0.25), -5, 5, 1e-9).x).toBeCloseTo(0.25, 5);
    expect(minimise((x) => x ** 4 - 3 * x, -3, 3, 1e-9).x).toBeCloseTo(Math.cbrt(3 / 4), 4);
    expect(minimise((x) => Math.abs(x - 2), 0, 10, 1e-9).x).toBeCloseTo(2, 6);
  });

  it("ends at the boundary when the function decreases across the whole bracket", () => {
    const r = minimise((x) => -x, 0, 1, 1e-9);
    expect(r.x).toBeGreaterThan(1 - 1e-6);
    expect(r.x).toBeLessThanOrEqual(1);
  });

  it("never evaluates outside the bracket and stops within maxSteps", () => {
    const seen: number[] = [];
    const r = minimise(
      (x) => {
        seen.push(x);
        return Math.sin(5 * x) + x * x;
      },
      -2,
      2,
      1e-12,
      8,
    );
    expect(seen.every((x) => x >= -2 && x <= 2)).toBe(true);
    expect(r.evaluations).toBe(seen.length);
    expect(r.evaluations).toBeLessThanOrEqual(9);
  });
});
