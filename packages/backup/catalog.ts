import type { Db } from "#store";

export interface ColumnInfo {
  readonly name: string;
  /** As `format_type` spells it, e.g. `timestamp with time zone`: what a text value is cast to. */
  readonly type: string;
  /** Whether the type sorts by a collation, so its order could differ between two servers. */
  readonly collatable: boolean;
}

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly ColumnInfo[];
  readonly primaryKey: readonly string[];
  /** Tables this one references by foreign key, as `schema.name`. */
  readonly references: readonly string[];
}

export interface SequenceInfo {
  readonly schema: string;
  readonly name: string;
}

export interface Catalog {
  /** Every table, each after the tables it references. */
  readonly tables: readonly TableInfo[];
  readonly sequences: readonly SequenceInfo[];
}

export const qualifiedName = (t: { schema: string; name: string }): string => `${t.schema}.${t.name}`;

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export const quoteQualified = (t: { schema: string; name: string }): string =>
  `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

/**
 * Orders tables so that each comes after every table it references, keeping the given order
 * among tables that do not depend on each other. A self-reference does not count; a cycle between
 * tables cannot be loaded row by row, so it throws naming the tables.
 */
export const loadOrder = <T extends { schema: string; name: string; references: readonly string[] }>(
  tables: readonly T[],
): T[] => {
  const byName = new Map(tables.map((t) => [qualifiedName(t), t]));
  const placed = new Set<string>();
  const ordered: T[] = [];
  let rest = [...tables];
  while (rest.length > 0) {
    const ready = rest.filter((t) =>
      t.references.every((r) => r === qualifiedName(t) || placed.has(r) || !byName.has(r)),
    );
    if (ready.length === 0) {
      throw new Error(`tables reference each other in a cycle: ${rest.map(qualifiedName).join(", ")}`);
    }
    for (const t of ready) {
      ordered.push(t);
      placed.add(qualifiedName(t));
    }
    rest = rest.filter((t) => !placed.has(qualifiedName(t)));
  }
  return ordered;
};

/** SQL condition on `n` (pg_namespace): not the system's schemas nor those of temporary and TOAST tables. */
export const USER_SCHEMA = `n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'`;

interface TableRow {
  oid: number;
  schema: string;
  name: string;
}

/**
 * Reads which tables and sequences a database holds and how to copy them. Partitions are read
 * through their parent; generated columns are left out, since the database computes them.
 */
export const readCatalog = async (db: Db): Promise<Catalog> => {
  const tables = await db.unsafe<TableRow[]>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER_SCHEMA}
    ORDER BY n.nspname, c.relname`);
  const columns = await db.unsafe<{ oid: number; name: string; type: string; collatable: boolean }[]>(`
    SELECT a.attrelid::int AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attcollation <> 0 AS collatable
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      AND ${USER_SCHEMA}
    ORDER BY a.attrelid, a.attnum`);
  const keys = await db.unsafe<{ oid: number; name: string }[]>(`
    SELECT i.indrelid::int AS oid, a.attname AS name
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indisprimary
    ORDER BY i.indrelid, k.position`);
  const references = await db.unsafe<{ oid: number; target: string }[]>(`
    SELECT con.conrelid::int AS oid, n.nspname || '.' || c.relname AS target
    FROM pg_constraint con JOIN pg_class c ON c.oid = con.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE con.contype = 'f'`);
  const sequences = await db.unsafe<{ schema: string; name: string }[]>(`
    SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND ${USER_SCHEMA}
    ORDER BY n.nspname, c.relname`);

  const of = <R extends { oid: number }>(rows: readonly R[], oid: number) =>
    rows.filter((r) => r.oid === oid);
  const infos = tables.map(
    (t): TableInfo => ({
      schema: t.schema,
      name: t.name,
      columns: of(columns, t.oid).map(({ name, type, collatable }) => ({ name, type, collatable })),
      primaryKey: of(keys, t.oid).map((k) => k.name),
      references: [...new Set(of(references, t.oid).map((r) => r.target))],
    }),
  );
  return { tables: loadOrder(infos), sequences: sequences.map(({ schema, name }) => ({ schema, name })) };
};
