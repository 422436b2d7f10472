import { describe, expect, it } from "vitest";
import { DevsimError, type RoutingTable } from "#core";
import { cachedTableSource, type RoutingTableSource, staticTableSource } from "./table-source.ts";

const tableOf = (workload: string, version: number): RoutingTable => ({
  workload,
  version,
  backends: [
    { cloud: "gcp", region: "us-central1", revision: version, weight: 100, url: "http://127.0.0.1:1" },
  ],
});

/** A source whose answers the test sets, and which counts how often it is asked. */
const scriptedSource = () => {
  const tables = new Map<string, RoutingTable>();
  const calls: string[] = [];
  let failure: Error | null = null;
  const source: RoutingTableSource = {
    get: async (workload) => {
      calls.push(workload);
      if (failure) throw failure;
      return tables.get(workload) ?? null;
    },
  };
  return {
    source,
    calls,
    publish: (table: RoutingTable) => tables.set(table.workload, table),
    fail: (error: Error | null) => {
      failure = error;
    },
  };
};

const clock = (start = 1_000_000) => {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

/** A promise the test resolves or rejects by hand. */
const deferred = <T>() => {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

describe("staticTableSource", () => {
  it("serves its tables by workload and null for others", async () => {
    const shop = tableOf("shop", 1);
    const blog = tableOf("blog", 4);
    const source = staticTableSource([shop, blog]);
    expect(await source.get("shop")).toBe(shop);
    expect(await source.get("blog")).toBe(blog);
    expect(await source.get("wiki")).toBeNull();
  });

  it("holds every table fresh, so a router never waits on it", () => {
    const shop = tableOf("shop", 1);
    const source = staticTableSource([shop]);
    expect(source.fresh).toBeTypeOf("function");
    expect(source.fresh?.("shop")).toBe(shop);
    expect(source.fresh?.("wiki")).toBeNull();
  });

  it("refuses two tables for one workload when created", () => {
    expect(() => staticTableSource([tableOf("shop", 1), tableOf("shop", 2)])).toThrow(DevsimError);
  });
});

describe("cachedTableSource", () => {
  it("asks the source once per maxAgeMs and serves from memory in between", async () => {
    const world = scriptedSource();
    const time = clock();
    world.publish(tableOf("shop", 1));
    const cached = cachedTableSource(world.source, { maxAgeMs: 1000, now: time.now });

    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    world.publish(tableOf("shop", 2));
    time.advance(999);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    expect(world.calls).toEqual(["shop"]);

    time.advance(1);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 2));
    expect(await cached.get("shop")).toEqual(tableOf("shop", 2));
    expect(world.calls).toEqual(["shop", "shop"]);
  });

  it("answers fresh() from memory only while the table is fresh, without asking the source", async () => {
    const world = scriptedSource();
    const time = clock();
    world.publish(tableOf("shop", 1));
    const cached = cachedTableSource(world.source, { maxAgeMs: 1000, now: time.now });
    expect(cached.fresh).toBeTypeOf("function");

    // Never read: it must be read with get().
    expect(cached.fresh?.("shop")).toBeUndefined();
    expect(world.calls).toEqual([]);
    await cached.get("shop");
    expect(cached.fresh?.("shop")).toEqual(tableOf("shop", 1));
    expect(await cached.get("nope")).toBeNull();
    expect(cached.fresh?.("nope")).toBeNull();

    time.advance(999);
    expect(cached.fresh?.("shop")).toEqual(tableOf("shop", 1));
    time.advance(1);
    expect(cached.fresh?.("shop")).toBeUndefined();
    expect(world.calls).toEqual(["shop", "nope"]);

    // A refresh in flight is not fresh yet; once it lands, the new table is.
    world.publish(tableOf("shop", 2));
    const refreshing = cached.get("shop");
    expect(cached.fresh?.("shop")).toBeUndefined();
    await refreshing;
    expect(cached.fresh?.("shop")).toEqual(tableOf("shop", 2));
  });

  it("never answers fresh() with a failure: a source that failed must be read again", async () => {
    const world = scriptedSource();
    const time = clock();
    world.fail(new Error("kv down"));
    const cached = cachedTableSource(world.source, { now: time.now });
    await expect(cached.get("shop")).rejects.toThrow("kv down");
    expect(cached.fresh).toBeTypeOf("function");
    expect(cached.fresh?.("shop")).toBeUndefined();
  });

  it("uses 1000 ms and Date.now by default", async () => {
    const world = scriptedSource();
    world.publish(tableOf("shop", 1));
    const cached = cachedTableSource(world.source);
    await cached.get("shop");
    world.publish(tableOf("shop", 2));
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    await new Promise((resolve) => setTimeout(resolve, 1050));
    expect(await cached.get("shop")).toEqual(tableOf("shop", 2));
  });

  it("keeps workloads apart", async () => {
    const world = scriptedSource();
    const time = clock();
    world.publish(tableOf("shop", 1));
    world.publish(tableOf("blog", 7));
    const cached = cachedTableSource(world.source, { now: time.now });
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    expect(await cached.get("blog")).toEqual(tableOf("blog", 7));
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    expect(world.calls).toEqual(["shop", "blog"]);
  });

  it("caches the absence of a table too", async () => {
    const world = scriptedSource();
    const time = clock();
    const cached = cachedTableSource(world.source, { now: time.now });
    expect(await cached.get("nope")).toBeNull();
    expect(await cached.get("nope")).toBeNull();
    expect(world.calls).toEqual(["nope"]);
    world.publish(tableOf("nope", 1));
    time.advance(1000);
    expect(await cached.get("nope")).toEqual(tableOf("nope", 1));
  });

  it("shares one fetch among concurrent misses", async () => {
    const pending = deferred<RoutingTable | null>();
    let calls = 0;
    const cached = cachedTableSource({
      get: () => {
        calls += 1;
        return pending.promise;
      },
    });
    const reads = [cached.get("shop"), cached.get("shop"), cached.get("shop")];
    pending.resolve(tableOf("shop", 3));
    expect(await Promise.all(reads)).toEqual([tableOf("shop", 3), tableOf("shop", 3), tableOf("shop", 3)]);
    expect(calls).toBe(1);
  });

  it("shares one refresh among concurrent reads of a stale table, and they all see the new one", async () => {
    const time = clock();
    let version = 1;
    const fetches: ReturnType<typeof deferred<RoutingTable | null>>[] = [];
    const cached = cachedTableSource(
      {
        get: () => {
          const next = deferred<RoutingTable | null>();
          fetches.push(next);
          return next.promise;
        },
      },
      { now: time.now },
    );
    const first = cached.get("shop");
    fetches[0]?.resolve(tableOf("shop", version));
    expect(await first).toEqual(tableOf("shop", 1));

    time.advance(1000);
    version = 2;
    const reads = [cached.get("shop"), cached.get("shop")];
    expect(fetches).toHaveLength(2);
    fetches[1]?.resolve(tableOf("shop", version));
    expect(await Promise.all(reads)).toEqual([tableOf("shop", 2), tableOf("shop", 2)]);
  });

  it("measures age from when the fetch started", async () => {
    const time = clock();
    const pending = deferred<RoutingTable | null>();
    let calls = 0;
    const cached = cachedTableSource(
      {
        get: async () => {
          calls += 1;
          return calls === 1 ? pending.promise : tableOf("shop", calls);
        },
      },
      { now: time.now },
    );
    const read = cached.get("shop");
    time.advance(400);
    pending.resolve(tableOf("shop", 1));
    await read;
    time.advance(600);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 2));
  });

  it("keeps serving the last known table while the source fails, and retries once per maxAgeMs", async () => {
    const world = scriptedSource();
    const time = clock();
    world.publish(tableOf("shop", 1));
    const cached = cachedTableSource(world.source, { now: time.now });
    await cached.get("shop");

    world.fail(new Error("kv down"));
    world.publish(tableOf("shop", 2));
    time.advance(1000);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    expect(world.calls).toHaveLength(2);

    time.advance(1000);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    expect(world.calls).toHaveLength(3);

    world.fail(null);
    time.advance(1000);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 2));
  });

  it("answers from the last known table once a refresh has taken refreshWaitMs", async () => {
    const time = clock();
    let calls = 0;
    const cached = cachedTableSource(
      {
        get: (workload) => {
          calls += 1;
          return calls === 1 ? Promise.resolve(tableOf(workload, 1)) : new Promise(() => {});
        },
      },
      { now: time.now, refreshWaitMs: 20 },
    );
    await cached.get("shop");
    time.advance(5_000);
    const started = performance.now();
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
    // Two reads, each held for the bound at most, and one fetch between them.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(calls).toBe(2);
  });

  it("keeps serving a known absence while the source fails", async () => {
    const world = scriptedSource();
    const time = clock();
    const cached = cachedTableSource(world.source, { now: time.now });
    expect(await cached.get("shop")).toBeNull();
    world.fail(new Error("kv down"));
    time.advance(1000);
    expect(await cached.get("shop")).toBeNull();
  });

  it("rejects when the first fetch fails, remembers that for maxAgeMs, then tries again", async () => {
    const world = scriptedSource();
    const time = clock();
    world.publish(tableOf("shop", 1));
    world.fail(new Error("kv down"));
    const cached = cachedTableSource(world.source, { now: time.now });

    await expect(cached.get("shop")).rejects.toThrow("kv down");
    world.fail(new Error("still down"));
    await expect(cached.get("shop")).rejects.toThrow("kv down");
    expect(world.calls).toHaveLength(1);

    time.advance(1000);
    await expect(cached.get("shop")).rejects.toThrow("still down");
    world.fail(null);
    time.advance(1000);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 1));
  });

  it("copes with a source that throws instead of rejecting", async () => {
    const time = clock();
    let calls = 0;
    const cached = cachedTableSource(
      {
        get: (workload) => {
          calls += 1;
          if (calls === 1) throw new Error("sync failure");
          return Promise.resolve(tableOf(workload, calls));
        },
      },
      { now: time.now },
    );
    await expect(cached.get("shop")).rejects.toThrow("sync failure");
    time.advance(1000);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 2));
    time.advance(1000);
    expect(await cached.get("shop")).toEqual(tableOf("shop", 3));
  });

  it("forgets the oldest workload beyond maxEntries", async () => {
    const world = scriptedSource();
    const cached = cachedTableSource(world.source, { maxEntries: 2, now: clock().now });
    await cached.get("a");
    await cached.get("b");
    await cached.get("a");
    expect(world.calls).toEqual(["a", "b"]);
    await cached.get("c");
    await cached.get("b");
    await cached.get("a");
    expect(world.calls).toEqual(["a", "b", "c", "a"]);
  });

  it("with maxAgeMs 0 asks every time but still shares concurrent fetches", async () => {
    const world = scriptedSource();
    world.publish(tableOf("shop", 1));
    const cached = cachedTableSource(world.source, { maxAgeMs: 0, now: clock().now });
    await Promise.all([cached.get("shop"), cached.get("shop")]);
    await cached.get("shop");
    expect(world.calls).toEqual(["shop", "shop"]);
  });

  it.each([
    [{ maxAgeMs: -1 }],
    [{ maxAgeMs: Number.NaN }],
    [{ maxAgeMs: Number.POSITIVE_INFINITY }],
    [{ maxEntries: 0 }],
    [{ maxEntries: 1.5 }],
  ])("refuses %j when created", (options) => {
    expect(() => cachedTableSource(scriptedSource().source, options)).toThrow(DevsimError);
  });
});
