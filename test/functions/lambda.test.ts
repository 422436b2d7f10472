import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "#sim";
import { migrate } from "#store";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { deleteKeys } from "../support/redis.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

/** A Lambda function URL event (payload format 2.0), as AWS sends it. */
const urlEvent = (method: string, path: string, body?: unknown, query = "") => ({
  version: "2.0",
  routeKey: "$default",
  rawPath: path,
  rawQueryString: query,
  headers: { host: "abc.lambda-url.us-east-1.on.aws", "content-type": "application/json" },
  body: body === undefined ? null : JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: {
    accountId: "anonymous",
    apiId: "abc",
    authentication: null,
    authorizer: {},
    domainName: "abc.lambda-url.us-east-1.on.aws",
    domainPrefix: "abc",
    http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
    requestId: crypto.randomUUID(),
    routeKey: "$default",
    stage: "$default",
    time: new Date().toUTCString(),
    timeEpoch: Date.now(),
  },
});

/** A function URL answer's body as the client receives it (Lambda sends non-text types in base64). */
const bodyText = (answer: { body: string; isBase64Encoded?: boolean }): string =>
  answer.isBase64Encoded ? Buffer.from(answer.body, "base64").toString() : answer.body;

const prefix = `test:lambda:${randomBytes(6).toString("hex")}:`;
let db: TestDatabase;
let bridge: UpstashBridge;
let sim: SimServer;

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  bridge = await startUpstashBridge();
  sim = await startSimServer({ startupMs: 20 });
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: bridge.token,
    DEVSIM_SIM_URL: sim.url,
    RECONCILE_RUN_SECONDS: "1",
    HEALTH_RUN_SECONDS: "1",
    DEVSIM_KV_PREFIX: prefix,
    LOG_LEVEL: "silent",
  });
});
afterAll(async () => {
  await sim?.close();
  await bridge?.close();
  await db?.drop();
  await deleteKeys(prefix);
});

describe("the deployed functions, invoked as AWS Lambda invokes them", () => {
  it("create a workload through the API function, deploy it with the reconcile function, serve it through the router function", async () => {
    const api = (await import("../../functions/api.ts")).handler;
    const reconcile = (await import("../../functions/reconcile.ts")).handler;
    const router = (await import("../../functions/router.ts")).handler;

    const created = await api(
      urlEvent("POST", "/v1/workloads", {
        name: "lambda",
        image: "registry.example.com/app:1",
        port: 8080,
        healthCheck: { path: "/healthz" },
        targets: [{ cloud: "gcp", region: "europe-west1", replicas: 1 }],
      }),
    );
    expect(created.statusCode).toBe(201);
    const rolloutId = (JSON.parse(created.body) as { rollout: { id: string } }).rollout.id;

    // Lambda buffers whole answers: a watch answers at once with what there is, as a long poll.
    const started = performance.now();
    const watched = await api(urlEvent("GET", `/v1/rollouts/${rolloutId}/watch`));
    expect(watched.statusCode).toBe(200);
    expect(watched.headers?.["content-type"]).toMatch(/^text\/event-stream/);
    expect(bodyText(watched)).toContain('"type":"rollout_started"');
    expect(bodyText(watched)).not.toContain("event: end");
    expect(performance.now() - started).toBeLessThan(5_000);
    const lastId = [...bodyText(watched).matchAll(/^id: (\d+)$/gm)].at(-1)?.[1];

    const run = await reconcile();
    expect(run.claimed).toBeGreaterThan(0);
    const rollout = await api(urlEvent("GET", `/v1/rollouts/${rolloutId}`));
    expect(JSON.parse(rollout.body)).toMatchObject({ status: "succeeded" });
    const rest = await api(urlEvent("GET", `/v1/rollouts/${rolloutId}/watch`, undefined, `after=${lastId}`));
    expect(bodyText(rest)).not.toContain('"type":"rollout_started"');
    expect(bodyText(rest)).toMatch(/event: end\ndata: \{[^\n]*"status":"succeeded"/);

    const served = await router(urlEvent("GET", "/w/lambda/hello"));
    expect(served.statusCode).toBe(200);
    expect(served.headers?.["x-devsim-backend"]).toBe("gcp/europe-west1/1");
    expect(JSON.parse(served.body)).toMatchObject({ workload: "lambda", cloud: "gcp", path: "/hello" });

    const health = (await import("../../functions/health.ts")).handler;
    const probed = await health();
    expect(probed.passes).toBeGreaterThanOrEqual(1);
    expect(probed.probes).toBeGreaterThanOrEqual(1);
    const report = JSON.parse((await api(urlEvent("GET", "/v1/workloads/lambda/health"))).body) as {
      targets: { cloud: string; region: string; lastCheck: string | null }[];
    };
    expect(report.targets).toMatchObject([{ cloud: "gcp", region: "europe-west1" }]);
    expect(report.targets[0]?.lastCheck).not.toBeNull();

    const bad = await api(urlEvent("POST", "/v1/workloads", { name: "x" }));
    expect(bad.statusCode).toBe(400);
  });
});
