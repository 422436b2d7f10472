// Web-standard APIs only: the generator may run beside the router on an edge runtime.

import { z } from "zod";
import { DevsimError } from "#core";
import { fieldIssues } from "./schemas.ts";

export interface TrafficOptions {
  /** Where every request goes (usually the router). */
  readonly url: string;
  readonly ratePerSecond: number;
  /** Most requests in flight at once; ticks that find no room are dropped. Default 16. */
  readonly concurrency?: number;
  readonly fetch?: typeof globalThis.fetch;
  /** Extra request headers, such as the Host a router routes by. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Per-request time limit in ms; a request that hits it counts as failed. Default 10 000. */
  readonly timeoutMs?: number;
  /** How long `stop()` waits for requests in flight before aborting them, in ms. Default 5 000. */
  readonly stopTimeoutMs?: number;
}

export interface TrafficStats {
  /** Requests started. */
  readonly sent: number;
  /** Requests that got a response, whatever its status. */
  readonly completed: number;
  /** Requests that got no response: connection failure, timeout, abort. */
  readonly failed: number;
  /** Ticks skipped because `concurrency` requests were already in flight. */
  readonly dropped: number;
  readonly inFlight: number;
  /** Responses by HTTP status, e.g. `{ "200": 95, "500": 5 }`. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Responses by the `x-devsim-backend` header (`"none"` without it), then by status. */
  readonly byBackend: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface Traffic {
  /** A snapshot: later traffic does not change it. */
  stats(): TrafficStats;
  /** Stops sending, waits (bounded) for requests in flight, and gives the final stats. Idempotent. */
  stop(): Promise<TrafficStats>;
}

export const BACKEND_HEADER = "x-devsim-backend";
const NO_BACKEND = "none";
/** Never tick faster than this: the event loop cannot keep finer timers honest anyway. */
const MIN_TICK_MS = 5;
const MAX_TICK_MS = 100;
/** After aborting stragglers, how long stop() still waits for a fetch that ignores its signal. */
const ABORT_GRACE_MS = 100;

const TrafficSettings = z.object({
  url: z.url({ protocol: /^https?$/ }),
  ratePerSecond: z.number().positive().max(100_000),
  concurrency: z.int().min(1).max(10_000).default(16),
  fetch: z
    .custom<typeof globalThis.fetch>((v) => typeof v === "function", "must be a function")
    .default(() => globalThis.fetch),
  headers: z.record(z.string(), z.string()).default({}),
  timeoutMs: z.int().min(1).max(600_000).default(10_000),
  stopTimeoutMs: z.int().min(0).max(600_000).default(5_000),
});

/** Sends GET requests at a steady rate with bounded concurrency until stopped. */
export const startTraffic = (options: TrafficOptions): Traffic => {
  const parsed = TrafficSettings.safeParse(options);
  if (!parsed.success) {
    const issues = fieldIssues(parsed.error, "options");
    throw new DevsimError("invalid_input", `invalid traffic options: ${issues[0]?.field ?? ""}`, { issues });
  }
  const settings = parsed.data;
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const byStatus = new Map<string, number>();
  const byBackend = new Map<string, Map<string, number>>();
  let sent = 0;
  let completed = 0;
  let failed = 0;
  let dropped = 0;

  const bump = (counts: Map<string, number>, key: string): void => {
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };

  const send = async (): Promise<void> => {
    try {
      const response = await settings.fetch(settings.url, {
        headers: settings.headers,
        signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), stopping.signal]),
      });
      // Read the body so the connection can be reused; its content does not matter here.
      await response.arrayBuffer().catch(() => undefined);
      const status = String(response.status);
      const backend = response.headers.get(BACKEND_HEADER) ?? NO_BACKEND;
      completed += 1;
      bump(byStatus, status);
      const counts = byBackend.get(backend) ?? new Map<string, number>();
      byBackend.set(backend, counts);
      bump(counts, status);
    } catch {
      failed += 1;
    }
  };

  const launch = (): void => {
    sent += 1;
    const request = send().finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  // Requests are due at a fixed rate from the start; the schedule never waits for a slow target.
  const startedAt = performance.now();
  let scheduled = 0;
  const tick = (): void => {
    const due = Math.floor(((performance.now() - startedAt) * settings.ratePerSecond) / 1000) + 1;
    for (; scheduled < due; scheduled += 1) {
      if (inFlight.size < settings.concurrency) launch();
      else dropped += 1;
    }
  };
  const tickMs = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, 1000 / settings.ratePerSecond));
  const timer = setInterval(tick, tickMs);
  tick();

  const stats = (): TrafficStats => ({
    sent,
    completed,
    failed,
    dropped,
    inFlight: inFlight.size,
    byStatus: Object.fromEntries(byStatus),
    byBackend: Object.fromEntries(
      [...byBackend].map(([backend, counts]) => [backend, Object.fromEntries(counts)]),
    ),
  });

  /** Resolves when every request in flight has settled or after `ms`, whichever comes first. */
  const settled = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void Promise.allSettled(inFlight).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  let stopped: Promise<TrafficStats> | undefined;
  const stop = (): Promise<TrafficStats> => {
    stopped ??= (async () => {
      clearInterval(timer);
      if (inFlight.size > 0) await settled(settings.stopTimeoutMs);
      if (inFlight.size > 0) {
        stopping.abort();
        await settled(ABORT_GRACE_MS);
      }
      return stats();
    })();
    return stopped;
  };

  return { stats, stop };
};
