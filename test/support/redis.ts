import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { startUpstashBridge, type UpstashBridge } from "./upstash-bridge.ts";

export const REDIS_URL = "redis://127.0.0.1:6379";

export interface RedisFixture {
  /** The Upstash-REST bridge in front of the test Redis. */
  readonly bridge: UpstashBridge;
  /** A plain Redis client, for raw reads that do not trust the code under test. */
  readonly direct: ReturnType<typeof createClient>;
  /** A fresh key prefix per test; every key under it is deleted after the test, pass or fail. */
  readonly prefix: string;
}

/** Registers the hooks of a test file that talks to the real Redis through the bridge. */
export const useRedisFixture = (label: string): RedisFixture => {
  let bridge: UpstashBridge | undefined;
  let direct: ReturnType<typeof createClient> | undefined;
  let prefix = "";
  beforeAll(async () => {
    bridge = await startUpstashBridge({ redisUrl: REDIS_URL });
    direct = createClient({ url: REDIS_URL });
    await direct.connect();
  });
  afterAll(async () => {
    await bridge?.close();
    await direct?.close();
  });
  beforeEach(() => {
    prefix = `test:${label}:${randomBytes(6).toString("hex")}:`;
  });
  afterEach(async () => {
    if (!direct) return;
    for await (const keys of direct.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
      if (keys.length > 0) await direct.unlink(keys);
    }
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started yet: use it inside a test`);
    return value;
  };
  return {
    get bridge() {
      return started(bridge, "the bridge");
    },
    get direct() {
      return started(direct, "the Redis client");
    },
    get prefix() {
      return prefix;
    },
  };
};

/** Deletes every key under `prefix` from the test Redis: for files that share one prefix across tests. */
export const deleteKeys = async (prefix: string): Promise<void> => {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await redis.unlink(keys);
    }
  } finally {
    await redis.close();
  }
};
