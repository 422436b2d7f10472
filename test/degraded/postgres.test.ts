import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi, createApiMetrics } from "#api";
import { createReconciler, type ReconcileLoop, startReconcileLoop } from "#engine";
import { memoryStore } from "#kv";
import { type SimServer, startSimServer } from "#sim";
import {
  connectDatabase,
  countRolloutsByStatus,
  DEFAULT_CONNECT_TIMEOUT_SECONDS,
  databaseIsReachable,
  migrate,
  reconnectDelaySeconds,
  type Sql,
} from "#store";
import { controlPlaneFor } from "../support/control-plane.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { eventually } from "../support/devsim-process.ts";
import { workloadInput } from "../support/fixtures.ts";
import { recordingLogger } from "../support/recording-logger.ts";
import { type Sse, sseMessages } from "../support/sse.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

// The control plane reaches a real Postgres through a TCP proxy that the tests cut and restore.

/** How long opening a connection may take here: short, so the silent-database case stays quick. */
const CONNECT_TIMEOUT_SECONDS = 1;
/** What a request may take while the database is gone: a connect timeout, a reconnect pause, slack. */
const BOUND_MS = (CONNECT_TIMEOUT_SECONDS + 1) * 1_000 + 1_500;

interface ErrorJson {
  error: { code: string; message: string; details: Record<string, unknown> };
}

let db: TestDatabase;
let proxy: TcpProxy;
let sql: Sql;
let sim: SimServer;
let api: ReturnType<typeof createApi>;
let loop: ReconcileLoop;
const loopLog = recordingLogger();

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  const target = new URL(db.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  sql = connectDatabase(proxy.via(db.url), {
    max: 4,
    applicationName: "devsim-degraded",
    connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS,
  });
  sim = await startSimServer({ startupMs: 20 });
  // One pool for the API and the reconcile loop, as `devsim up` has it.
  const deps = controlPlaneFor({ sql, simUrl: sim.url, kv: memoryStore(), log: loopLog });
  api = createApi({
    ...deps,
    metrics: createApiMetrics(() => countRolloutsByStatus(sql)),
    ready: () => databaseIsReachable(sql, 1_000),
  });
  // A short lease, so work a pass held when the database vanished is claimed again soon after.
  const reconciler = createReconciler(deps, { drainMs: 20, leaseMs: 1_000 });
  loop = startReconcileLoop(reconciler, { intervalMs: 50, maxBackoffMs: 400, log: deps.log });
});

afterAll(async () => {
  await proxy?.restore();
  await loop?.stop();
  await sql?.end({ timeout: 1 });
  await proxy?.close();
  await sim?.close();
  await db?.drop();
});

const send = async (method: string, path: string, body?: unknown) => {
  const started = performance.now();
  const init: RequestInit =
    body === undefined
      ? { method }
      : { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const res = await api.request(path, init);
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: (text.startsWith("{") ? JSON.parse(text) : {}) as ErrorJson & Record<string, unknown>,
    ms: performance.now() - started,
    retryAfter: res.headers.get("retry-after"),
  };
};

const rolloutStatus = async (id: string): Promise<string | undefined> => {
  const res = await send("GET", `/v1/rollouts/${id}`);
  return res.status === 200 ? String(res.json.status) : undefined;
};

/** A request for every route that reads or writes the database, with a body it would accept. */
const databaseRoutes = (rolloutId: string): [string, string, unknown?][] => {
  const { name: _name, project: _project, ...spec } = workloadInput("alpha");
  return [
    ["GET", "/v1/workloads"],
    ["POST", "/v1/workloads", workloadInput("beta")],
    ["GET", "/v1/workloads/alpha"],
    ["PUT", "/v1/workloads/alpha", { ...spec, image: "registry.example.com/app:2" }],
    ["DELETE", "/v1/workloads/alpha"],
    ["GET", "/v1/workloads/alpha/traffic"],
    ["GET", "/v1/workloads/alpha/health"],
    ["GET", "/v1/workloads/alpha/rollouts"],
    ["POST", "/v1/workloads/alpha/rollouts", { image: "registry.example.com/app:3" }],
    ["POST", "/v1/workloads/alpha/rollback", {}],
    ["GET", `/v1/rollouts/${rolloutId}`],
    ["GET", `/v1/rollouts/${rolloutId}/events`],
    ["GET", `/v1/rollouts/${rolloutId}/watch`],
    ["POST", `/v1/rollouts/${rolloutId}/pause`, {}],
    ["POST", `/v1/rollouts/${rolloutId}/resume`, {}],
    ["POST", `/v1/rollouts/${rolloutId}/promote`],
    ["POST", `/v1/rollouts/${rolloutId}/abort`, {}],
  ];
};

