import { describe, expect, test } from "vitest";
import type { ClusterNode } from "../kubernetes/index.ts";
import { mostInAZone, sizePerZone } from "./node-pool-growth.ts";

describe("sizePerZone: what setSize is asked for a pool across zones", () => {
  test("a pool whose nodes fit is left as it is", () => {
    expect(sizePerZone({ zones: 1, mostInAZone: 4 }, 4, 10)).toBeNull();
    expect(sizePerZone({ zones: 3, mostInAZone: 2 }, 6, 10)).toBeNull();
  });

  test("a single-zone pool grows to the nodes needed, at most maxNodes", () => {
    expect(sizePerZone({ zones: 1, mostInAZone: 2 }, 4, 10)).toBe(4);
    expect(sizePerZone({ zones: 1, mostInAZone: 2 }, 9, 5)).toBe(5);
  });

  test("across zones the need is rounded up to whole zones, and down to stay within maxNodes", () => {
    expect(sizePerZone({ zones: 3, mostInAZone: 1 }, 5, 10)).toBe(2);
    expect(sizePerZone({ zones: 3, mostInAZone: 1 }, 7, 7)).toBe(2);
    expect(sizePerZone({ zones: 3, mostInAZone: 2 }, 7, 8)).toBeNull();
  });

  test("never less than the most nodes seen in one zone: a short zone is not a smaller pool", () => {
    expect(sizePerZone({ zones: 3, mostInAZone: 3 }, 9, 9)).toBeNull();
    expect(sizePerZone({ zones: 2, mostInAZone: 5 }, 4, 12)).toBeNull();
  });

  test("maxNodes below the zone count leaves nothing to ask", () => {
    expect(sizePerZone({ zones: 3, mostInAZone: 0 }, 2, 2)).toBeNull();
  });
});

describe("mostInAZone", () => {
  const node = (name: string, zone?: string): ClusterNode => ({
    name,
    labels: zone ? { "topology.kubernetes.io/zone": zone } : {},
  });

  test("counts nodes by their zone label and gives the largest count", () => {
    expect(mostInAZone([])).toBe(0);
    expect(mostInAZone([node("a", "z-b"), node("b", "z-b"), node("c", "z-c")])).toBe(2);
    expect(mostInAZone([node("a"), node("b"), node("c", "z-c")])).toBe(2);
  });
});
