import { describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import { combineRegions, failedCheck } from "./managed-kubernetes.ts";

describe("combineRegions", () => {
  test("a region is available only when the cloud and its API server both say so", () => {
    const cloud = [
      { region: "a", available: true },
      { region: "b", available: true },
      { region: "c", available: false },
      { region: "d", available: false },
      { region: "e", available: true },
    ];
    const api = [
      { region: "a", available: true },
      { region: "b", available: false },
      { region: "c", available: true },
      { region: "d", available: false },
    ];
    expect(combineRegions(cloud, api)).toEqual([
      { region: "a", available: true },
      { region: "b", available: false },
      { region: "c", available: false },
      { region: "d", available: false },
      // Not probed: nothing says its API server answers.
      { region: "e", available: false },
    ]);
  });

  test("the cloud's list decides which regions there are", () => {
    expect(combineRegions([], [{ region: "a", available: true }])).toEqual([]);
  });
});

describe("failedCheck", () => {
  test("keeps the message, never the stack", () => {
    const line = failedCheck("t", new AdapterError("not_found", "gcp", "gone"), "make it");
    expect(line).toEqual({ target: "t", ok: false, problem: "gone", fix: "make it" });
    expect(failedCheck("t", "plain", "f").problem).toBe("plain");
  });
});
