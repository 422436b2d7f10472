import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DevsimError } from "#core";
import { routingTable as table } from "../../test/support/fixtures.ts";
import { useRedisFixture } from "../../test/support/redis.ts";
import { kvRoutingTables } from "./routing.ts";
import type { KeyValueStore } from "./store.ts";
import { upstashStore } from "./upstash.ts";

const redis = useRedisFixture("kv-upstash");
let kv: KeyValueStore;
beforeEach(() => {
  kv = upstashStore({ url: redis.bridge.url, token: redis.bridge.token, prefix: redis.prefix });
});

describe("upstashStore", () => {
  it("gets what was set, null for a missing key, and nothing after delete", async () => {
    expect(await kv.get("a")).toBeNull();
    await kv.set("a", "one");
    expect(await kv.get("a")).toBe("one");
    await kv.set("a", "two");
    expect(await kv.get("a")).toBe("two");
    await kv.delete("a");
    expect(await kv.get("a")).toBeNull();
    await kv.delete("never-set");
  });

  it("hands values back as the exact strings stored, never parsed", async () => {
    for (const value of ["42", "null", "true", '{"a":1}', '"quoted"', "", "OK", "é 日本 🚀", "\u0000\n"]) {
      await kv.set("v", value);
      expect(await kv.get("v")).toBe(value);
    }
  });

  it("keeps keys under its prefix and apart from other prefixes", async () => {
    await kv.set("shared", "mine");
    expect(await redis.direct.get(`${redis.prefix}shared`)).toBe("mine");
    const other = upstashStore({
      url: redis.bridge.url,
      token: redis.bridge.token,
      prefix: `${redis.prefix}other:`,
    });
    expect(await other.get("shared")).toBeNull();
    await other.set("shared", "theirs");
    expect(await kv.get("shared")).toBe("mine");
    expect(await other.get("shared")).toBe("theirs");
  });

  it("keeps the newest versioned value when writers race, in one atomic step on Redis", async () => {
    expect(await kv.getVersioned("table")).toBeNull();
    const versions = Array.from({ length: 40 }, (_, i) => i + 1).sort(() => 0.5 - Math.random());
    const stored = await Promise.all(versions.map((v) => kv.setIfNewer("table", v, `value ${v}:with colon`)));
    expect(stored.some(Boolean)).toBe(true);
    expect(await kv.getVersioned("table")).toEqual({ version: 40, value: "value 40:with colon" });
    expect(await redis.direct.get(`${redis.prefix}table`)).toBe("40:value 40:with colon");
    expect(await kv.setIfNewer("table", 40, "same")).toBe(false);
    expect(await kv.setIfNewer("table", 41, "newer")).toBe(true);
  });

  it("serves many concurrent calls, which the client batches", async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((key, i) => kv.set(key, `value ${i}`)));
    expect(await Promise.all(keys.map((key) => kv.get(key)))).toEqual(keys.map((_, i) => `value ${i}`));
  });

  it("fails loudly with a wrong token", async () => {
    const wrong = upstashStore({ url: redis.bridge.url, token: "wrong", prefix: redis.prefix });
    await expect(wrong.set("a", "v")).rejects.toThrow(/Unauthorized/);
    await expect(wrong.get("a")).rejects.toThrow(/Unauthorized/);
    expect(await redis.direct.exists(`${redis.prefix}a`)).toBe(0);
  });
});

describe("kvRoutingTables on upstashStore", () => {
  it("publishes a table that a second reader sees", async () => {
    const tables = kvRoutingTables(kv);
    await tables.publish(table(1, 100));
    const reader = kvRoutingTables(
      upstashStore({ url: redis.bridge.url, token: redis.bridge.token, prefix: redis.prefix }),
    );
    expect(await reader.get("hello")).toEqual(table(1, 100));
    expect(await reader.get("other")).toBeNull();
    expect(await redis.direct.get(`${redis.prefix}routing:hello`)).toBe(`1:${JSON.stringify(table(1, 100))}`);
  });

  it("never replaces a newer table with an older one", async () => {
    const tables = kvRoutingTables(kv);
    await tables.publish(table(5, 60));
    await tables.publish(table(4, 10));
    expect((await tables.get("hello"))?.backends[0]?.weight).toBe(60);
    expect((await tables.get("hello"))?.version).toBe(5);
    await tables.publish(table(6, 20));
    expect(await tables.get("hello")).toEqual(table(6, 20));
  });

  it("removes a table and ignores a malformed one", async () => {
    const tables = kvRoutingTables(kv);
    await tables.publish(table(1, 100));
    await tables.remove("hello");
    expect(await tables.get("hello")).toBeNull();
    await kv.setIfNewer("routing:bad", 1, JSON.stringify({ workload: "bad", backends: "nope" }));
    expect(await tables.get("bad")).toBeNull();
  });
});

