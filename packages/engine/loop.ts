import type { Logger } from "#core";
import { unreachableReason } from "#store";
import type { Reconciler } from "./reconciler.ts";

export interface ReconcileLoop {
  /** Asks for a pass as soon as the current one ends. */
  kick(): void;
  /** Stops scheduling and waits for the pass under way. */
  stop(): Promise<void>;
}

export interface ReconcileLoopOptions {
  /** Pause between passes that find no work; 250 ms by default. */
  readonly intervalMs?: number;
  /** Longest pause after failed passes, which double it from `intervalMs`; 5 s by default. */
  readonly maxBackoffMs?: number;
  readonly log: Logger;
}

/** The pause after `failures` failed passes in a row: doubling from `intervalMs`, capped at `maxBackoffMs`. */
export const reconcileBackoffMs = (failures: number, intervalMs: number, maxBackoffMs: number): number =>
  failures <= 0 ? intervalMs : Math.min(maxBackoffMs, Math.max(intervalMs, 1) * 2 ** failures);

/**
 * Runs the reconciler in this process: a pass every `intervalMs`, sooner when kicked, and straight
 * again while passes find work. Stands in for the scheduled function of production. A failed pass
 * (Postgres unreachable, say) is logged and the next one waits longer, up to `maxBackoffMs`; the
 * loop never stops on its own, and the first pass that succeeds again says so.
 */
export const startReconcileLoop = (
  reconciler: Reconciler,
  { intervalMs = 250, maxBackoffMs = 5_000, log }: ReconcileLoopOptions,
): ReconcileLoop => {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let kicked = false;
  let inFlight = false;
  let failures = 0;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
  };

  const failed = (error: unknown): number => {
    failures++;
    const delayMs = reconcileBackoffMs(failures, intervalMs, maxBackoffMs);
    const reason = unreachableReason(error);
    // One line per failed pass, at most one every `maxBackoffMs` once the backoff is at its cap.
    if (reason !== undefined)
      log.warn(
        { reason, failures, retryInMs: delayMs },
        "reconcile pass failed: the database is unreachable",
      );
    else log.error({ err: error, failures, retryInMs: delayMs }, "reconcile pass failed");
    return delayMs;
  };

  const tick = () => {
    kicked = false;
    inFlight = true;
    running = reconciler
      .reconcileOnce()
      .then(
        (claimed) => {
          if (failures > 0) log.info({ failures }, "reconcile passes succeed again");
          failures = 0;
          return claimed > 0 || kicked ? 0 : intervalMs;
        },
        (error: unknown) => failed(error),
      )
      .then((delayMs) => {
        inFlight = false;
        schedule(delayMs);
      });
  };

  schedule(0);
  return {
    kick: () => {
      kicked = true;
      if (!inFlight) schedule(0);
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
};
