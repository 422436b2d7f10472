import { describe, expect, test } from "vitest";
import { NodePoolCapacities, nodesFor } from "./capacity.ts";

describe("nodesFor", () => {
  const capacity = { nodePool: "user", podsPerNode: 3, maxNodes: 5 };

  test("one node per podsPerNode replicas started", () => {
    expect(nodesFor(1, capacity)).toBe(1);
    expect(nodesFor(3, capacity)).toBe(1);
    expect(nodesFor(4, capacity)).toBe(2);
    expect(nodesFor(12, capacity)).toBe(4);
  });

  test("never more than maxNodes, never fewer than none", () => {
    expect(nodesFor(16, capacity)).toBe(5);
    expect(nodesFor(1_000, capacity)).toBe(5);
    expect(nodesFor(0, capacity)).toBe(0);
    expect(nodesFor(-2, capacity)).toBe(0);
  });
});

describe("NodePoolCapacities", () => {
  test("defaults to none, and names the bad field", () => {
    expect(NodePoolCapacities.parse(undefined)).toEqual({});
    const bad = NodePoolCapacities.safeParse({ eastus: { nodePool: "user", podsPerNode: 0, maxNodes: 3 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["eastus", "podsPerNode"]);
  });
});
