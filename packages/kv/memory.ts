import type { KeyValueStore } from "./store.ts";

/** A KeyValueStore for one process. */
export const memoryStore = (): KeyValueStore => {
  const values = new Map<string, string>();
  return {
    get: async (key) => values.get(key) ?? null,
    set: async (key, value) => {
      values.set(key, value);
    },
    delete: async (key) => {
      values.delete(key);
    },
  };
};
