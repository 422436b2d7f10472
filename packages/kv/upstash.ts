import { Redis } from "@upstash/redis";
import { z } from "zod";
import { DevsimError } from "#core";
import { mergeIncrements } from "./increments.ts";
import type { KeyValueStore } from "./store.ts";

export interface UpstashStoreOptions {
  /** The database's REST URL (`UPSTASH_REDIS_REST_URL` in production). */
  readonly url: string;
  /** Its REST token (`UPSTASH_REDIS_REST_TOKEN`). */
  readonly token: string;
  /** Put before every key, so several environments or test runs can share one database. */
  readonly prefix?: string;
  /** How long one request, its retries included, may take before it fails; 2 s by default. */
  readonly timeoutMs?: number;
  /** Retries of a request that got no answer; 2 by default, so an outage costs a caller seconds, not tens. */
  readonly retries?: number;
}

// Keeps each request well under Upstash's request and response size limits.
const READ_CHUNK = 500;

// Without automatic deserialisation HGETALL answers Redis' own flat [field, value, ...] list.
const FlatHash = z
  .array(z.string())
  .refine((items) => items.length % 2 === 0, "a hash is a list of field, value pairs");
const Counter = z
  .string()
  .regex(/^-?\d+$/, "not an integer")
  .transform(Number);
// A versioned value is kept as one string, "<version>:<value>", so one GET reads both.
const Versioned = z.string().regex(/^\d+:/, "not a versioned value");
// Compares and sets in one step on the server: no other writer can come between.
const SET_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+):'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2])
return 1`;
// HINCRBY answers the new value, EXPIRE 0 or 1.
const Integers = z.array(z.number());

const parsed = <T>(schema: z.ZodType<T>, value: unknown, what: string): T => {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new DevsimError("internal", `unexpected answer from Upstash to ${what}`, {
      issues: result.error.issues,
    });
  }
  return result.data;
};

/** A KeyValueStore on Upstash Redis over its REST API; it runs on Node and on edge runtimes. */
export const upstashStore = ({
  url,
  token,
  prefix = "",
  timeoutMs = 2_000,
  retries = 2,
}: UpstashStoreOptions): KeyValueStore => {
  // Values are opaque strings here. By default the client JSON-parses what it reads, which would
  // hand back the number 42 for a stored "42" and an object for a stored table. Without a signal a
  // silent server holds a request forever; the client's default five retries would hold it ~10 s.
  const redis = new Redis({
    url,
    token,
    automaticDeserialization: false,
    signal: () => AbortSignal.timeout(timeoutMs),
    retry: { retries, backoff: (n) => 50 * 2 ** n },
  });
  return {
    get: async (key) => (await redis.get<string>(prefix + key)) ?? null,
    set: async (key, value) => {
      await redis.set(prefix + key, value);
    },
    delete: async (key) => {
      await redis.del(prefix + key);
    },
    setIfNewer: async (key, version, value) => {
      const stored = await redis.eval(SET_IF_NEWER, [prefix + key], [String(version), value]);
      return parsed(z.number(), stored, "EVAL") === 1;
    },
    getVersioned: async (key) => {
      const raw = await redis.get<string>(prefix + key);
      if (raw === null || raw === undefined) return null;
      const text = parsed(Versioned, raw, "GET");
      const colon = text.indexOf(":");
      return { version: Number(text.slice(0, colon)), value: text.slice(colon + 1) };
    },
    incrementHashes: async (increments, ttlSeconds) => {
      const merged = mergeIncrements(increments, ttlSeconds);
      if (merged.size === 0) return;
      // One MULTI/EXEC request: no reader sees half a flush, and one round trip however many keys.
      const transaction = redis.multi();
      for (const [key, fields] of merged) {
        for (const [field, by] of fields) transaction.hincrby(prefix + key, field, by);
        transaction.expire(prefix + key, ttlSeconds);
      }
      const commands = transaction.length();
      const replies = parsed(Integers, await transaction.exec(), "MULTI/EXEC");
      if (replies.length !== commands) {
        throw new DevsimError("internal", "Upstash answered a transaction with the wrong number of replies", {
          commands,
          replies: replies.length,
        });
      }
    },
    readHashes: async (keys) => {
      const hashes: Record<string, number>[] = [];
      for (let start = 0; start < keys.length; start += READ_CHUNK) {
        const chunk = keys.slice(start, start + READ_CHUNK);
        const pipeline = redis.pipeline();
        for (const key of chunk) pipeline.hgetall(prefix + key);
        const replies = parsed(z.array(FlatHash).length(chunk.length), await pipeline.exec(), "HGETALL");
        for (const flat of replies) {
          const fields: [string, number][] = [];
          for (let i = 0; i + 1 < flat.length; i += 2) {
            fields.push([flat[i] ?? "", parsed(Counter, flat[i + 1], "HGETALL")]);
          }
          // fromEntries defines own properties, so a field called "__proto__" stays a field.
          hashes.push(Object.fromEntries(fields));
        }
      }
      return hashes;
    },
  };
};
