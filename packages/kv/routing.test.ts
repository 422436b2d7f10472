import { describe, expect, it } from "vitest";
import { routingTable as table } from "../../test/support/fixtures.ts";
import { memoryStore } from "./memory.ts";
import { kvRoutingTables } from "./routing.ts";

describe("kvRoutingTables", () => {
  it("round-trips a published table", async () => {
    const tables = kvRoutingTables(memoryStore());
    await tables.publish(table(1, 100));
    expect(await tables.get("hello")).toEqual(table(1, 100));
    expect(await tables.get("other")).toBeNull();
  });

  it("never replaces a newer table with an older one", async () => {
    const tables = kvRoutingTables(memoryStore());
    await tables.publish(table(5, 60));
    await tables.publish(table(4, 10));
    expect((await tables.get("hello"))?.backends[0]?.weight).toBe(60);
    await tables.publish(table(6, 20));
    expect((await tables.get("hello"))?.backends[0]?.weight).toBe(20);
  });

  it("removes a table and ignores malformed values", async () => {
    const kv = memoryStore();
    const tables = kvRoutingTables(kv);
    await tables.publish(table(1, 100));
    await tables.remove("hello");
    expect(await tables.get("hello")).toBeNull();
    await kv.setIfNewer("routing:bad", 1, JSON.stringify({ workload: "bad", backends: "nope" }));
    expect(await tables.get("bad")).toBeNull();
  });
});
