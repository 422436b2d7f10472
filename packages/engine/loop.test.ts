import { describe, expect, it, vi } from "vitest";
import { recordingLogger } from "../../test/support/recording-logger.ts";
import { reconcileBackoffMs, startReconcileLoop } from "./loop.ts";
import type { Reconciler } from "./reconciler.ts";

describe("reconcileBackoffMs", () => {
  it.each([
    [0, 250],
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [5, 5_000],
    [50, 5_000],
    [5_000, 5_000],
  ])("after %i failures waits %i ms (250 ms interval, 5 s cap)", (failures, expected) => {
    expect(reconcileBackoffMs(failures, 250, 5_000)).toBe(expected);
  });

  it("still grows from a zero interval", () => {
    expect(reconcileBackoffMs(1, 0, 100)).toBe(2);
    expect(reconcileBackoffMs(20, 0, 100)).toBe(100);
  });
});

const refused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

describe("startReconcileLoop", () => {
  it("keeps going through failed passes, backing off, and says when passes succeed again", async () => {
    const passes: number[] = [];
    let failing = true;
    const reconciler: Reconciler = {
      owner: "test",
      reconcileOnce: async () => {
        passes.push(performance.now());
        if (failing) throw refused();
        return 0;
      },
    };
    const log = recordingLogger();
    const { lines } = log;
    const loop = startReconcileLoop(reconciler, { intervalMs: 10, maxBackoffMs: 80, log });
    try {
      await vi.waitFor(() => expect(passes.length).toBeGreaterThanOrEqual(6), {
        timeout: 3_000,
        interval: 10,
      });
      const gaps = passes.slice(1).map((t, i) => t - (passes[i] ?? t));
      // 20, 40, 80, 80, ...: the pauses grow, then stay at the cap.
      expect(gaps[0]).toBeGreaterThanOrEqual(15);
      expect(gaps[2]).toBeGreaterThanOrEqual(70);
      expect(Math.max(...gaps)).toBeLessThan(400);
      const warnings = lines.filter((l) => l.level === "warn");
      expect(warnings[0]?.obj).toMatchObject({ reason: "ECONNREFUSED", failures: 1, retryInMs: 20 });

      failing = false;
      await vi.waitFor(() => expect(lines.some((l) => l.level === "info")).toBe(true), {
        timeout: 2_000,
        interval: 10,
      });
      const before = passes.length;
      await vi.waitFor(() => expect(passes.length).toBeGreaterThan(before + 3), {
        timeout: 2_000,
        interval: 5,
      });
    } finally {
      await loop.stop();
    }
  });

  it("logs other failures as errors and still carries on", async () => {
    let calls = 0;
    const reconciler: Reconciler = {
      owner: "test",
      reconcileOnce: async () => {
        calls++;
        if (calls === 1) throw new Error("a bug");
        return 0;
      },
    };
    const log = recordingLogger();
    const { lines } = log;
    const loop = startReconcileLoop(reconciler, { intervalMs: 5, log });
    try {
      await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(3), { timeout: 2_000, interval: 5 });
      expect(lines.find((l) => l.level === "error")?.msg).toBe("reconcile pass failed");
    } finally {
      await loop.stop();
    }
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(after);
  });
});
