import { beforeEach, describe, expect, it } from "vitest";
import { useRedisFixture } from "../../test/support/redis.ts";
import { kvRoutingTables } from "./routing.ts";
import type { KeyValueStore } from "./store.ts";
import { upstashStore } from "./upstash.ts";

const redis = useRedisFixture("kv-upstash");
let kv: KeyValueStore;
beforeEach(() => {
  kv = upstashStore({ url: redis.bridge.url, token: redis.bridge.token, prefix: redis.prefix });
});

const table = (version: number, weight: number) => ({
  workload: "hello",
  version,
  backends: [{ cloud: "aws" as const, region: "us-east-1", revision: 1, weight, url: "http://127.0.0.1:1" }],
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
    expect(JSON.parse((await redis.direct.get(`${redis.prefix}routing:hello`)) ?? "null")).toEqual(
      table(1, 100),
    );
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
    await kv.set("routing:bad", JSON.stringify({ workload: "bad", backends: "nope" }));
    expect(await tables.get("bad")).toBeNull();
  });
});
