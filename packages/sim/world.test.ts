import { connect } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { DevsimError, SIM_REGIONS } from "#core";
import type { SimDeploymentKey } from "./deployment.ts";
import type { SimDeploySpecInput } from "./schemas.ts";
import { createSimWorld, type SimWorld, type SimWorldOptions } from "./world.ts";

const worlds: SimWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const world = (options: SimWorldOptions = {}): SimWorld => {
  const w = createSimWorld({ startupMs: 0, random: () => 0.5, ...options });
  worlds.push(w);
  return w;
};

const key = (over: Partial<SimDeploymentKey> = {}): SimDeploymentKey => ({
  cloud: "aws",
  region: "us-east-1",
  workload: "web",
  revision: 1,
  ...over,
});

const spec = (over: Partial<SimDeploySpecInput> = {}): SimDeploySpecInput => ({
  image: "registry.example.com/web:1.0.0",
  port: 8080,
  healthPath: "/healthz",
  replicas: 1,
  sim: null,
  ...over,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const get = async (url: string | null, path: string): Promise<{ status: number; body: unknown }> => {
  if (!url) throw new Error("deployment has no URL");
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: await res.json() };
};

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
};

describe("SimWorld deployments", () => {
  test("a deployment is an HTTP server that names what it runs", async () => {
    const w = world();
    const { created, status } = await w.deploy(key({ cloud: "gcp", region: "europe-west1" }), spec());
    expect(created).toBe(true);
    expect(status).toMatchObject({ desiredReplicas: 1, readyReplicas: 1 });
    expect(status.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await fetch(`${status.url}/orders/42?x=1`, { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      workload: "web",
      cloud: "gcp",
      region: "europe-west1",
      revision: 1,
      image: "registry.example.com/web:1.0.0",
      method: "POST",
      path: "/orders/42",
    });
    expect(await get(status.url, "/healthz")).toEqual({ status: 200, body: { status: "ok" } });
  });

  test("replicas become ready after startupMs; before that health and traffic get 503", async () => {
    const w = world({ startupMs: 150 });
    const { status } = await w.deploy(key(), spec({ replicas: 2 }));
    expect(status.readyReplicas).toBe(0);
    expect(await get(status.url, "/healthz")).toEqual({ status: 503, body: { status: "starting" } });
    expect((await get(status.url, "/")).status).toBe(503);

    await sleep(250);
    expect(w.describe(key())?.readyReplicas).toBe(2);
    expect((await get(status.url, "/healthz")).status).toBe(200);
  });

  test("deploy is idempotent by key: the second returns the first's status and changes nothing", async () => {
    const w = world();
    const first = await w.deploy(key(), spec({ replicas: 2 }));
    const second = await w.deploy(key(), spec({ replicas: 5, image: "registry.example.com/web:2.0.0" }));
    expect(second.created).toBe(false);
    expect(second.status).toEqual(first.status);
    expect(w.list()).toHaveLength(1);
    expect(w.describe(key())).toMatchObject({ image: "registry.example.com/web:1.0.0", desiredReplicas: 2 });
  });

  test("concurrent deploys of one key create one deployment", async () => {
    const w = world();
    const results = await Promise.all([
      w.deploy(key(), spec()),
      w.deploy(key(), spec()),
      w.deploy(key(), spec()),
    ]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.status.url)).size).toBe(1);
    expect(w.list()).toHaveLength(1);
  });

  test("different revisions, workloads and targets are different deployments", async () => {
    const w = world();
    await w.deploy(key(), spec());
    await w.deploy(key({ revision: 2 }), spec());
    await w.deploy(key({ workload: "api" }), spec());
    await w.deploy(key({ region: "eu-west-1" }), spec());
    const urls = w.list().map((d) => d.url);
    expect(new Set(urls).size).toBe(4);
  });

  test("scale up adds replicas that become ready after startupMs; scale down retires them", async () => {
    const w = world({ startupMs: 100 });
    await w.deploy(key(), spec({ replicas: 1 }));
    await sleep(150);
    expect(w.scale(key(), 3)).toMatchObject({ desiredReplicas: 3, readyReplicas: 1 });
    await sleep(150);
    expect(w.describe(key())).toMatchObject({ desiredReplicas: 3, readyReplicas: 3 });
    expect(w.scale(key(), 1)).toMatchObject({ desiredReplicas: 1, readyReplicas: 1 });
  });

  test("scale down retires starting replicas before serving ones", async () => {
    const w = world({ startupMs: 100 });
    await w.deploy(key(), spec({ replicas: 1 }));
    await sleep(150);
    w.scale(key(), 4);
    expect(w.scale(key(), 2)).toMatchObject({ desiredReplicas: 2, readyReplicas: 1 });
  });

  test("scale and describe of a missing deployment give null", () => {
    const w = world();
    expect(w.scale(key(), 2)).toBeNull();
    expect(w.describe(key())).toBeNull();
  });

  test("a profile with ready: false never becomes ready", async () => {
    const w = world({ startupMs: 20 });
    const { status } = await w.deploy(key(), spec({ replicas: 2, sim: { ready: false } }));
    await sleep(120);
    expect(w.describe(key())).toMatchObject({ desiredReplicas: 2, readyReplicas: 0 });
    expect((await get(status.url, "/healthz")).status).toBe(503);
  });
});

