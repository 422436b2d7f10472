import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createClient, ErrorReply, RESP_TYPES } from "redis";

export interface UpstashBridgeOptions {
  /** The Redis that executes the commands. */
  redisUrl?: string;
  /** The bearer token clients must present; random when omitted. */
  token?: string;
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
}

export interface UpstashBridge {
  /** Base URL to hand to `new Redis({ url, token })` from `@upstash/redis`. */
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

type Outcome =
  | { readonly ok: true; readonly reply: unknown }
  | { readonly ok: false; readonly error: string };

// Commands that would block, or change the state of, the one connection every request shares.
// Upstash's REST API does not run them either (no blocking commands, pub/sub on its own endpoints).
const UNSUPPORTED = new Set([
  ...["multi", "exec", "discard", "watch", "unwatch", "select", "auth", "hello", "reset", "quit", "client"],
  ...["monitor", "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"],
  ...[
    "blpop",
    "brpop",
    "brpoplpush",
    "blmove",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
    "wait",
    "waitaof",
  ],
]);

// Bulk strings as bytes, so binary values are base64-encoded exactly; status replies stay JS strings.
const typeMapping = { [RESP_TYPES.BLOB_STRING]: Buffer };

/** The client may send numbers and booleans as JSON; Redis takes only strings. */
const toCommand = (value: unknown): string[] | undefined =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every((arg) => ["string", "number", "boolean"].includes(typeof arg))
    ? value.map(String)
    : undefined;

const toCommands = (value: unknown): string[][] | undefined => {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const commands = value.map(toCommand);
  return commands.every((command) => command !== undefined) ? commands : undefined;
};

/**
 * A Redis reply as Upstash puts it in JSON. With base64 on, every string is encoded, status replies
 * inside arrays included, except a top-level "OK": the client decodes all strings but that one.
 */
const encode = (reply: unknown, base64: boolean, topLevel: boolean): unknown => {
  if (reply === null || reply === undefined || typeof reply === "number") return reply ?? null;
  if (Buffer.isBuffer(reply)) return reply.toString(base64 ? "base64" : "utf8");
  if (typeof reply === "string") {
    return base64 && !(topLevel && reply === "OK") ? Buffer.from(reply).toString("base64") : reply;
  }
  // An error nested in an array (a Lua table, say) has no JSON form of its own; keep its text.
  if (reply instanceof ErrorReply) return encode(reply.message, base64, false);
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64, false));
  throw new Error(`unexpected reply from Redis: ${String(reply)}`);
};

const entry = (outcome: Outcome, base64: boolean) =>
  outcome.ok ? { result: encode(outcome.reply, base64, true) } : { error: outcome.error };

/** Error replies become outcomes; anything else (Redis unreachable) fails the whole request. */
const settle = (reply: Promise<unknown>): Promise<Outcome> =>
  reply.then(
    (value): Outcome => ({ ok: true, reply: value }),
    (error: unknown): Outcome => {
      if (error instanceof ErrorReply) return { ok: false, error: error.message };
      throw error;
    },
  );

const unsupported = (command: readonly string[]): string | undefined => {
  const name = command[0]?.toLowerCase() ?? "";
  return UNSUPPORTED.has(name) ? `ERR unsupported command '${name}'` : undefined;
};

/**
 * A local stand-in for Upstash's REST API in front of a real Redis, so tests run the production
 * `@upstash/redis` client: POST `/` with one command, `/pipeline` and `/multi-exec` with several.
 */
