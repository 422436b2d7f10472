import { describe, expect, it } from "vitest";
import type { Backend } from "#core";
import { pickBackend } from "./pick.ts";

const backend = (revision: number, weight: number): Backend => ({
  cloud: "aws",
  region: "us-east-1",
  revision,
  weight,
  url: `http://127.0.0.1:${9000 + revision}`,
});

/** How often each revision is picked over `steps` evenly spaced random numbers in [0, 1). */
const sweep = (backends: readonly Backend[], steps: number, exclude?: Backend): Map<number, number> => {
  const counts = new Map<number, number>();
  for (let i = 0; i < steps; i++) {
    const picked = pickBackend(backends, i / steps, exclude);
    if (picked === null) throw new Error(`nothing picked at ${i / steps}`);
    counts.set(picked.revision, (counts.get(picked.revision) ?? 0) + 1);
  }
  return counts;
};

describe("pickBackend", () => {
  it("returns null when there is nothing to pick", () => {
    expect(pickBackend([], 0.5)).toBeNull();
    expect(pickBackend([backend(1, 0), backend(2, 0)], 0.5)).toBeNull();
  });

  it("picks the only weighted backend whatever the random number", () => {
    const only = backend(2, 100);
    for (const r of [0, 0.25, 0.5, 0.999_999_9])
      expect(pickBackend([backend(1, 0), only, backend(3, 0)], r)).toBe(only);
  });

  it("splits [0, 1) into intervals as wide as the weights, in order", () => {
    const a = backend(1, 30);
    const b = backend(2, 70);
    expect(pickBackend([a, b], 0)).toBe(a);
    expect(pickBackend([a, b], 0.299_999)).toBe(a);
    expect(pickBackend([a, b], 0.3)).toBe(b);
    expect(pickBackend([a, b], 0.999_999)).toBe(b);
  });

  it("follows the weights exactly over an even sweep", () => {
    const backends = [backend(1, 10), backend(2, 0), backend(3, 25), backend(4, 65)];
    expect(sweep(backends, 10_000)).toEqual(
      new Map([
        [1, 1000],
        [3, 2500],
        [4, 6500],
      ]),
    );
  });

  it("needs no normalised weights", () => {
    expect(sweep([backend(1, 1), backend(2, 3)], 1000)).toEqual(
      new Map([
        [1, 250],
        [2, 750],
      ]),
    );
    expect(sweep([backend(1, 0.5), backend(2, 0.5)], 1000)).toEqual(
      new Map([
        [1, 500],
        [2, 500],
      ]),
    );
  });

  it("never picks a zero, negative or non-finite weight", () => {
    const backends = [
      backend(1, 0),
      backend(2, -50),
      backend(3, Number.NaN),
      backend(4, Number.POSITIVE_INFINITY),
      backend(5, 50),
    ];
    expect(sweep(backends, 1000)).toEqual(new Map([[5, 1000]]));
  });

  it("excludes a backend and keeps the others' proportions", () => {
    const a = backend(1, 50);
    const b = backend(2, 10);
    const c = backend(3, 40);
    expect(sweep([a, b, c], 1000, a)).toEqual(
      new Map([
        [2, 200],
        [3, 800],
      ]),
    );
  });

  it("returns null when the excluded backend is the only one with weight", () => {
    const a = backend(1, 100);
    expect(pickBackend([a, backend(2, 0)], 0.5, a)).toBeNull();
  });

  it("excludes by identity, not by equal fields", () => {
    const a = backend(1, 100);
    expect(pickBackend([a], 0.5, { ...a })).toBe(a);
  });

  it("copes with random numbers outside [0, 1)", () => {
    const a = backend(1, 50);
    const b = backend(2, 50);
    const zero = backend(3, 0);
    expect(pickBackend([a, b, zero], -1)).toBe(a);
    expect(pickBackend([a, b, zero], 1)).toBe(b);
    expect(pickBackend([a, b, zero], 7)).toBe(b);
    expect(pickBackend([a, b, zero], Number.NaN)).toBe(b);
  });

  it("is not thrown off by rounding in the running sum", () => {
    const backends = Array.from({ length: 10 }, (_, i) => backend(i + 1, 0.1));
    const last = backends[9];
    expect(pickBackend(backends, 0.999_999_999_999_999_9)).toBe(last);
  });
});
