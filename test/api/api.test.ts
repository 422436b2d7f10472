import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApi } from "#api";
import { type Harness, harnessApi, startHarness } from "../support/harness.ts";

let h: Harness;
let api: ReturnType<typeof createApi>;
let dbUp = true;

beforeAll(async () => {
  h = await startHarness();
  api = harnessApi(h, { ready: async () => dbUp });
});
afterAll(async () => {
  await h?.close();
});

interface ApiError {
  error: { code: string; message: string; details: { field?: string; [key: string]: unknown } };
}
interface RolloutJson {
  id: string;
  workload: string;
  status: string;
  fromRevision: number | null;
  toRevision: number;
  steps: unknown[];
}
interface WorkloadJson {
  name: string;
  image: string;
  targets: unknown[];
  rollout: RolloutJson;
}
interface TrafficJson {
  backends: { cloud: string; region: string; revision: number; weight: number; url: string }[];
}
interface OpenApiJson {
  openapi: string;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, { required?: string[] }> };
}

/** Sends a request through the app; `T` names the shape the test expects, which its assertions check. */
const send = async <T = ApiError>(method: string, path: string, body?: unknown, raw?: string) => {
  const init: RequestInit = { method };
  if (body !== undefined || raw !== undefined) {
    init.body = raw ?? JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const res = await api.request(path, init);
  const text = await res.text();
  const json: unknown =
    text.length > 0 && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  return { status: res.status, json: json as T, text };
};

const hello = {
  name: "hello",
  image: "registry.example.com/demo/hello:1",
  port: 8080,
  healthCheck: { path: "/healthz" },
  targets: [
    { cloud: "aws", region: "us-east-1", replicas: 1 },
    { cloud: "azure", region: "eastus", replicas: 1 },
  ],
};

const waitForRollout = (id: string) =>
  h.drive(async () => {
    const r = await send<RolloutJson>("GET", `/v1/rollouts/${id}`);
    return r.json.status !== "progressing" ? r.json : null;
  });

describe("health and metadata", () => {
  it("answers /healthz, and /readyz follows the database", async () => {
    expect((await send("GET", "/healthz")).json).toEqual({ status: "ok" });
    expect((await send("GET", "/readyz")).status).toBe(200);
    dbUp = false;
    const down = await send("GET", "/readyz");
    dbUp = true;
    expect(down.status).toBe(503);
    expect(down.json.error.code).toBe("unavailable");
  });

  it("serves an OpenAPI document naming every route", async () => {
    const doc = (await send<OpenApiJson>("GET", "/v1/openapi.json")).json;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/v1/rollouts/{id}",
      "/v1/rollouts/{id}/abort",
      "/v1/rollouts/{id}/events",
      "/v1/rollouts/{id}/pause",
      "/v1/rollouts/{id}/promote",
      "/v1/rollouts/{id}/resume",
      "/v1/rollouts/{id}/watch",
      "/v1/workloads",
      "/v1/workloads/{name}",
      "/v1/workloads/{name}/health",
      "/v1/workloads/{name}/rollback",
      "/v1/workloads/{name}/rollouts",
      "/v1/workloads/{name}/traffic",
    ]);
    expect(doc.components.schemas.WorkloadInput?.required).toContain("targets");
  });

  it("answers a body sent without a JSON content type with 415 naming the header", async () => {
    const res = await api.request("/v1/workloads", { method: "POST", body: JSON.stringify(hello) });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      error: {
        code: "invalid_input",
        message: "the body must be JSON, sent with 'content-type: application/json'",
        details: { field: "content-type" },
      },
    });
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await send("GET", "/v2/nothing");
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("not_found");
  });
});

