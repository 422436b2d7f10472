/** Amounts to add to integer fields of one hash. */
export interface HashIncrement {
  readonly key: string;
  /** Field name to a safe integer; a field that does not exist yet starts at 0. */
  readonly fields: Readonly<Record<string, number>>;
}

/**
 * The small key-value surface the data plane needs. Production uses Upstash Redis; `npm start`
 * uses memory. Values are strings; callers encode. Hashes hold integer counters only.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Adds to hash fields, all increments of one call at once (one transaction), and then expires
   * every key it touched `ttlSeconds` from now. Several increments to one key add up.
   */
  incrementHashes(increments: readonly HashIncrement[], ttlSeconds: number): Promise<void>;
  /** Each key's counters, in the order asked; an empty record for a missing or expired key. */
  readHashes(keys: readonly string[]): Promise<Record<string, number>[]>;
  /**
   * Stores `value` with `version` in one atomic step unless the key already holds a version at or
   * above it; returns whether it stored. Writers racing with versions from one ordered source
   * therefore always leave the newest value.
   */
  setIfNewer(key: string, version: number, value: string): Promise<boolean>;
  /** What `setIfNewer` stored, or null. */
  getVersioned(key: string): Promise<{ readonly version: number; readonly value: string } | null>;
}
