import { describe, expect, it } from "vitest";
import { insertRowsSql, selectRowsSql, TEXT_SETTINGS, textSettingsSql } from "./rows.ts";

const column = (name: string, type: string, collatable = false) => ({ name, type, collatable });

describe("selectRowsSql", () => {
  it("reads every column as text in primary key order", () => {
    const table = {
      schema: "public",
      name: "revisions",
      columns: [column("workload_id", "uuid"), column("number", "integer"), column("image", "text", true)],
      primaryKey: ["workload_id", "number"],
    };
    expect(selectRowsSql(table)).toBe(
      'SELECT "workload_id"::text, "number"::text, "image"::text FROM "public"."revisions" ORDER BY "workload_id", "number"',
    );
  });

  it("compares text keys byte by byte, so servers with other collations agree", () => {
    const table = {
      schema: "public",
      name: "schema_migrations",
      columns: [column("version", "text", true)],
      primaryKey: ["version"],
    };
    expect(selectRowsSql(table)).toMatch(/ORDER BY "version" COLLATE "C"$/);
  });

  it("orders a table without primary key by the text of every column", () => {
    const table = {
      schema: "s",
      name: "log",
      columns: [column("at", "timestamp with time zone"), column("data", "json")],
      primaryKey: [],
    };
    expect(selectRowsSql(table)).toMatch(/ORDER BY "at"::text COLLATE "C", "data"::text COLLATE "C"$/);
  });

  it("quotes identifiers, doubling quotes inside them", () => {
    const table = {
      schema: 'we"ird',
      name: "Table",
      columns: [column('a"b', "integer")],
      primaryKey: ['a"b'],
    };
    expect(selectRowsSql(table)).toBe('SELECT "a""b"::text FROM "we""ird"."Table" ORDER BY "a""b"');
  });
});

describe("insertRowsSql", () => {
  it("casts each value of a JSON batch from text to its column's type, keeping identity values", () => {
    const table = {
      schema: "public",
      name: "events",
      columns: [column("id", "bigint"), column("data", "jsonb")],
    };
    expect(insertRowsSql(table)).toBe(
      'INSERT INTO "public"."events" ("id", "data") OVERRIDING SYSTEM VALUE SELECT (r ->> 0)::bigint, (r ->> 1)::jsonb FROM jsonb_array_elements($1::text::jsonb) AS r',
    );
  });

  it("inserts rows of a table without columns", () => {
    expect(insertRowsSql({ schema: "public", name: "z", columns: [] })).toBe(
      'INSERT INTO "public"."z" SELECT  FROM jsonb_array_elements($1::text::jsonb) AS r',
    );
  });
});

describe("text settings", () => {
  it("pin time zone, date style and float output", () => {
    expect(TEXT_SETTINGS).toMatchObject({ TimeZone: "UTC", extra_float_digits: "1" });
    expect(textSettingsSql()).toContain("SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'");
  });
});
