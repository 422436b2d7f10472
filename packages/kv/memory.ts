import { DevsimError } from "#core";
import { mergeIncrements } from "./increments.ts";
import type { KeyValueStore } from "./store.ts";

export interface MemoryStoreOptions {
  /** The clock that expires hashes, in ms since the epoch; tests move it by hand. */
  readonly now?: () => number;
}

type Entry =
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "versioned"; readonly version: number; readonly value: string }
  | { readonly type: "hash"; readonly fields: Map<string, number>; expiresAt: number };

// Like Redis, one key holds one type: reading it as another is a bug worth hearing about.
const wrongType = (key: string, want: string): DevsimError =>
  new DevsimError("internal", `key '${key}' does not hold a ${want}`, { key });

/** A KeyValueStore for one process. */
export const memoryStore = ({ now = Date.now }: MemoryStoreOptions = {}): KeyValueStore => {
  const entries = new Map<string, Entry>();

  /** The live entry under a key; an expired one is removed on the way, as Redis does lazily. */
  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry?.type === "hash" && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  return {
    get: async (key) => {
      const entry = live(key);
      if (entry === undefined) return null;
      if (entry.type !== "string") throw wrongType(key, "string");
      return entry.value;
    },
    set: async (key, value) => {
      entries.set(key, { type: "string", value });
    },
    delete: async (key) => {
      entries.delete(key);
    },
    setIfNewer: async (key, version, value) => {
      const entry = live(key);
      if (entry !== undefined && entry.type !== "versioned") throw wrongType(key, "versioned value");
      if (entry !== undefined && entry.version >= version) return false;
      entries.set(key, { type: "versioned", version, value });
      return true;
    },
    getVersioned: async (key) => {
      const entry = live(key);
      if (entry === undefined) return null;
      if (entry.type !== "versioned") throw wrongType(key, "versioned value");
      return { version: entry.version, value: entry.value };
    },
    incrementHashes: async (increments, ttlSeconds) => {
      const merged = mergeIncrements(increments, ttlSeconds);
      // Check every key first, so a bad one applies nothing. (Redis would apply the rest of the
      // transaction; callers rely on neither.)
      for (const key of merged.keys()) {
        if (live(key)?.type === "string") throw wrongType(key, "hash");
      }
      const expiresAt = now() + ttlSeconds * 1000;
      for (const [key, increment] of merged) {
        const entry = live(key);
        if (entry?.type === "hash") {
          for (const [field, by] of increment) entry.fields.set(field, (entry.fields.get(field) ?? 0) + by);
          entry.expiresAt = expiresAt;
        } else if (increment.size > 0) {
          // Redis creates a hash only when a field is set; expiring a missing key does nothing.
          entries.set(key, { type: "hash", fields: new Map(increment), expiresAt });
        }
      }
    },
    readHashes: async (keys) =>
      keys.map((key) => {
        const entry = live(key);
        if (entry === undefined) return {};
        if (entry.type !== "hash") throw wrongType(key, "hash");
        return Object.fromEntries(entry.fields);
      }),
  };
};
