import { Redis } from "@upstash/redis";
import type { KeyValueStore } from "./store.ts";

export interface UpstashStoreOptions {
  /** The database's REST URL (`UPSTASH_REDIS_REST_URL` in production). */
  readonly url: string;
  /** Its REST token (`UPSTASH_REDIS_REST_TOKEN`). */
  readonly token: string;
  /** Put before every key, so several environments or test runs can share one database. */
  readonly prefix?: string;
}

/** A KeyValueStore on Upstash Redis over its REST API; it runs on Node and on edge runtimes. */
export const upstashStore = ({ url, token, prefix = "" }: UpstashStoreOptions): KeyValueStore => {
  // Values are opaque strings here. By default the client JSON-parses what it reads, which would
  // hand back the number 42 for a stored "42" and an object for a stored table.
  const redis = new Redis({ url, token, automaticDeserialization: false });
  return {
    get: async (key) => (await redis.get<string>(prefix + key)) ?? null,
    set: async (key, value) => {
      await redis.set(prefix + key, value);
    },
    delete: async (key) => {
      await redis.del(prefix + key);
    },
  };
};