describe("SimWorld behaviour profiles", () => {
  test("errorRate 1 fails every request but never the health path; errorRate 0 fails none", async () => {
    const w = world({ random: Math.random });
    const bad = await w.deploy(key({ revision: 1 }), spec({ sim: { errorRate: 1 } }));
    const good = await w.deploy(key({ revision: 2 }), spec({ sim: { errorRate: 0 } }));
    for (let i = 0; i < 20; i += 1) {
      expect((await get(bad.status.url, `/r/${i}`)).status).toBe(500);
      expect((await get(good.status.url, `/r/${i}`)).status).toBe(200);
    }
    expect(await get(bad.status.url, "/healthz")).toEqual({ status: 200, body: { status: "ok" } });
  });

  test("errorRate is drawn from the injected random source", async () => {
    const draws = [0.1, 0.9, 0.29, 0.31];
    const w = world({ random: () => draws.shift() ?? 0 });
    const { status } = await w.deploy(key(), spec({ sim: { errorRate: 0.3 } }));
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await get(status.url, "/")).status);
    expect(statuses).toEqual([500, 200, 500, 200]);
  });

  test("latencyMs is added before answering, with jitter from the random source", async () => {
    const w = world({ random: () => 0 });
    const slow = await w.deploy(key({ revision: 1 }), spec({ sim: { latencyMs: 200 } }));
    const fast = await w.deploy(key({ revision: 2 }), spec());

    let started = performance.now();
    expect((await get(slow.status.url, "/")).status).toBe(200);
    const slowMs = performance.now() - started;
    started = performance.now();
    await get(fast.status.url, "/");
    const fastMs = performance.now() - started;

    // random() = 0 gives the lowest jitter: 90% of 200 ms.
    expect(slowMs).toBeGreaterThanOrEqual(175);
    expect(slowMs).toBeLessThan(1000);
    expect(fastMs).toBeLessThan(100);
  });
});