export const startUpstashBridge = async ({
  redisUrl = "redis://127.0.0.1:6379",
  token = randomBytes(16).toString("hex"),
  port = 0,
}: UpstashBridgeOptions = {}): Promise<UpstashBridge> => {
  let connected = false;
  const redis = createClient({
    url: redisUrl,
    RESP: 2,
    // A missing Redis fails start-up after a few tries. A lost one is tried again for ever, at most
    // a second apart, as Upstash's endpoint answers again once its Redis is back; meanwhile
    // commands fail at once instead of waiting in a queue, so requests never hang.
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (retries, cause) =>
        connected ? Math.min(50 * 2 ** retries, 1_000) : retries >= 5 ? cause : 50 * 2 ** retries,
    },
  });
  // Failures reach callers through the rejected commands; unheard, an "error" event would crash.
  redis.on("error", () => {});
  await redis.connect();
  connected = true;

  const run = (command: readonly string[], chainId?: symbol): Promise<Outcome> =>
    settle(redis.sendCommand(command, { typeMapping, chainId }));
  const send = (command: readonly string[]): Promise<Outcome> => {
    const refused = unsupported(command);
    return refused ? Promise.resolve({ ok: false, error: refused }) : run(command);
  };

  // Upstash hands out a token per answer and makes a replica catch up to it before reading. One
  // Redis is always caught up, so an incoming token needs no waiting; we only keep handing them out.
  let syncToken = 0;
  const json = (body: unknown, status: number): Response =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", "upstash-sync-token": String(++syncToken) },
    });

  const single = async (body: unknown, base64: boolean): Promise<Response> => {
    const command = toCommand(body);
    if (!command) return json({ error: "ERR a command is a non-empty JSON array of strings" }, 400);
    const outcome = await send(command);
    return json(entry(outcome, base64), outcome.ok ? 200 : 400);
  };

  const pipeline = async (body: unknown, base64: boolean): Promise<Response> => {
    const commands = toCommands(body);
    if (!commands) return json({ error: "ERR a pipeline is a non-empty JSON array of commands" }, 400);
    // Queued in one go, so Redis runs them in order; other requests may interleave, as on Upstash.
    const outcomes = await Promise.all(commands.map((command) => send(command)));
    return json(
      outcomes.map((outcome) => entry(outcome, base64)),
      200,
    );
  };

  const multiExec = async (body: unknown, base64: boolean): Promise<Response> => {
    const commands = toCommands(body);
    if (!commands) return json({ error: "ERR a transaction is a non-empty JSON array of commands" }, 400);
    const refused = commands.map(unsupported).find((error) => error !== undefined);
    if (refused) return json({ error: refused }, 400);
    // One chain keeps MULTI, the commands and EXEC together on the shared connection.
    const chainId = Symbol("multi-exec");
    const queued = [["MULTI"], ...commands].map((command) => run(command, chainId));
    const [outcomes, done] = await Promise.all([Promise.all(queued), run(["EXEC"], chainId)]);
    const failed = outcomes.find((outcome) => !outcome.ok);
    // A command Redis refused to queue discards the whole transaction, as Upstash reports it.
    if (failed && !failed.ok) return json({ error: failed.error }, 400);
    if (!done.ok) return json({ error: done.error }, 400);
    if (!Array.isArray(done.reply)) return json({ error: "ERR transaction aborted" }, 400);
    const replies: unknown[] = done.reply;
    return json(
      replies.map((reply) =>
        entry(
          reply instanceof ErrorReply ? { ok: false, error: reply.message } : { ok: true, reply },
          base64,
        ),
      ),
      200,
    );
  };

  const routes: Record<string, (body: unknown, base64: boolean) => Promise<Response>> = {
    "/": single,
    "/pipeline": pipeline,
    "/multi-exec": multiExec,
  };

  const handle = async (request: Request): Promise<Response> => {
    if (request.headers.get("authorization") !== `Bearer ${token}`)
      return json({ error: "Unauthorized" }, 401);
    if (request.method !== "POST") return json({ error: "ERR only POST is supported here" }, 405);
    const route = routes[new URL(request.url).pathname];
    if (!route) return json({ error: "ERR unknown endpoint" }, 404);
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return json({ error: "ERR the request body is not JSON" }, 400);
    }
    try {
      return await route(body, request.headers.get("upstash-encoding")?.toLowerCase() === "base64");
    } catch (error) {
      return json(
        { error: `ERR bridge failure: ${error instanceof Error ? error.message : String(error)}` },
        500,
      );
    }
  };

  const server = createServer(getRequestListener(handle));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
  } catch (error) {
    await redis.close();
    throw error;
  }
  const address = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    token,
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          // The client keeps connections alive; without this, close() waits for them to time out.
          server.closeAllConnections();
        });
        await redis.close();
      })();
      return closing;
    },
  };
};
