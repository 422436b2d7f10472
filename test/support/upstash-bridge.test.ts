import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { RESP_TYPES } from "redis";
import { describe, expect, it } from "vitest";
import { useRedisFixture } from "./redis.ts";

const fixture = useRedisFixture("upstash-bridge");

const k = (name: string): string => fixture.prefix + name;

describe.each([
  { mode: "auto-pipelined (the client's default)", enableAutoPipelining: true },
  { mode: "one request per command", enableAutoPipelining: false },
])("@upstash/redis through the bridge, $mode", ({ enableAutoPipelining }) => {
  const client = (options: { automaticDeserialization?: boolean; responseEncoding?: false } = {}) =>
    new Redis({ url: fixture.bridge.url, token: fixture.bridge.token, enableAutoPipelining, ...options });

  it("sets and gets, honouring nx and ex", async () => {
    const redis = client();
    expect(await redis.set(k("a"), "one")).toBe("OK");
    expect(await redis.get(k("a"))).toBe("one");
    expect(await redis.set(k("a"), "two", { nx: true })).toBeNull();
    expect(await redis.get(k("a"))).toBe("one");
    expect(await redis.set(k("b"), "three", { nx: true, ex: 100 })).toBe("OK");
    const ttl = await redis.ttl(k("b"));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await fixture.direct.get(k("b"))).toBe("three");
  });

  it("increments counters and reports a non-integer as an error", async () => {
    const redis = client();
    expect(await redis.incr(k("n"))).toBe(1);
    expect(await redis.incrby(k("n"), 41)).toBe(42);
    expect(await redis.get(k("n"))).toBe(42);
    await redis.set(k("s"), "word");
    await expect(redis.incr(k("s"))).rejects.toThrow(/not an integer/);
  });

  it("keeps hashes", async () => {
    const redis = client();
    expect(await redis.hset(k("h"), { name: "router", replicas: 3 })).toBe(2);
    expect(await redis.hget(k("h"), "name")).toBe("router");
    expect(await redis.hgetall(k("h"))).toEqual({ name: "router", replicas: 3 });
    expect(await redis.hincrby(k("h"), "replicas", 2)).toBe(5);
    expect(await redis.hdel(k("h"), "name")).toBe(1);
    expect(await redis.hkeys(k("h"))).toEqual(["replicas"]);
    expect(await redis.hget(k("h"), "missing")).toBeNull();
  });

  it("expires keys and reports their ttl", async () => {
    const redis = client();
    await redis.set(k("e"), "v");
    expect(await redis.ttl(k("e"))).toBe(-1);
    expect(await redis.expire(k("e"), 60)).toBe(1);
    const ttl = await redis.ttl(k("e"));
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.persist(k("e"))).toBe(1);
    expect(await redis.ttl(k("e"))).toBe(-1);
    expect(await redis.ttl(k("missing"))).toBe(-2);
    expect(await redis.expire(k("missing"), 10)).toBe(0);
  });

  it("keeps sorted sets", async () => {
    const redis = client();
    const added = await redis.zadd(
      k("z"),
      { score: 2.5, member: "b" },
      { score: 1, member: "a" },
      { score: 3, member: "c" },
    );
    expect(added).toBe(3);
    expect(await redis.zrange(k("z"), 0, -1)).toEqual(["a", "b", "c"]);
    expect(await redis.zrange(k("z"), 0, -1, { withScores: true })).toEqual(["a", 1, "b", 2.5, "c", 3]);
    expect(await redis.zscore(k("z"), "b")).toBe(2.5);
    expect(await redis.zincrby(k("z"), 10, "a")).toBe(11);
    expect(await redis.zrange(k("z"), 0, 0, { rev: true })).toEqual(["a"]);
    expect(await redis.zrank(k("z"), "c")).toBe(1);
    expect(await redis.zcard(k("z"))).toBe(3);
  });

  it("runs a pipeline in order and reports each command's error on its own", async () => {
    const redis = client();
    const results = await redis
      .pipeline()
      .set(k("p"), "1")
      .incr(k("p"))
      .get(k("p"))
      .hget(k("p"), "field")
      .exec({ keepErrors: true });
    expect(results.map((entry) => entry.result)).toEqual(["OK", 2, 2, undefined]);
    expect(results.slice(0, 3).every((entry) => entry.error === undefined)).toBe(true);
    expect(results[3]?.error).toMatch(/^WRONGTYPE/);
    await expect(redis.pipeline().incr(k("p")).hget(k("p"), "field").exec()).rejects.toThrow(
      /Command 2 \[ hget \] failed: WRONGTYPE/,
    );
    expect(await fixture.direct.get(k("p"))).toBe("3");
  });

  it("runs multi-exec transactions, where a failing command does not stop the others", async () => {
    const redis = client();
    expect(await redis.multi().set(k("t"), "1").incr(k("t")).get(k("t")).exec()).toEqual(["OK", 2, 2]);
    const results = await redis
      .multi()
      .set(k("word"), "abc")
      .incr(k("word"))
      .set(k("after"), "ran")
      .exec({ keepErrors: true });
    expect(results[0]?.result).toBe("OK");
    expect(results[1]?.error).toMatch(/not an integer/);
    expect(results[2]?.result).toBe("OK");
    expect(await fixture.direct.get(k("after"))).toBe("ran");
  });

  it("evaluates scripts with eval, evalsha and a script object", async () => {
    const redis = client();
    expect(await redis.eval("return {KEYS[1], ARGV[1], 7}", [k("x")], ["arg"])).toEqual([k("x"), "arg", 7]);
    const write = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])";
    expect(await redis.eval(write, [k("lua")], ["from lua"])).toBe("from lua");
    const sha = await redis.scriptLoad("return ARGV[1] .. '!'");
    expect(await redis.evalsha(sha, [], ["hi"])).toBe("hi!");
    // A script Redis has never seen: the client tries EVALSHA, reads NOSCRIPT, falls back to EVAL.
    const script = redis.createScript<string>(`return '${randomBytes(8).toString("hex")}' .. ARGV[1]`);
    const first = await script.exec([], ["-a"]);
    expect(first).toMatch(/^[0-9a-f]{16}-a$/);
    expect(await script.evalsha([], ["-b"])).toBe(first.replace(/-a$/, "-b"));
  });

  it("base64-decodes status replies alone and inside arrays", async () => {
    const redis = client();
    expect(await redis.ping()).toBe("PONG");
    expect(await redis.eval("return redis.status_reply('QUEUED')", [], [])).toBe("QUEUED");
    expect(
      await redis.eval("return {redis.status_reply('OK'), redis.status_reply('PONG'), {'x'}}", [], []),
    ).toEqual(["OK", "PONG", ["x"]]);
    await redis.set(k("typed"), "v");
    expect(await redis.type(k("typed"))).toBe("string");
  });

  const awkward = [
    "",
    "OK",
    "T0s=",
    "123",
    "null",
    '{"a":1}',
    '\u0000\u0001\u007f\n\r\t\\"',
    "é ü ß ø",
    "日本語のテキスト",
    "🚀 👩‍💻 🇩🇪",
    "\uFFFD",
    "x".repeat(100_000),
  ];

  it.each([
    { encoding: "base64 (default)", options: {} },
    { encoding: "plain JSON", options: { responseEncoding: false } as const },
  ])("round-trips binary-ish and unicode strings with $encoding responses", async ({ options }) => {
    const redis = client({ automaticDeserialization: false, ...options });
    for (const [i, value] of awkward.entries()) {
      expect(await redis.set(k(`u${i}`), value)).toBe("OK");
      expect(await redis.get(k(`u${i}`))).toBe(value);
      expect(await fixture.direct.get(k(`u${i}`))).toBe(value);
    }
    expect(await redis.mget(...awkward.map((_, i) => k(`u${i}`)), k("missing"))).toEqual([...awkward, null]);
    await redis.hset(k("uh"), { "ключ 🔑": "значение ✓" });
    expect(await redis.hget(k("uh"), "ключ 🔑")).toBe("значение ✓");
    // Bytes that are not UTF-8 reach the client as replacement characters, as from Upstash.
    await fixture.direct.set(k("bytes"), Buffer.from([0x61, 0xff, 0x00, 0x62]));
    expect(await redis.get(k("bytes"))).toBe("a\uFFFD\u0000b");
  });

  it("surfaces an unknown command as an error", async () => {
    const redis = client();
    await expect(redis.exec(["nosuchcommand", k("x")])).rejects.toThrow(/unknown command 'nosuchcommand'/);
    const results = await redis.pipeline().ping().exec({ keepErrors: true });
    expect(results[0]?.result).toBe("PONG");
  });

  it("refuses commands that would block or take over the shared connection", async () => {
    const redis = client();
    await expect(redis.exec(["blpop", k("list"), "5"])).rejects.toThrow(/unsupported command 'blpop'/);
    await expect(redis.exec(["select", "1"])).rejects.toThrow(/unsupported command 'select'/);
    expect(await redis.exec(["ping"])).toBe("PONG");
  });

  it("surfaces a wrong token as an error and runs nothing", async () => {
    const redis = new Redis({ url: fixture.bridge.url, token: "wrong", enableAutoPipelining });
    await expect(redis.set(k("nope"), "v")).rejects.toThrow(/Unauthorized/);
    expect(await fixture.direct.exists(k("nope"))).toBe(0);
  });

  it("hands out read-your-writes sync tokens that the client keeps", async () => {
    const redis = client();
    expect(redis.readYourWritesSyncToken).toBe("");
    await redis.set(k("sync"), "v");
    const first = redis.readYourWritesSyncToken;
    expect(first).toMatch(/^\d+$/);
    await redis.get(k("sync"));
    expect(redis.readYourWritesSyncToken).not.toBe(first);
  });
});

