import { z } from "zod";
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION } from "./manifest.ts";

// An archive is gzip-compressed UTF-8 text, one JSON value per line: a header, then each table as
// a `table` line followed by its rows (JSON arrays of each column's text form, or null), then
// the sequences, then `end`. A reader can stream it and notice where it was cut short.

const Identifier = z.string().min(1).max(63);

export const HeaderLine = z.object({
  kind: z.literal("header"),
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.literal(BACKUP_FORMAT_VERSION),
  id: z.string(),
});
export const TableLine = z.object({
  kind: z.literal("table"),
  schema: Identifier,
  name: Identifier,
  columns: z.array(Identifier),
});
export const SequenceLine = z.object({
  kind: z.literal("sequence"),
  schema: Identifier,
  name: Identifier,
  /** Text, since a bigint does not fit a JSON number. */
  lastValue: z.string().regex(/^-?\d{1,19}$/),
  isCalled: z.boolean(),
});
export const EndLine = z.object({ kind: z.literal("end") });

export const MetaLine = z.discriminatedUnion("kind", [HeaderLine, TableLine, SequenceLine, EndLine]);
export type MetaLine = z.infer<typeof MetaLine>;
export type TableLine = z.infer<typeof TableLine>;
export type SequenceLine = z.infer<typeof SequenceLine>;

/** One line of an archive, newline included. */
export const metaLine = (line: MetaLine): string => `${JSON.stringify(line)}\n`;

/** A row's archive line (without newline): its columns' text forms, null for SQL NULL. */
export const rowLine = (values: readonly (string | null)[]): string => JSON.stringify(values);

/** An archive's text is not what a writer of this format produces. */
export class ArchiveFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ArchiveFormatError";
  }
}

export type ParsedLine =
  | { type: "meta"; line: MetaLine }
  | { type: "row"; line: string; values: (string | null)[] };

/** Parses one archive line; throws with the reason when it is neither a valid row nor a meta line. */
export const parseLine = (line: string): ParsedLine => {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new ArchiveFormatError(`a line is not JSON: ${line.slice(0, 80)}`, { cause: error });
  }
  if (Array.isArray(value)) {
    if (!value.every((v) => v === null || typeof v === "string")) {
      throw new ArchiveFormatError("a row holds a value that is not text");
    }
    return { type: "row", line, values: value as (string | null)[] };
  }
  const meta = MetaLine.safeParse(value);
  if (!meta.success) throw new ArchiveFormatError(`unexpected line ${line.slice(0, 80)}`);
  return { type: "meta", line: meta.data };
};

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into UTF-8 lines without their newlines. Holds at most one line in memory
 * beyond the chunk at hand. Throws if the stream ends in the middle of a line.
 */
export async function* splitLines(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): AsyncGenerator<string> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let start = 0;
    let end = bytes.indexOf(NEWLINE, start);
    while (end !== -1) {
      const piece = bytes.subarray(start, end);
      yield (pending.length > 0 ? Buffer.concat([pending, piece]) : piece).toString("utf8");
      pending = Buffer.alloc(0);
      start = end + 1;
      end = bytes.indexOf(NEWLINE, start);
    }
    if (start < bytes.length) pending = Buffer.concat([pending, bytes.subarray(start)]);
  }
  if (pending.length > 0) throw new ArchiveFormatError("the archive ends in the middle of a line");
}
