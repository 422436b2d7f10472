import { describe, expect, it } from "vitest";
import { DevsimError } from "#core";
import { memoryStore } from "./memory.ts";

describe("memoryStore", () => {
  it("gets what was set, null for a missing key, and nothing after delete", async () => {
    const kv = memoryStore();
    expect(await kv.get("a")).toBeNull();
    await kv.set("a", "one");
    expect(await kv.get("a")).toBe("one");
    await kv.delete("a");
    expect(await kv.get("a")).toBeNull();
  });

  it("adds increments up per key and field, across calls and within one", async () => {
    const kv = memoryStore();
    await kv.incrementHashes(
      [
        { key: "h", fields: { a: 2, b: 1 } },
        { key: "h", fields: { a: 3 } },
        { key: "g", fields: { x: 7 } },
      ],
      60,
    );
    await kv.incrementHashes([{ key: "h", fields: { a: -1, c: 4 } }], 60);
    expect(await kv.readHashes(["h", "missing", "g"])).toEqual([{ a: 4, b: 1, c: 4 }, {}, { x: 7 }]);
    expect(await kv.readHashes([])).toEqual([]);
  });

  it("creates no hash for zero increments", async () => {
    const kv = memoryStore();
    await kv.incrementHashes([{ key: "h", fields: { a: 0 } }], 60);
    expect(await kv.readHashes(["h"])).toEqual([{}]);
    // A hash under the key would make this read fail with the wrong type.
    expect(await kv.get("h")).toBeNull();
  });

  it("expires hashes ttlSeconds after their last increment", async () => {
    let now = 1_000_000;
    const kv = memoryStore({ now: () => now });
    await kv.incrementHashes([{ key: "h", fields: { a: 1 } }], 10);
    now += 9_000;
    await kv.incrementHashes([{ key: "h", fields: { a: 1 } }], 10);
    now += 9_000;
    expect(await kv.readHashes(["h"])).toEqual([{ a: 2 }]);
    now += 1_000;
    expect(await kv.readHashes(["h"])).toEqual([{}]);
    await kv.incrementHashes([{ key: "h", fields: { a: 5 } }], 10);
    expect(await kv.readHashes(["h"])).toEqual([{ a: 5 }]);
  });

  it("refuses non-integer increments and bad TTLs without writing anything", async () => {
    const kv = memoryStore();
    for (const [fields, ttl] of [
      [{ a: 1.5 }, 10],
      [{ a: Number.NaN }, 10],
      [{ a: 1 }, 0],
      [{ a: 1 }, 2.5],
    ] as const) {
      const attempt = kv.incrementHashes(
        [
          { key: "ok", fields: { a: 1 } },
          { key: "h", fields },
        ],
        ttl,
      );
      await expect(attempt).rejects.toSatisfy((e) => e instanceof DevsimError && e.code === "invalid_input");
    }
    expect(await kv.readHashes(["ok", "h"])).toEqual([{}, {}]);
  });

  it("keeps one type per key, as Redis does", async () => {
    const kv = memoryStore();
    await kv.set("s", "text");
    await expect(kv.incrementHashes([{ key: "s", fields: { a: 1 } }], 10)).rejects.toThrow(/hash/);
    await expect(kv.readHashes(["s"])).rejects.toThrow(/hash/);
    await kv.incrementHashes([{ key: "h", fields: { a: 1 } }], 10);
    await expect(kv.get("h")).rejects.toThrow(/string/);
    await kv.set("h", "replaced");
    expect(await kv.get("h")).toBe("replaced");
  });
});

describe("memoryStore versioned values", () => {
  it("keeps the newest version whatever order the writes come in", async () => {
    const kv = memoryStore();
    expect(await kv.getVersioned("t")).toBeNull();
    expect(await kv.setIfNewer("t", 5, "five")).toBe(true);
    expect(await kv.setIfNewer("t", 3, "three")).toBe(false);
    expect(await kv.setIfNewer("t", 5, "again")).toBe(false);
    expect(await kv.getVersioned("t")).toEqual({ version: 5, value: "five" });
    expect(await kv.setIfNewer("t", 6, "six")).toBe(true);
    expect(await kv.getVersioned("t")).toEqual({ version: 6, value: "six" });
    await kv.set("plain", "x");
    await expect(kv.getVersioned("plain")).rejects.toThrow(/versioned/);
  });
});