describe("the bridge's wire format", () => {
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(fixture.bridge.url + path, {
      method: "POST",
      headers: {
        authorization: `Bearer ${fixture.bridge.token}`,
        "content-type": "application/json",
        ...headers,
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };
  const base64 = { "upstash-encoding": "base64" };

  it("answers 401 with a JSON error without the right bearer token", async () => {
    for (const authorization of ["", "Bearer wrong", fixture.bridge.token, `Basic ${fixture.bridge.token}`]) {
      const response = await post("/", ["set", k("a"), "v"], { authorization });
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: "Unauthorized" });
    }
    expect(await fixture.direct.exists(k("a"))).toBe(0);
  });

  it("runs a single command posted to /, turning numbers into strings", async () => {
    expect(await post("/", ["set", k("n"), 10, "ex", 100])).toMatchObject({
      status: 200,
      body: { result: "OK" },
    });
    expect(await fixture.direct.ttl(k("n"))).toBeGreaterThan(90);
    expect((await post("/", ["get", k("n")])).body).toEqual({ result: "10" });
    expect((await post("/", ["get", k("n")], base64)).body).toEqual({ result: "MTA=" });
    expect((await post("/", ["get", k("missing")], base64)).body).toEqual({ result: null });
    expect((await post("/", ["incr", k("n")], base64)).body).toEqual({ result: 11 });
  });

  it("sends a top-level OK as it is and base64 for every other string, nested ones included", async () => {
    expect((await post("/", ["set", k("s"), "OK"], base64)).body).toEqual({ result: "OK" });
    expect((await post("/", ["get", k("s")], base64)).body).toEqual({ result: "T0s=" });
    expect((await post("/", ["ping"], base64)).body).toEqual({ result: "UE9ORw==" });
    const nested = ["eval", "return {redis.status_reply('OK'), 'a', {1, 'é'}}", 0];
    expect((await post("/", nested, base64)).body).toEqual({ result: ["T0s=", "YQ==", [1, "w6k="]] });
    expect((await post("/", nested)).body).toEqual({ result: ["OK", "a", [1, "é"]] });
  });

  it("answers a failing command with 400 and the Redis error", async () => {
    const response = await post("/", ["get"]);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^ERR wrong number of arguments for 'get' command/);
    expect((await post("/", ["nosuchcommand"])).body.error).toMatch(/^ERR unknown command 'nosuchcommand'/);
  });

  it("answers a pipeline with one result or error per command", async () => {
    const response = await post(
      "/pipeline",
      [
        ["incr", k("p")],
        ["get", k("p")],
        ["hget", k("p"), "f"],
      ],
      base64,
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual([
      { result: 1 },
      { result: "MQ==" },
      { error: expect.stringMatching(/^WRONGTYPE/) },
    ]);
  });

  it("runs multi-exec atomically, reporting errors per command", async () => {
    const response = await post("/multi-exec", [
      ["set", k("m"), "abc"],
      ["incr", k("m")],
      ["append", k("m"), "d"],
    ]);
    expect(response.status).toBe(200);
    expect(response.body).toEqual([
      { result: "OK" },
      { error: expect.stringMatching(/not an integer/) },
      { result: 4 },
    ]);
    expect(await fixture.direct.get(k("m"))).toBe("abcd");
  });

  it("discards a whole transaction holding a command Redis cannot queue", async () => {
    const response = await post("/multi-exec", [["set", k("d"), "x"], ["nosuchcommand"]]);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: expect.stringMatching(/^ERR unknown command 'nosuchcommand'/) });
    expect(await fixture.direct.exists(k("d"))).toBe(0);
    // The shared connection is usable afterwards: no half-open MULTI is left behind.
    expect((await post("/", ["set", k("d"), "y"])).body).toEqual({ result: "OK" });
    expect(await fixture.direct.get(k("d"))).toBe("y");
  });

  it("returns a fresh upstash-sync-token header with every answer", async () => {
    const first = (await post("/", ["ping"], { "upstash-sync-token": "" })).headers.get("upstash-sync-token");
    const second = (await post("/", ["ping"], { "upstash-sync-token": first ?? "" })).headers.get(
      "upstash-sync-token",
    );
    expect(Number(second)).toBeGreaterThan(Number(first));
  });

  it("rejects malformed requests", async () => {
    expect((await post("/", "not json")).status).toBe(400);
    expect((await post("/", [])).status).toBe(400);
    expect((await post("/", [["get", k("a")]])).status).toBe(400);
    expect((await post("/pipeline", ["get", k("a")])).status).toBe(400);
    expect((await post("/", ["set", k("a"), null])).status).toBe(400);
    expect((await post("/elsewhere", ["ping"])).status).toBe(404);
    const get = await fetch(`${fixture.bridge.url}/`, {
      headers: { authorization: `Bearer ${fixture.bridge.token}` },
    });
    expect(get.status).toBe(405);
    expect(await fixture.direct.exists(k("a"))).toBe(0);
  });

  it("stays usable while many requests interleave", async () => {
    const redis = new Redis({
      url: fixture.bridge.url,
      token: fixture.bridge.token,
      enableAutoPipelining: false,
    });
    const writes = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0
        ? redis
            .multi()
            .set(k(`c${i}`), i)
            .incr(k(`c${i}`))
            .exec()
        : redis.set(k(`c${i}`), i + 1),
    );
    await Promise.all(writes);
    const values = await Promise.all(Array.from({ length: 40 }, (_, i) => redis.get(k(`c${i}`))));
    expect(values).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("reads raw bytes back exactly when asked for base64", async () => {
    await fixture.direct.set(k("raw"), Buffer.from([0x00, 0xff, 0x10]));
    expect((await post("/", ["get", k("raw")], base64)).body).toEqual({ result: "AP8Q" });
    const stored = await fixture.direct.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(k("raw"));
    expect(stored).toEqual(Buffer.from([0x00, 0xff, 0x10]));
  });
});