const expectUnavailable = (res: Awaited<ReturnType<typeof send>>, reasons: RegExp) => {
  expect(res.status).toBe(503);
  expect(res.json.error.code).toBe("unavailable");
  expect(res.json.error.message).toMatch(/^the database is unreachable/);
  expect(String(res.json.error.details.reason)).toMatch(reasons);
  expect(res.retryAfter).toBe("5");
  expect(res.text).not.toMatch(/\bat .+:\d+:\d+/);
  expect(res.ms).toBeLessThan(BOUND_MS);
};

describe("the API and the reconcile loop while Postgres is unreachable", () => {
  let rolloutId = "";

  it("covers every database route of the API document", async () => {
    const doc = (await send("GET", "/v1/openapi.json")).json as unknown as { paths: Record<string, object> };
    const listed = new Set(
      databaseRoutes("{id}").map(([method, path]) => `${method} ${path.replace("alpha", "{name}")}`),
    );
    for (const [path, operations] of Object.entries(doc.paths)) {
      if (!/^\/v1\/(workloads|rollouts)/.test(path)) continue;
      for (const method of Object.keys(operations))
        expect(listed).toContain(`${method.toUpperCase()} ${path}`);
    }
  });

  it("answers 503 on every database route and on /readyz, within a bound, when connections are refused", async () => {
    const created = await send("POST", "/v1/workloads", workloadInput("alpha"));
    expect(created.status).toBe(201);
    rolloutId = String((created.json.rollout as { id: string }).id);

    await proxy.cut("refuse");
    const ready = await send("GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.json.error.code).toBe("unavailable");
    expect(ready.ms).toBeLessThan(BOUND_MS);
    expect((await send("GET", "/healthz")).status).toBe(200);

    for (const [method, path, body] of databaseRoutes(rolloutId)) {
      const res = await send(method, path, body);
      expect({ route: `${method} ${path}`, status: res.status }).toEqual({
        route: `${method} ${path}`,
        status: 503,
      });
      expectUnavailable(res, /^(ECONNREFUSED|ECONNRESET|CONNECTION_CLOSED)$/);
    }
  });

  it("keeps the reconcile loop going, backing off, while the database is away", async () => {
    const before = loopLog.lines.filter((l) => l.msg?.includes("the database is unreachable")).length;
    await eventually(
      async () =>
        loopLog.lines.filter((l) => l.msg?.includes("the database is unreachable")).length >= before + 2,
      5_000,
      "reconcile passes failing on the database",
    );
    const warning = loopLog.lines.find((l) => l.msg?.includes("the database is unreachable"));
    expect(warning?.level).toBe("warn");
    expect(warning?.obj.retryInMs).toBeGreaterThan(0);
  });

  it("recovers by itself when Postgres is back: the API serves and the loop finishes the rollout", async () => {
    await proxy.restore();
    await eventually(async () => (await send("GET", "/readyz")).status === 200, 5_000, "/readyz 200");
    const list = await send("GET", "/v1/workloads");
    expect(list.status).toBe(200);
    const beta = await send("POST", "/v1/workloads", workloadInput("beta"));
    expect(beta.status).toBe(201);

    expect(
      await eventually(async () => (await rolloutStatus(rolloutId)) === "succeeded" && "succeeded", 20_000),
    ).toBe("succeeded");
    // The rollout is written during a pass; the pass says it succeeded once it has returned.
    await eventually(
      async () => loopLog.lines.some((l) => l.level === "info" && l.msg === "reconcile passes succeed again"),
      5_000,
      "the loop saying passes succeed again",
    );
  });

  it("answers 503 within the connect timeout when the database accepts connections but never answers", async () => {
    await proxy.cut("blackhole");
    try {
      const ready = await send("GET", "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.ms).toBeLessThan(BOUND_MS);
      for (const [method, path] of [
        ["GET", "/v1/workloads"],
        ["GET", "/v1/workloads/alpha"],
        ["GET", `/v1/rollouts/${rolloutId}/events`],
      ] as const) {
        const res = await send(method, path);
        expect({ route: `${method} ${path}`, status: res.status }).toEqual({
          route: `${method} ${path}`,
          status: 503,
        });
        expectUnavailable(res, /^(CONNECT_TIMEOUT|ECONNRESET|CONNECTION_CLOSED)$/);
      }
    } finally {
      await proxy.restore();
    }
    await eventually(
      async () => (await send("GET", "/v1/workloads/alpha")).status === 200,
      10_000,
      "alpha again",
    );
  });
});

describe("a live watch while Postgres goes away", () => {
  it("ends the stream with the API's error, and a retry time, rather than hanging or cutting it", async () => {
    const gamma = await send("POST", "/v1/workloads", workloadInput("gamma"));
    expect(gamma.status).toBe(201);
    const firstRollout = String((gamma.json.rollout as { id: string }).id);
    await eventually(
      async () => (await rolloutStatus(firstRollout)) === "succeeded",
      20_000,
      "gamma's first rollout to finish",
    );
    // A canary that waits at a pause for promotion stays under way while the database goes.
    const paused = await send("POST", "/v1/workloads/gamma/rollouts", {
      image: "registry.example.com/app:2",
      strategy: { type: "canary", steps: [{ setWeight: 10 }, { pause: {} }] },
    });
    expect(paused.status).toBe(202);
    const response = await api.request(`/v1/rollouts/${String(paused.json.id)}/watch`);
    expect(response.status).toBe(200);
    let retryMs: number | undefined;
    const seen: Sse[] = [];
    const reading = (async () => {
      const messages = sseMessages(response, {
        onRetry: (ms) => {
          retryMs = ms;
        },
      });
      for await (const m of messages) seen.push(m);
    })();
    try {
      await eventually(async () => seen.length > 0, 5_000, "the first event");
      await proxy.cut("refuse");
      await reading;
    } finally {
      await proxy.restore();
    }
    const last = seen.at(-1);
    expect(last?.event).toBe("error");
    expect(JSON.parse(last?.data ?? "{}")).toMatchObject({
      error: { code: "unavailable", message: "the database is unreachable; try again shortly" },
    });
    // An EventSource waits this long before it reconnects, as a 503's Retry-After asks.
    expect(retryMs).toBe(5_000);
  });
});

describe("connection timing", () => {
  it("gives up opening a connection after 5 s unless told otherwise", () => {
    expect(DEFAULT_CONNECT_TIMEOUT_SECONDS).toBe(5);
    const pool = connectDatabase("postgres://postgres@127.0.0.1:5432/postgres");
    expect(pool.options.connect_timeout).toBe(5);
    expect(sql.options.connect_timeout).toBe(CONNECT_TIMEOUT_SECONDS);
    return pool.end({ timeout: 0 });
  });

  it.each([
    [1, 0, 0.05],
    [2, 0, 0.1],
    [5, 0, 0.8],
    [6, 0, 1],
    [60, 0, 1],
    [0, 0, 0.05],
    [6, 1, 0.5],
    [3, 0.5, 0.15],
  ])(
    "after %i failed attempts (random %d) waits %d s before the next, at most 1 s",
    (failures, random, expected) => {
      expect(reconnectDelaySeconds(failures, 1, random)).toBeCloseTo(expected, 10);
    },
  );
});
