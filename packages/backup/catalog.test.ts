import { describe, expect, it } from "vitest";
import { loadOrder, quoteQualified } from "./catalog.ts";

const table = (name: string, ...references: string[]) => ({
  schema: "public",
  name,
  references: references.map((r) => `public.${r}`),
});
const names = (tables: { name: string }[]) => tables.map((t) => t.name);

describe("loadOrder", () => {
  it("puts every table after the tables it references", () => {
    const tables = [
      table("events", "workloads", "rollouts"),
      table("rollouts", "workloads"),
      table("workloads", "projects"),
      table("projects"),
    ];
    expect(names(loadOrder(tables))).toEqual(["projects", "workloads", "rollouts", "events"]);
  });

  it("keeps the given order among independent tables", () => {
    expect(names(loadOrder([table("b"), table("a"), table("c", "a")]))).toEqual(["b", "a", "c"]);
  });

  it("ignores a reference to itself and to a table outside the set", () => {
    expect(names(loadOrder([table("tree", "tree"), table("x", "elsewhere")]))).toEqual(["tree", "x"]);
  });

  it("names the tables of a cycle", () => {
    expect(() => loadOrder([table("ok"), table("a", "b"), table("b", "a")])).toThrow(
      /cycle: public.a, public.b/,
    );
  });

  it("tells apart tables of the same name in two schemas", () => {
    const other = { schema: "audit", name: "events", references: ["public.events"] };
    expect(loadOrder([other, table("events")]).map(quoteQualified)).toEqual([
      '"public"."events"',
      '"audit"."events"',
    ]);
  });
});
