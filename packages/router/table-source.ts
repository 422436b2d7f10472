import { DevsimError, type RoutingTable } from "#core";

/** Where the router reads routing tables from (KV in production, a fixed list in tests). */
export interface RoutingTableSource {
  /** The workload's current table, or null when none is published. May reject when the store fails. */
  get(workload: string): Promise<RoutingTable | null>;
  /**
   * The workload's table when the source holds it fresh in memory (null: fresh knowledge that
   * none is published), without waiting; undefined when it must be read with `get`. Lets the
   * router route most requests without a promise.
   */
  fresh?(workload: string): RoutingTable | null | undefined;
}

/**
 * A source that serves a fixed set of tables.
 *
 * @example
 * staticTableSource([{ workload: "shop", version: 1, backends }])
 */
export const staticTableSource = (tables: Iterable<RoutingTable>): RoutingTableSource => {
  const byWorkload = new Map<string, RoutingTable>();
  for (const table of tables) {
    if (byWorkload.has(table.workload)) {
      throw new DevsimError("invalid_input", `two routing tables for workload '${table.workload}'`, {
        workload: table.workload,
      });
    }
    byWorkload.set(table.workload, table);
  }
  return {
    get: async (workload) => byWorkload.get(workload) ?? null,
    fresh: (workload) => byWorkload.get(workload) ?? null,
  };
};

export interface CachedTableSourceOptions {
  /** How old a table may get before the next read refreshes it; 1 s by default. */
  readonly maxAgeMs?: number;
  /** How many workloads to remember; the oldest entry goes first. Bounds memory under made-up hosts. */
  readonly maxEntries?: number;
  /** Milliseconds from any fixed origin; `Date.now` by default. */
  readonly now?: () => number;
  /** How long a read of a stale table waits for the refresh before the stale table answers; 100 ms by default. */
  readonly refreshWaitMs?: number;
}

type Known =
  | { readonly ok: true; readonly table: RoutingTable | null }
  | { readonly ok: false; readonly error: unknown };

interface Entry {
  known: Known | undefined;
  /** When the last fetch started: a table is as fresh as the moment it was asked for. */
  fetchedAt: number;
  fetching: Promise<RoutingTable | null> | undefined;
}

const settle = (known: Known | undefined): RoutingTable | null => {
  if (known === undefined) throw new DevsimError("internal", "routing table cache entry without a value");
  if (!known.ok) throw known.error;
  return known.table;
};

const checkOptions = (maxAgeMs: number, maxEntries: number): void => {
  if (!(maxAgeMs >= 0 && maxAgeMs !== Number.POSITIVE_INFINITY)) {
    throw new DevsimError("invalid_input", "maxAgeMs must be a finite number >= 0", { maxAgeMs });
  }
  if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) {
    throw new DevsimError("invalid_input", "maxEntries must be an integer >= 1", { maxEntries });
  }
};

/**
 * Serves tables from memory and asks `source` again at most once per `maxAgeMs` per workload, so
 * a published weight change reaches the router within `maxAgeMs`. A read that finds its table
 * too old waits for the refresh, but for at most `refreshWaitMs`: past that it is answered with the
 * table it has while the refresh goes on, so a slow or unreachable store never holds requests up
 * for long; concurrent reads share one fetch. When a refresh fails the last known table (or "no
 * table") keeps being served until the next try, `maxAgeMs` later. "No table" is cached too, so
 * requests for unknown workloads do not reach the store every time.
 *
 * @example
 * const table = cachedTableSource(kvTableSource(kv), { maxAgeMs: 1000 })
 */
export const cachedTableSource = (
  source: RoutingTableSource,
  {
    maxAgeMs = 1000,
    maxEntries = 10_000,
    now = Date.now,
    refreshWaitMs = 100,
  }: CachedTableSourceOptions = {},
): RoutingTableSource => {
  checkOptions(maxAgeMs, maxEntries);
  const entries = new Map<string, Entry>();

  const refresh = async (workload: string, entry: Entry): Promise<RoutingTable | null> => {
    entry.fetchedAt = now();
    try {
      const table = await source.get(workload);
      entry.known = { ok: true, table };
    } catch (error) {
      if (!entry.known?.ok) entry.known = { ok: false, error };
    }
    return settle(entry.known);
  };

  const entryFor = (workload: string): Entry => {
    let entry = entries.get(workload);
    if (entry === undefined) {
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entry = { known: undefined, fetchedAt: 0, fetching: undefined };
      entries.set(workload, entry);
    }
    return entry;
  };

  const isFresh = (entry: Entry): boolean => now() - entry.fetchedAt < maxAgeMs;

  const read = async (workload: string, entry: Entry): Promise<RoutingTable | null> => {
    if (entry.fetching === undefined) {
      if (entry.known !== undefined && isFresh(entry)) return settle(entry.known);
      // `finally` runs as a later reaction, so it cannot clear the field before it is set.
      entry.fetching = refresh(workload, entry).finally(() => {
        entry.fetching = undefined;
      });
    }
    const fetching = entry.fetching;
    const known = entry.known;
    // A table once read bounds the wait for a newer one: a slow or failing store holds a request
    // up for at most `refreshWaitMs`, then the last known table answers. Without one, the read waits.
    if (!known?.ok || known.table === null) return fetching;
    const stale = known.table;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<RoutingTable>((resolve) => {
      timer = setTimeout(() => resolve(stale), refreshWaitMs);
    });
    try {
      return await Promise.race([fetching, waited]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    get: (workload) => read(workload, entryFor(workload)),
    // Every request asks here first: a fresh table is answered without a promise or an allocation.
    fresh: (workload) => {
      const entry = entries.get(workload);
      const known = entry?.known;
      if (entry === undefined || entry.fetching !== undefined || !known?.ok) return undefined;
      return isFresh(entry) ? known.table : undefined;
    },
  };
};