describe("SimWorld capacity", () => {
  test("each replica serves perReplicaConcurrency requests at once; the excess queues", async () => {
    const w = world({ perReplicaConcurrency: 2 });
    const { status } = await w.deploy(key(), spec({ sim: { latencyMs: 300 } }));
    const requests = Array.from({ length: 5 }, () => get(status.url, "/"));
    await sleep(100);
    expect(w.describe(key())).toMatchObject({ inFlight: 2, queued: 3 });

    // New ready replicas take queued requests at once.
    w.scale(key(), 3);
    expect(w.describe(key())).toMatchObject({ inFlight: 5, queued: 0 });
    expect((await Promise.all(requests)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(w.describe(key())).toMatchObject({ inFlight: 0, queued: 0 });
  });

  test("queued requests wait their turn: throughput is bounded by replicas", async () => {
    const w = world({ perReplicaConcurrency: 1 });
    const { status } = await w.deploy(key(), spec({ sim: { latencyMs: 100 } }));
    const started = performance.now();
    await Promise.all(Array.from({ length: 3 }, () => get(status.url, "/")));
    // Three requests through one slot of ~100 ms each (at least 90 ms with jitter).
    expect(performance.now() - started).toBeGreaterThanOrEqual(260);
  });

  test("scaling to zero answers queued requests with 503", async () => {
    const w = world({ perReplicaConcurrency: 1 });
    const { status } = await w.deploy(key(), spec({ sim: { latencyMs: 300 } }));
    const requests = Array.from({ length: 3 }, () => fetch(`${status.url}/`));
    await sleep(100);
    expect(w.describe(key())?.queued).toBe(2);
    w.scale(key(), 0);
    const statuses = (await Promise.allSettled(requests)).map((r) =>
      r.status === "fulfilled" ? r.value.status : "failed",
    );
    expect(statuses.filter((s) => s === 503)).toHaveLength(2);
  });
});

describe("SimWorld removal and close", () => {
  test("remove closes the server and its open connections promptly", async () => {
    const w = world();
    const { status } = await w.deploy(key(), spec({ sim: { latencyMs: 30_000 } }));
    const pending = fetch(`${status.url}/slow`).then(
      (r) => r.status,
      () => "failed",
    );
    await sleep(50);
    const started = performance.now();
    expect(await w.remove(key())).toBe(true);
    expect(await pending).toBe("failed");
    expect(performance.now() - started).toBeLessThan(1000);

    await expect(fetch(`${status.url}/`)).rejects.toThrow();
    expect(w.describe(key())).toBeNull();
    expect(await w.remove(key())).toBe(false);
  });

  test("remove does not wait for a connection stuck mid-request", async () => {
    const w = world();
    const { status } = await w.deploy(key(), spec());
    const { port } = new URL(status.url ?? "");
    const socket = connect(Number(port), "127.0.0.1");
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("GET / HTTP/1.1\r\nHost: sim\r\n"); // headers never finish
    await sleep(50);

    try {
      const started = performance.now();
      await w.remove(key());
      await closed;
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      socket.destroy();
    }
  });

  test("close stops every deployment and refuses new ones", async () => {
    const w = world();
    const a = await w.deploy(key(), spec());
    const b = await w.deploy(key({ cloud: "azure", region: "westeurope" }), spec());
    await w.close();
    expect(w.list()).toEqual([]);
    await expect(fetch(`${a.status.url}/`)).rejects.toThrow();
    await expect(fetch(`${b.status.url}/`)).rejects.toThrow();
    await expect(w.deploy(key(), spec())).rejects.toMatchObject({ code: "unavailable" });
  });

  test("list reports every deployment with its key, image and status", async () => {
    const w = world();
    await w.deploy(key(), spec({ replicas: 2 }));
    expect(w.list()).toEqual([
      expect.objectContaining({
        cloud: "aws",
        region: "us-east-1",
        workload: "web",
        revision: 1,
        image: "registry.example.com/web:1.0.0",
        desiredReplicas: 2,
        readyReplicas: 2,
        url: expect.stringMatching(/^http:/),
      }),
    ]);
  });
});

describe("SimWorld validation and regions", () => {
  test("regions lists each cloud's regions, all available", () => {
    const w = world();
    for (const cloud of ["aws", "azure", "gcp", "digitalocean"] as const) {
      expect(w.regions(cloud)).toEqual(SIM_REGIONS[cloud].map((region) => ({ region, available: true })));
    }
  });

  test("an unknown cloud or region is not_found", () => {
    const w = world();
    const badCloud = thrown(() => w.describe(key({ cloud: "ibm" as "aws" })));
    expect(badCloud).toBeInstanceOf(DevsimError);
    expect(badCloud).toMatchObject({ code: "not_found", details: { resource: "cloud" } });
    const badRegion = thrown(() => w.describe(key({ region: "eastus" })));
    expect(badRegion).toMatchObject({ code: "not_found", details: { resource: "region", region: "eastus" } });
  });

  test("bad keys, specs and replica counts are invalid_input naming the field", async () => {
    const w = world();
    expect(thrown(() => w.describe(key({ workload: "Not_A_Label" })))).toMatchObject({
      code: "invalid_input",
      details: { issues: [expect.objectContaining({ field: "workload" })] },
    });
    await expect(w.deploy(key(), spec({ replicas: 1.5 }))).rejects.toMatchObject({
      code: "invalid_input",
      details: { issues: [expect.objectContaining({ field: "spec.replicas" })] },
    });
    await w.deploy(key(), spec());
    expect(thrown(() => w.scale(key(), -1))).toMatchObject({ code: "invalid_input" });
  });

  test("bad options are rejected", () => {
    expect(thrown(() => createSimWorld({ perReplicaConcurrency: 0 }))).toMatchObject({
      code: "invalid_input",
      message: expect.stringContaining("perReplicaConcurrency"),
    });
  });
});

/** The network error a request met, such as ECONNREFUSED, or "answered" when it got a response. */
const failureOf = async (url: string | null, path = "/"): Promise<string> => {
  try {
    await (await fetch(`${url}${path}`)).text();
    return "answered";
  } catch (error) {
    const cause = error instanceof Error ? error.cause : undefined;
    return cause instanceof Error && "code" in cause ? String(cause.code) : String(error);
  }
};

describe("SimWorld faults: region outage", () => {
  test("the region's servers refuse connections, then answer on the same URL once it is lifted", async () => {
    const w = world();
    const out = await w.deploy(key(), spec({ replicas: 2 }));
    const spared = await w.deploy(key({ region: "eu-west-1" }), spec());

    const fault = await w.addFault({ type: "region-outage", cloud: "aws", region: "us-east-1" });
    expect(await failureOf(out.status.url)).toBe("ECONNREFUSED");
    expect((await get(spared.status.url, "/")).status).toBe(200);
    expect(w.regions("aws")).toEqual([
      { region: "us-east-1", available: false },
      { region: "eu-west-1", available: true },
    ]);
    expect(w.regions("gcp").every((r) => r.available)).toBe(true);
    expect(w.describe(key())).toMatchObject({ desiredReplicas: 2, readyReplicas: 0, url: out.status.url });

    expect(await w.removeFault(fault.id)).toBe(true);
    expect(w.describe(key())).toMatchObject({ readyReplicas: 2, url: out.status.url });
    expect(await get(out.status.url, "/")).toMatchObject({ status: 200, body: { region: "us-east-1" } });
    expect(w.regions("aws").every((r) => r.available)).toBe(true);
    expect(await w.removeFault(fault.id)).toBe(false);
  });

  test("open connections are dropped, including requests being served", async () => {
    const w = world();
    const { status } = await w.deploy(key(), spec({ sim: { latencyMs: 30_000 } }));
    const pending = failureOf(status.url, "/slow");
    await sleep(50);
    const started = performance.now();
    await w.addFault({ type: "region-outage", cloud: "aws", region: "us-east-1" });
    expect(await pending).not.toBe("answered");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("deploy and scale in an out region are unavailable; describe and remove still work", async () => {
    const w = world();
    await w.deploy(key(), spec());
    await w.addFault({ type: "region-outage", cloud: "aws", region: "us-east-1" });
    await expect(w.deploy(key({ revision: 2 }), spec())).rejects.toMatchObject({
      code: "unavailable",
      details: { resource: "region", cloud: "aws", region: "us-east-1" },
    });
    expect(thrown(() => w.scale(key(), 3))).toMatchObject({ code: "unavailable" });
    expect(w.describe(key())?.desiredReplicas).toBe(1);
    expect(await w.remove(key())).toBe(true);
    expect(w.list()).toEqual([]);
  });

  test("a deployment starting as its region goes out does not answer until the region is back", async () => {
    const w = world();
    const deploying = w.deploy(key(), spec());
    const fault = await w.addFault({ type: "region-outage", cloud: "aws", region: "us-east-1" });
    const { status } = await deploying;
    expect(status.url).toMatch(/^http:/);
    expect(await failureOf(status.url)).toBe("ECONNREFUSED");
    await w.removeFault(fault.id);
    expect((await get(status.url, "/")).status).toBe(200);
  });

  test("an outage with a duration ends by itself", async () => {
    const w = world();
    const { status } = await w.deploy(key(), spec());
    const fault = await w.addFault({
      type: "region-outage",
      cloud: "aws",
      region: "us-east-1",
      durationSeconds: 0.2,
    });
    expect(fault.expiresAt).not.toBeNull();
    expect(await failureOf(status.url)).toBe("ECONNREFUSED");
    await w.faultEnded(fault.id);
    let answered = "";
    for (let i = 0; i < 40 && answered !== "answered"; i += 1) {
      answered = await failureOf(status.url);
      if (answered !== "answered") await sleep(25);
    }
    expect(answered).toBe("answered");
    expect(w.faults()).toEqual([]);
    expect(w.regions("aws")[0]).toEqual({ region: "us-east-1", available: true });
  });

  test("a quick succession of outages and recoveries leaves the server listening", async () => {
    const w = world();
    const { status } = await w.deploy(key(), spec());
    for (let i = 0; i < 5; i += 1) {
      const f = await w.addFault({ type: "region-outage", cloud: "aws", region: "us-east-1" });
      void w.removeFault(f.id);
    }
    await sleep(50);
    expect((await get(status.url, "/")).status).toBe(200);
  });
});

describe("SimWorld faults: latency, errors, capacity", () => {
  test("latency adds its value to each response of the deployments it reaches", async () => {
    const w = world();
    const slow = await w.deploy(key({ revision: 1 }), spec());
    const fast = await w.deploy(key({ revision: 2 }), spec());
    await w.addFault({ type: "latency", cloud: "aws", revision: 1, value: 200 });

    const timed = async (url: string | null, path: string): Promise<number> => {
      const started = performance.now();
      await get(url, path);
      return performance.now() - started;
    };
    expect(await timed(slow.status.url, "/")).toBeGreaterThanOrEqual(195);
    expect(await timed(slow.status.url, "/healthz")).toBeGreaterThanOrEqual(195);
    expect(await timed(fast.status.url, "/")).toBeLessThan(150);
  });

  test("errors fail that share of responses, health checks included, until removed", async () => {
    const w = world({ random: Math.random });
    const { status } = await w.deploy(key(), spec());
    const other = await w.deploy(key({ cloud: "gcp", region: "us-central1" }), spec());
    const fault = await w.addFault({ type: "errors", cloud: "aws", value: 1 });
    for (let i = 0; i < 10; i += 1) {
      expect(await get(status.url, `/r/${i}`)).toEqual({
        status: 500,
        body: { error: { code: "internal", message: "simulated failure" } },
      });
      expect((await get(other.status.url, `/r/${i}`)).status).toBe(200);
    }
    expect((await get(status.url, "/healthz")).status).toBe(500);
    await w.removeFault(fault.id);
    expect((await get(status.url, "/")).status).toBe(200);
  });

  test("injected errors draw from the random source before the revision's own errors do", async () => {
    const draws = [0.5, 0.9, 0.1];
    const w = world({ random: () => draws.shift() ?? 0.99 });
    const { status } = await w.deploy(key(), spec({ sim: { errorRate: 0.2 } }));
    await w.addFault({ type: "errors", cloud: "aws", value: 0.3 });
    // Fault draw 0.5 ≥ 0.3 and profile draw 0.9 ≥ 0.2 pass; the next fault draw 0.1 fails.
    expect((await get(status.url, "/")).status).toBe(200);
    expect((await get(status.url, "/")).status).toBe(500);
  });

  test("capacity takes ready replicas away, so fewer requests run at once, until lifted", async () => {
    const w = world({ perReplicaConcurrency: 1 });
    const { status } = await w.deploy(key(), spec({ replicas: 4, sim: { latencyMs: 300 } }));
    const fault = await w.addFault({ type: "capacity", cloud: "aws", region: "us-east-1", value: 0.5 });
    expect(w.describe(key())).toMatchObject({ desiredReplicas: 4, readyReplicas: 2 });

    const requests = Array.from({ length: 4 }, () => get(status.url, "/"));
    await sleep(100);
    expect(w.describe(key())).toMatchObject({ inFlight: 2, queued: 2 });

    await w.removeFault(fault.id);
    expect(w.describe(key())).toMatchObject({ readyReplicas: 4, inFlight: 4, queued: 0 });
    expect((await Promise.all(requests)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  test("capacity without a value loses every replica: requests get 503", async () => {
    const w = world();
    const { status } = await w.deploy(key(), spec({ replicas: 3 }));
    const fault = await w.addFault({ type: "capacity", cloud: "aws" });
    expect(fault.value).toBe(1);
    expect(w.describe(key())?.readyReplicas).toBe(0);
    expect((await get(status.url, "/")).status).toBe(503);
    expect(await get(status.url, "/healthz")).toEqual({ status: 503, body: { status: "starting" } });
  });

  test("a fault in force applies to deployments created later", async () => {
    const w = world();
    await w.addFault({ type: "errors", cloud: "aws", region: "us-east-1", value: 1 });
    const { status } = await w.deploy(key(), spec());
    expect((await get(status.url, "/")).status).toBe(500);
  });
});

describe("SimWorld faults: registry", () => {
  test("faults lists what is in force, oldest first; API faults are found by place", async () => {
    const w = world();
    const a = await w.addFault({ type: "api-throttle", cloud: "azure", region: "eastus", value: 3 });
    const b = await w.addFault({ type: "api-timeout", cloud: "gcp" });
    expect(w.faults()).toEqual([a, b]);
    expect(w.apiFault("azure", "eastus")).toEqual(a);
    expect(w.apiFault("azure", "westeurope")).toBeUndefined();
    expect(w.apiFault("gcp", null)).toEqual(b);
    await w.removeFault(a.id);
    expect(w.faults()).toEqual([b]);
  });

  test("an unknown cloud or region is not_found; bad input is invalid_input naming the field", async () => {
    const w = world();
    await expect(w.addFault({ type: "api-timeout", cloud: "ibm" })).rejects.toMatchObject({
      code: "not_found",
      details: { resource: "cloud", cloud: "ibm" },
    });
    await expect(w.addFault({ type: "region-outage", cloud: "aws", region: "eastus" })).rejects.toMatchObject(
      {
        code: "not_found",
        details: { resource: "region", cloud: "aws", region: "eastus" },
      },
    );
    await expect(w.addFault({ type: "region-outage", cloud: "aws" })).rejects.toMatchObject({
      code: "invalid_input",
      details: { issues: [{ field: "fault.region", message: expect.any(String) }] },
    });
    expect(w.faults()).toEqual([]);
  });

  test("close ends every fault and wakes whoever waits on one", async () => {
    const w = world();
    const fault = await w.addFault({ type: "api-timeout", cloud: "aws" });
    const ended = w.faultEnded(fault.id);
    await w.close();
    await ended;
    expect(w.faults()).toEqual([]);
    await expect(w.addFault({ type: "api-timeout", cloud: "aws" })).rejects.toMatchObject({
      code: "unavailable",
    });
  });
});