describe("workloads", () => {
  it("creates a workload, deploys it everywhere and reports its traffic", async () => {
    const created = await send<WorkloadJson>("POST", "/v1/workloads", hello);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: "hello",
      project: "default",
      latestRevision: 1,
      stableRevision: null,
    });
    expect(created.json.rollout).toMatchObject({ status: "progressing", fromRevision: null, toRevision: 1 });
    const done = await waitForRollout(created.json.rollout.id);
    expect(done.status).toBe("succeeded");

    const traffic = await send<TrafficJson>("GET", "/v1/workloads/hello/traffic");
    expect(traffic.status).toBe(200);
    expect(traffic.json.backends.map((b) => [b.cloud, b.weight]).sort()).toEqual([
      ["aws", 50],
      ["azure", 50],
    ]);
    for (const b of traffic.json.backends) expect(b.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect((await send<WorkloadJson>("GET", "/v1/workloads/hello")).json).toMatchObject({
      stableRevision: 1,
      image: hello.image,
    });
    const all = await send<{ workloads: WorkloadJson[] }>("GET", "/v1/workloads");
    expect(all.json.workloads.map((w) => w.name)).toEqual(["hello"]);
  });

  it("answers 409 for a taken name", async () => {
    const res = await send("POST", "/v1/workloads", hello);
    expect(res.status).toBe(409);
    expect(res.json.error).toMatchObject({ code: "conflict", details: { field: "name" } });
  });

  it.each([
    ["name", { ...hello, name: "Not_A_Label" }, "name"],
    ["image", { ...hello, image: "" }, "image"],
    ["port", { ...hello, port: 70_000 }, "port"],
    ["health path", { ...hello, healthCheck: { path: "healthz" } }, "healthCheck.path"],
    ["no targets", { ...hello, targets: [] }, "targets"],
    ["cloud", { ...hello, targets: [{ cloud: "ibm", region: "x", replicas: 1 }] }, "targets.0.cloud"],
    [
      "replicas",
      { ...hello, targets: [{ cloud: "aws", region: "us-east-1", replicas: 0 }] },
      "targets.0.replicas",
    ],
    ["duplicate target", { ...hello, targets: [hello.targets[0], hello.targets[0]] }, "targets.1"],
    [
      "region",
      { ...hello, name: "other", targets: [{ cloud: "gcp", region: "mars", replicas: 1 }] },
      "targets.0.region",
    ],
    ["unknown field", { ...hello, name: "other", colour: "blue" }, "body"],
    ["sim error rate", { ...hello, name: "other", sim: { errorRate: 2 } }, "sim.errorRate"],
  ])("answers 400 naming the field for a bad %s", async (_, body, field) => {
    const res = await send("POST", "/v1/workloads", body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_input");
    expect(res.json.error.details.field).toBe(field);
    expect(res.json.error.message).toContain(field);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const res = await send("POST", "/v1/workloads", undefined, "{not json");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_input");
  });

  it("answers 404 for unknown workloads on every route", async () => {
    for (const [method, path, body] of [
      ["GET", "/v1/workloads/nobody"],
      ["PUT", "/v1/workloads/nobody", { ...hello, name: undefined }],
      ["DELETE", "/v1/workloads/nobody"],
      ["GET", "/v1/workloads/nobody/traffic"],
      ["GET", "/v1/workloads/nobody/rollouts"],
      ["POST", "/v1/workloads/nobody/rollouts", { image: "x:1" }],
      ["GET", "/v1/rollouts/00000000-0000-4000-8000-000000000000"],
    ] as const) {
      const res = await send(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
  });

  it("answers 400 for a malformed rollout id and a bad name in the path", async () => {
    expect((await send("GET", "/v1/rollouts/not-a-uuid")).json.error.details.field).toBe("id");
    expect((await send("GET", "/v1/workloads/BAD_NAME")).status).toBe(400);
  });
});

describe("rollouts", () => {
  it("starts a rollout (202), refuses a second (409), and lists history", async () => {
    const started = await send<RolloutJson>("POST", "/v1/workloads/hello/rollouts", {
      image: "registry.example.com/demo/hello:2",
    });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({
      workload: "hello",
      status: "progressing",
      fromRevision: 1,
      toRevision: 2,
    });
    expect(started.json.steps.length).toBeGreaterThan(0);

    const again = await send("POST", "/v1/workloads/hello/rollouts", {
      image: "registry.example.com/demo/hello:3",
    });
    expect(again.status).toBe(409);
    expect(again.json.error.details).toMatchObject({ rollout: started.json.id, status: "progressing" });

    const putDuring = await send("PUT", "/v1/workloads/hello", { ...hello, name: undefined, image: "x/y:9" });
    expect(putDuring.status).toBe(409);

    expect((await waitForRollout(started.json.id)).status).toBe("succeeded");
    const traffic = await send<TrafficJson>("GET", "/v1/workloads/hello/traffic");
    expect(traffic.json.backends.map((b) => b.revision)).toEqual([2, 2]);

    const history = await send<{ rollouts: RolloutJson[] }>("GET", "/v1/workloads/hello/rollouts");
    expect(history.json.rollouts.map((r) => r.toRevision)).toEqual([2, 1]);
  });

  it("answers 400 naming the field for a bad rollout body", async () => {
    const res = await send("POST", "/v1/workloads/hello/rollouts", { image: "Bad Image" });
    expect(res.status).toBe(400);
    expect(res.json.error.details.field).toBe("image");
  });

  it("replaces a workload's spec with PUT, rolling when targets change", async () => {
    const res = await send<WorkloadJson>("PUT", "/v1/workloads/hello", {
      ...hello,
      name: undefined,
      image: "registry.example.com/demo/hello:2",
      targets: [{ cloud: "gcp", region: "us-central1", replicas: 2 }],
    });
    expect(res.status).toBe(200);
    expect(res.json.targets).toEqual([{ cloud: "gcp", region: "us-central1", replicas: 2 }]);
    expect(res.json.rollout).toMatchObject({ fromRevision: 2, toRevision: 2 });
    await waitForRollout(res.json.rollout.id);
    const traffic = await send<TrafficJson>("GET", "/v1/workloads/hello/traffic");
    expect(traffic.json.backends).toMatchObject([
      { cloud: "gcp", region: "us-central1", revision: 2, weight: 100 },
    ]);
  });

  it("steers a canary: promote, pause, resume and abort, with 409 for what cannot happen", async () => {
    const canary = {
      type: "canary",
      steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: {} }],
    };
    const updated = await send<WorkloadJson>("PUT", "/v1/workloads/hello", {
      ...hello,
      name: undefined,
      image: "registry.example.com/demo/hello:2",
      targets: [{ cloud: "gcp", region: "us-central1", replicas: 2 }],
      strategy: canary,
    });
    expect(updated.status).toBe(200);
    const started = await send<RolloutJson>("POST", "/v1/workloads/hello/rollouts", {
      image: "registry.example.com/demo/hello:3",
    });
    const id = started.json.id;
    expect((await send("POST", `/v1/rollouts/${id}/resume`)).status).toBe(409);
    const paused = await h.drive(async () => {
      const r = await send<RolloutJson & { weights: { revision: number; weight: number }[] }>(
        "GET",
        `/v1/rollouts/${id}`,
      );
      return r.json.status === "paused" ? r.json : null;
    });
    expect(paused.weights.filter((w) => w.revision === 3).map((w) => w.weight)).toEqual([20]);

    const badBody = await send("POST", `/v1/rollouts/${id}/promote`, undefined, '{"full": "yes"}');
    expect(badBody.status).toBe(400);
    expect(badBody.json.error.details.field).toBe("full");
    const notJson = await send("POST", `/v1/rollouts/${id}/promote`, undefined, "{full");
    expect(notJson.status).toBe(400);
    // An empty JSON object is a promote with the defaults, as no body at all is.
    expect((await send<RolloutJson>("POST", `/v1/rollouts/${id}/promote`, {})).json.status).toBe(
      "progressing",
    );
    await h.drive(
      async () => (await send<RolloutJson>("GET", `/v1/rollouts/${id}`)).json.status === "paused",
    );

    const aborted = await send<RolloutJson>("POST", `/v1/rollouts/${id}/abort`);
    expect(aborted.status).toBe(200);
    expect(aborted.json.status).toBe("aborted");
    const traffic = await send<TrafficJson>("GET", "/v1/workloads/hello/traffic");
    expect(traffic.json.backends.filter((b) => b.weight > 0).map((b) => [b.revision, b.weight])).toEqual([
      [2, 100],
    ]);
    for (const action of ["promote", "pause", "resume", "abort"]) {
      const res = await send("POST", `/v1/rollouts/${id}/${action}`);
      expect(res.status, action).toBe(409);
      expect(res.json.error).toMatchObject({ code: "invalid_transition", details: { status: "aborted" } });
    }
    expect((await send("POST", "/v1/rollouts/00000000-0000-4000-8000-000000000000/abort")).status).toBe(404);
  });

  it("pages through a rollout's events", async () => {
    const history = await send<{ rollouts: RolloutJson[] }>("GET", "/v1/workloads/hello/rollouts");
    const id = history.json.rollouts.at(-1)?.id ?? "";
    type Page = { events: { id: number; type: string }[]; next: number | null };
    const first = await send<Page>("GET", `/v1/rollouts/${id}/events?limit=2`);
    expect(first.json.events).toHaveLength(2);
    expect(first.json.events[0]?.type).toBe("rollout_started");
    const all: string[] = [];
    let after: number | null = 0;
    while (after !== null) {
      const page: { json: Page } = await send<Page>(
        "GET",
        `/v1/rollouts/${id}/events?limit=3&after=${after}`,
      );
      all.push(...page.json.events.map((e) => e.type));
      after = page.json.next;
    }
    expect(all[0]).toBe("rollout_started");
    expect(all.at(-1)).toBe("rollout_succeeded");
    expect((await send("GET", `/v1/rollouts/${id}/events?limit=0`)).status).toBe(400);
  });

  it("rolls back to the previous revision, and says so when there is none", async () => {
    const back = await send<RolloutJson>("POST", "/v1/workloads/hello/rollback");
    expect(back.status).toBe(202);
    expect(back.json).toMatchObject({ toRevision: 1, fromRevision: 2 });
    await waitForRollout(back.json.id);
    const traffic = await send<TrafficJson>("GET", "/v1/workloads/hello/traffic");
    expect(traffic.json.backends.filter((b) => b.weight > 0).every((b) => b.revision === 1)).toBe(true);
    expect((await send("POST", "/v1/workloads/nobody/rollback")).status).toBe(404);
  });

  it("deletes a workload with 204, after which it is gone", async () => {
    expect((await send("DELETE", "/v1/workloads/hello")).status).toBe(204);
    expect((await send("GET", "/v1/workloads/hello")).status).toBe(404);
    expect((await send<{ workloads: unknown[] }>("GET", "/v1/workloads")).json.workloads).toEqual([]);
  });

  it("exposes request and rollout metrics in Prometheus text", async () => {
    const res = await send("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.text).toMatch(
      /devsim_http_requests_total\{method="POST",route="\/v1\/workloads",status="201"\} 1/,
    );
    expect(res.text).toMatch(/devsim_rollouts\{status="succeeded"\} 4/);
    expect(res.text).toMatch(/devsim_rollouts\{status="aborted"\} 1/);
  });
});
