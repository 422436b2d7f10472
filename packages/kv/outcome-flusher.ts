import { DevsimError } from "#core";
import type { OutcomeSnapshot } from "#router";
import {
  DEFAULT_OUTCOME_BUCKET_SECONDS,
  DEFAULT_OUTCOME_TTL_SECONDS,
  outcomeIncrements,
} from "./outcome-flush.ts";
import { checkBucketSeconds } from "./outcome-keys.ts";
import type { KeyValueStore } from "./store.ts";

export interface OutcomeFlusherOptions {
  /** The router's counters; the flusher owns draining them (so do not also scrape their snapshot). */
  readonly counters: { drain(): OutcomeSnapshot };
  readonly kv: KeyValueStore;
  readonly intervalMs?: number;
  readonly bucketSeconds?: number;
  readonly ttlSeconds?: number;
  readonly now?: () => number;
  /** Hears every failed flush; the counts stay pending and go out with the next one. */
  readonly onError?: (error: unknown) => void;
  /**
   * While this many keys wait for a KV that keeps failing, the flusher stops draining: counts then
   * pile up in the counters, whose size does not grow with time, and land in a later bucket.
   */
  readonly maxPendingKeys?: number;
}

export interface OutcomeFlusher {
  /** Drains the counters and writes what is pending now; resolves once done, whether or not it worked. */
  flush(): Promise<void>;
  /** Stops the timer and flushes one last time. */
  stop(): Promise<void>;
}

/**
 * Drains the counters every `intervalMs` and writes them to KV in one transaction per flush. A
 * flush that fails keeps its counts and retries them with the next one. If the KV applied a
 * transaction whose answer was then lost, the retry counts it twice: at least once, never lost.
 */
export const startOutcomeFlusher = ({
  counters,
  kv,
  intervalMs = 1000,
  bucketSeconds = DEFAULT_OUTCOME_BUCKET_SECONDS,
  ttlSeconds = DEFAULT_OUTCOME_TTL_SECONDS,
  now = Date.now,
  onError = () => {},
  maxPendingKeys = 10_000,
}: OutcomeFlusherOptions): OutcomeFlusher => {
  // Checked now, as a flush that failed on them would fail forever.
  checkBucketSeconds(bucketSeconds);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0 || !(intervalMs > 0)) {
    throw new DevsimError("invalid_input", "ttlSeconds must be a positive integer and intervalMs positive", {
      ttlSeconds,
      intervalMs,
    });
  }
  /** Key to field to count, not yet written. */
  const pending = new Map<string, Map<string, number>>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Flushes run one after another, so a slow KV never sees two transactions of ours at once.
  let queue: Promise<void> = Promise.resolve();

  /** Moves the counters' counts to pending; false when too much is pending already. */
  const take = (): boolean => {
    if (pending.size >= maxPendingKeys) return false;
    const snapshot = counters.drain();
    for (const { key, fields } of outcomeIncrements(snapshot, { now: now(), bucketSeconds })) {
      let hash = pending.get(key);
      if (hash === undefined) {
        hash = new Map();
        pending.set(key, hash);
      }
      for (const [field, by] of Object.entries(fields)) hash.set(field, (hash.get(field) ?? 0) + by);
    }
    return true;
  };

  const write = async (): Promise<void> => {
    if (pending.size === 0) return;
    const batch = [...pending].map(([key, fields]) => ({ key, fields: Object.fromEntries(fields) }));
    await kv.incrementHashes(batch, ttlSeconds);
    pending.clear();
  };

  const flushOnce = async (): Promise<void> => {
    try {
      const took = take();
      await write();
      // The backlog is out: now what waited in the counters.
      if (!took && take()) await write();
    } catch (error) {
      try {
        onError(error);
      } catch {
        // A failing listener must not stop the flushes that follow.
      }
    }
  };

  const flush = (): Promise<void> => {
    queue = queue.then(flushOnce);
    return queue;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void flush().then(schedule), intervalMs);
    // On Node, a flusher alone must not keep the process alive.
    if (typeof timer === "object" && typeof timer.unref === "function") timer.unref();
  };
  schedule();

  return {
    flush,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await flush();
    },
  };
};
