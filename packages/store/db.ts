import type postgres from "postgres";

/** A connection pool or an open transaction: every store function takes either. */
export type Db = postgres.ISql;

/** Postgres timestamps reach us as Dates; the domain speaks ISO strings. */
export const iso = (d: Date): string => d.toISOString();
export const isoOrNull = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** Encodes a value for a `::text::jsonb` parameter (a bare `::jsonb` cast would make postgres.js encode the string again). */
export const jsonb = (value: unknown): string => JSON.stringify(value);
