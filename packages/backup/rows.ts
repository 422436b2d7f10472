import type { ColumnInfo } from "./catalog.ts";
import { quoteIdent, quoteQualified } from "./catalog.ts";

/**
 * Settings under which every value prints the same text on every server, whatever its
 * configuration: the dump reads rows as text, and the restore reads them back to compare.
 * (Since Postgres 12 any positive `extra_float_digits` prints the shortest exact float.)
 */
export const TEXT_SETTINGS: Readonly<Record<string, string>> = {
  TimeZone: "UTC",
  DateStyle: "ISO, YMD",
  IntervalStyle: "postgres",
  extra_float_digits: "1",
  bytea_output: "hex",
};

/** `SET LOCAL` statements for TEXT_SETTINGS, to run first in a transaction. */
export const textSettingsSql = (): string =>
  Object.entries(TEXT_SETTINGS)
    .map(([name, value]) => `SET LOCAL ${name} = '${value}'`)
    .join("; ");

export interface RowSource {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly ColumnInfo[];
  readonly primaryKey: readonly string[];
}

/**
 * Reads every row as the text of each column, in an order two servers agree on: by primary key,
 * comparing text keys byte by byte (collations differ between servers); without a primary key,
 * by the text of every column.
 */
export const selectRowsSql = (table: RowSource): string => {
  const list = table.columns.map((c) => `${quoteIdent(c.name)}::text`).join(", ");
  const collatable = new Set(table.columns.filter((c) => c.collatable).map((c) => c.name));
  const order =
    table.primaryKey.length > 0
      ? table.primaryKey.map((k) => (collatable.has(k) ? `${quoteIdent(k)} COLLATE "C"` : quoteIdent(k)))
      : table.columns.map((c) => `${quoteIdent(c.name)}::text COLLATE "C"`);
  const orderBy = order.length > 0 ? ` ORDER BY ${order.join(", ")}` : "";
  return `SELECT ${list} FROM ${quoteQualified(table)}${orderBy}`;
};

/**
 * Inserts a batch of rows passed as one JSON array (`$1`) of archive rows, each value cast from
 * its text form to its column's type. Values of identity columns are kept as they were.
 */
export const insertRowsSql = (table: {
  schema: string;
  name: string;
  columns: readonly ColumnInfo[];
}): string => {
  const names = table.columns.map((c) => quoteIdent(c.name)).join(", ");
  const values = table.columns.map((c, i) => `(r ->> ${i})::${c.type}`).join(", ");
  // A table without columns still has rows; it takes them without a column list.
  const into = names.length > 0 ? ` (${names}) OVERRIDING SYSTEM VALUE` : "";
  return `INSERT INTO ${quoteQualified(table)}${into} SELECT ${values} FROM jsonb_array_elements($1::text::jsonb) AS r`;
};
