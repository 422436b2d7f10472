import { DevsimError } from "#core";
import type { HashIncrement } from "./store.ts";

/**
 * Checks a batch for `incrementHashes` and adds up increments to the same key and field, dropping
 * zeros, so every store sends each field once. Throws `invalid_input` before anything is written.
 */
export const mergeIncrements = (
  increments: readonly HashIncrement[],
  ttlSeconds: number,
): Map<string, Map<string, number>> => {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new DevsimError("invalid_input", "ttlSeconds must be a positive integer", { ttlSeconds });
  }
  const merged = new Map<string, Map<string, number>>();
  for (const { key, fields } of increments) {
    let hash = merged.get(key);
    if (hash === undefined) {
      hash = new Map();
      merged.set(key, hash);
    }
    for (const [field, by] of Object.entries(fields)) {
      const sum = (hash.get(field) ?? 0) + by;
      if (!Number.isSafeInteger(by) || !Number.isSafeInteger(sum)) {
        throw new DevsimError("invalid_input", "hash increments must be safe integers", { key, field, by });
      }
      hash.set(field, sum);
    }
  }
  for (const hash of merged.values()) {
    for (const [field, by] of hash) if (by === 0) hash.delete(field);
  }
  return merged;
};
