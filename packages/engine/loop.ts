import type { Logger } from "#core";
import type { Reconciler } from "./reconciler.ts";

export interface ReconcileLoop {
  /** Asks for a pass as soon as the current one ends. */
  kick(): void;
  /** Stops scheduling and waits for the pass under way. */
  stop(): Promise<void>;
}

/**
 * Runs the reconciler in this process: a pass every `intervalMs`, sooner when kicked, and straight
 * again while passes find work. Stands in for the scheduled function of production.
 */
export const startReconcileLoop = (
  reconciler: Reconciler,
  { intervalMs = 250, log }: { intervalMs?: number; log: Logger },
): ReconcileLoop => {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let kicked = false;
  let inFlight = false;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
  };

  const tick = () => {
    kicked = false;
    inFlight = true;
    running = reconciler
      .reconcileOnce()
      .then(
        (claimed) => claimed > 0 || kicked,
        (error: unknown) => {
          log.error({ err: error }, "reconcile pass failed");
          return false;
        },
      )
      .then((again) => {
        inFlight = false;
        schedule(again ? 0 : intervalMs);
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
