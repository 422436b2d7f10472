import { describe, expect, it } from "vitest";
import { ArchiveFormatError, type MetaLine, metaLine, parseLine, rowLine, splitLines } from "./archive.ts";

const collect = async (chunks: (Buffer | string)[]): Promise<string[]> => {
  const out: string[] = [];
  for await (const line of splitLines(chunks)) out.push(line);
  return out;
};

describe("splitLines", () => {
  it("splits on newlines however the chunks fall", async () => {
    expect(await collect(["a\nb", "c\n", "\nd\n"])).toEqual(["a", "bc", "", "d"]);
    expect(await collect([])).toEqual([]);
  });

  it("reassembles a multi-byte character cut between chunks", async () => {
    const bytes = Buffer.from("é€\n");
    expect(await collect([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)])).toEqual(["é€"]);
  });

  it("fails when the stream stops mid-line", async () => {
    await expect(collect(["a\nhalf"])).rejects.toThrow(ArchiveFormatError);
  });
});

describe("archive lines", () => {
  it("round-trip rows with nulls, quotes, newlines and tabs", () => {
    const values = ['x\ny\t"z"', null, "", '{"a": 1}'];
    const line = rowLine(values);
    expect(line).not.toContain("\n");
    expect(parseLine(line)).toEqual({ type: "row", line, values });
  });

  it("round-trip meta lines", () => {
    const table: MetaLine = { kind: "table", schema: "public", name: "events", columns: ["id", "data"] };
    expect(metaLine(table).endsWith("\n")).toBe(true);
    expect(parseLine(metaLine(table).trimEnd())).toEqual({ type: "meta", line: table });
    const sequence: MetaLine = {
      kind: "sequence",
      schema: "public",
      name: "s",
      lastValue: "9223372036854775807",
      isCalled: true,
    };
    expect(parseLine(metaLine(sequence).trimEnd())).toEqual({ type: "meta", line: sequence });
  });

  it.each([
    ["a number in a row", "[1]"],
    ["an unknown kind", '{"kind":"view"}'],
    [
      "a sequence value that is not an integer",
      '{"kind":"sequence","schema":"p","name":"s","lastValue":"1e3","isCalled":true}',
    ],
    ["a header of another format", '{"kind":"header","format":"pg_dump","formatVersion":1,"id":"x"}'],
    ["text that is not JSON", '["cut'],
  ])("reject %s", (_what, line) => {
    expect(() => parseLine(line)).toThrow(ArchiveFormatError);
  });
});