/** Forwards to the bridge and notes the path of every request, to see how calls are batched. */
let proxy: Server | undefined;
afterEach(async () => {
  const server = proxy;
  proxy = undefined;
  if (!server) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
});
const countingStore = async (): Promise<{ kv: KeyValueStore; paths: string[] }> => {
  const paths: string[] = [];
  const server = createServer(
    getRequestListener(async (request) => {
      const { pathname } = new URL(request.url);
      paths.push(pathname);
      const body = await request.text();
      return fetch(redis.bridge.url + pathname, { method: request.method, headers: request.headers, body });
    }),
  );
  proxy = server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { kv: upstashStore({ url, token: redis.bridge.token, prefix: redis.prefix }), paths };
};

describe("upstashStore hashes", () => {
  it("adds increments up per key and field, and reads them back in order", async () => {
    await kv.incrementHashes(
      [
        { key: "h", fields: { a: 2, "le:+Inf": 1 } },
        { key: "h", fields: { a: 3, zero: 0 } },
        { key: "g", fields: { x: 7 } },
      ],
      100,
    );
    await kv.incrementHashes([{ key: "h", fields: { a: -1, c: 4 } }], 100);
    expect(await kv.readHashes(["h", "missing", "g"])).toEqual([{ a: 4, "le:+Inf": 1, c: 4 }, {}, { x: 7 }]);
    expect(await redis.direct.hGetAll(`${redis.prefix}h`)).toEqual({ a: "4", "le:+Inf": "1", c: "4" });
    expect(await kv.readHashes([])).toEqual([]);
  });

  it("sets every touched key to expire after ttlSeconds", async () => {
    await redis.direct.hSet(`${redis.prefix}old`, "a", "1");
    await kv.incrementHashes(
      [
        { key: "h", fields: { a: 1 } },
        { key: "old", fields: { a: 1 } },
      ],
      50,
    );
    for (const key of ["h", "old"]) {
      const ttl = await redis.direct.ttl(`${redis.prefix}${key}`);
      expect(ttl).toBeGreaterThan(40);
      expect(ttl).toBeLessThanOrEqual(50);
    }
    expect(await redis.direct.hGet(`${redis.prefix}old`, "a")).toBe("2");
  });

  it("sends one flush as one MULTI/EXEC and reads many keys in a few pipelines", async () => {
    const { kv: counted, paths } = await countingStore();
    const increments = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, fields: { a: i + 1, b: 1 } }));
    await counted.incrementHashes(increments, 100);
    expect(paths).toEqual(["/multi-exec"]);
    paths.length = 0;
    const keys = Array.from({ length: 1200 }, (_, i) => `k${i % 400}`);
    const hashes = await counted.readHashes(keys);
    expect(paths).toEqual(["/pipeline", "/pipeline", "/pipeline"]);
    expect(hashes[7]).toEqual({ a: 8, b: 1 });
    expect(hashes[399]).toEqual({});
    expect(hashes[1199]).toEqual({});
    expect(hashes[299]).toEqual({ a: 300, b: 1 });
  });

  it("refuses bad increments before sending anything", async () => {
    const { kv: counted, paths } = await countingStore();
    await expect(counted.incrementHashes([{ key: "h", fields: { a: 0.5 } }], 10)).rejects.toSatisfy(
      (e) => e instanceof DevsimError && e.code === "invalid_input",
    );
    await expect(counted.incrementHashes([{ key: "h", fields: { a: 1 } }], -1)).rejects.toThrow(/ttl/);
    await counted.incrementHashes([], 10);
    await counted.incrementHashes([{ key: "h", fields: { a: 0 } }], 10);
    expect(paths).toEqual(["/multi-exec"]);
    expect(await redis.direct.exists(`${redis.prefix}h`)).toBe(0);
  });

  it("keeps a field called __proto__ as a field", async () => {
    await kv.incrementHashes([{ key: "h", fields: { ["__proto__"]: 3 } }], 10);
    const [hash] = await kv.readHashes(["h"]);
    expect(Object.entries(hash ?? {})).toEqual([["__proto__", 3]]);
  });

  it("fails on a key of another type and on a field that is not an integer", async () => {
    await kv.set("s", "text");
    await expect(kv.incrementHashes([{ key: "s", fields: { a: 1 } }], 10)).rejects.toThrow(/WRONGTYPE/);
    await expect(kv.readHashes(["s"])).rejects.toThrow(/WRONGTYPE/);
    await redis.direct.hSet(`${redis.prefix}h`, { a: "1", b: "one" });
    await expect(kv.readHashes(["h"])).rejects.toSatisfy(
      (e) => e instanceof DevsimError && e.code === "internal",
    );
  });
});
