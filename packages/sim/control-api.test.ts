import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SimServer, startSimServer } from "./server.ts";

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ startupMs: 0, random: () => 0.5 });
});
afterAll(async () => {
  await sim?.close();
});

const deploymentPath = (cloud: string, region: string, workload: string, revision: string | number): string =>
  `/v1/clouds/${cloud}/regions/${region}/workloads/${workload}/revisions/${revision}`;

const call = async (
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: unknown }> => {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? undefined : JSON.parse(text) };
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const spec = {
  image: "registry.example.com/shop:1.2.3",
  port: 8080,
  healthPath: "/healthz",
  replicas: 2,
  sim: null,
};

const errorShape = (
  code: string,
  message: unknown = expect.any(String),
  details: unknown = expect.any(Object),
) => ({
  error: { code, message, details },
});

describe("sim control API: deployments", () => {
  const path = deploymentPath("azure", "eastus", "shop", 7);

  test("PUT creates (201), PUT again is idempotent (200), GET / PATCH / DELETE follow it", async () => {
    const created = await call("PUT", path, spec);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      desiredReplicas: 2,
      readyReplicas: 2,
      url: expect.stringMatching(/^http:/),
    });
    expect(created.headers.get("x-request-id")).toBeTruthy();

    const again = await call("PUT", path, { ...spec, replicas: 9 });
    expect(again).toMatchObject({ status: 200, body: created.body });

    expect(await call("GET", path)).toMatchObject({ status: 200, body: created.body });

    const scaled = await call("PATCH", path, { replicas: 4 });
    expect(scaled).toMatchObject({ status: 200, body: { desiredReplicas: 4, readyReplicas: 4 } });
    expect(
      sim.world.describe({ cloud: "azure", region: "eastus", workload: "shop", revision: 7 }),
    ).toMatchObject({
      desiredReplicas: 4,
    });

    const removed = await call("DELETE", path);
    expect(removed).toMatchObject({ status: 204, body: undefined });
    expect(sim.world.list()).toEqual([]);
  });

  test("GET, PATCH and DELETE of a missing deployment are 404 naming the deployment", async () => {
    const missing = deploymentPath("gcp", "us-central1", "ghost", 1);
    for (const [method, body] of [["GET"], ["PATCH", { replicas: 1 }], ["DELETE"]] as const) {
      const res = await call(method, missing, body);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(
        errorShape("not_found", expect.stringContaining("ghost"), {
          resource: "deployment",
          cloud: "gcp",
          region: "us-central1",
          workload: "ghost",
          revision: 1,
        }),
      );
    }
  });

  test("GET /v1/deployments lists every deployment with its place, image and replicas", async () => {
    await call("PUT", deploymentPath("aws", "eu-west-1", "list-me", 1), spec);
    await call("PUT", deploymentPath("digitalocean", "fra1", "list-me", 2), { ...spec, replicas: 1 });
    const res = await call("GET", "/v1/deployments");
    expect(res.status).toBe(200);
    const { deployments } = res.body as { deployments: unknown[] };
    expect(deployments).toHaveLength(2);
    expect(deployments).toContainEqual({
      cloud: "digitalocean",
      region: "fra1",
      workload: "list-me",
      revision: 2,
      image: spec.image,
      desiredReplicas: 1,
      readyReplicas: 1,
      url: expect.stringMatching(/^http:/),
    });
    await call("DELETE", deploymentPath("aws", "eu-west-1", "list-me", 1));
    await call("DELETE", deploymentPath("digitalocean", "fra1", "list-me", 2));
  });
});

describe("sim control API: regions and places", () => {
  test("GET regions lists the cloud's regions", async () => {
    const res = await call("GET", "/v1/clouds/digitalocean/regions");
    expect(res).toMatchObject({
      status: 200,
      body: {
        regions: [
          { region: "nyc3", available: true },
          { region: "fra1", available: true },
        ],
      },
    });
  });

  test("an unknown cloud is 404, on regions and on deployments", async () => {
    const regions = await call("GET", "/v1/clouds/ibm/regions");
    expect(regions.status).toBe(404);
    expect(regions.body).toEqual(
      errorShape("not_found", "cloud 'ibm' not found", { resource: "cloud", cloud: "ibm" }),
    );
    const put = await call("PUT", deploymentPath("ibm", "us-east-1", "shop", 1), spec);
    expect(put.status).toBe(404);
  });

  test("an unknown region is 404, even with a bad body", async () => {
    const res = await call("PUT", deploymentPath("aws", "mars-1", "shop", 1), { replicas: "many" });
    expect(res.status).toBe(404);
    expect(res.body).toEqual(
      errorShape("not_found", expect.stringContaining("mars-1"), {
        resource: "region",
        cloud: "aws",
        region: "mars-1",
      }),
    );
  });

  test("an unknown route is a JSON 404", async () => {
    const res = await call("GET", "/v2/nothing");
    expect(res).toMatchObject({ status: 404, body: errorShape("not_found") });
  });
});

describe("sim control API: validation", () => {
  const path = deploymentPath("aws", "us-east-1", "shop", 1);

  const expectInvalid = (res: { status: number; body: unknown }, field: string): void => {
    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      errorShape("invalid_input", expect.stringContaining(field), {
        issues: expect.arrayContaining([{ field, message: expect.any(String) }]),
      }),
    );
  };

  test("bad bodies are 400 naming the field", async () => {
    expectInvalid(await call("PUT", path, { ...spec, replicas: -1 }), "body.replicas");
    expectInvalid(await call("PUT", path, { ...spec, image: "Not An Image" }), "body.image");
    expectInvalid(await call("PUT", path, { ...spec, healthPath: "healthz" }), "body.healthPath");
    expectInvalid(await call("PUT", path, { ...spec, sim: { errorRate: 2 } }), "body.sim.errorRate");
    const { sim: _, ...withoutSim } = spec;
    expectInvalid(await call("PUT", path, withoutSim), "body.sim");
    expectInvalid(await call("PUT", path, "{not json"), "body");
    expectInvalid(await call("PATCH", path, { replicas: 101 }), "body.replicas");
    expect(sim.world.list()).toEqual([]);
  });

  test("unknown body fields are rejected", async () => {
    expectInvalid(await call("PUT", path, { ...spec, colour: "blue" }), "body.colour");
  });

  test("bad params are 400 naming the param", async () => {
    expectInvalid(await call("GET", deploymentPath("aws", "us-east-1", "Shop_1", 1)), "workload");
    expectInvalid(await call("GET", deploymentPath("aws", "us-east-1", "shop", "one")), "revision");
    expectInvalid(await call("GET", deploymentPath("aws", "us-east-1", "shop", "-1")), "revision");
    expectInvalid(await call("GET", deploymentPath("aws", "us-east-1", "shop", "1e3")), "revision");
  });

  test("a sim profile fills its defaults", async () => {
    const res = await call("PUT", path, { ...spec, sim: { latencyMs: 5 } });
    expect(res.status).toBe(201);
    expect(
      sim.world.describe({ cloud: "aws", region: "us-east-1", workload: "shop", revision: 1 })?.sim,
    ).toEqual({
      errorRate: 0,
      latencyMs: 5,
      ready: true,
    });
    await call("DELETE", path);
  });
});

describe("sim control API: faults", () => {
  interface FaultJson {
    id: string;
    type: string;
    cloud: string;
    region: string | null;
    value: number | null;
    expiresAt: string | null;
  }

  const addFault = async (input: object): Promise<FaultJson> => {
    const res = await call("POST", "/v1/sim/faults", input);
    expect(res.status).toBe(201);
    return res.body as FaultJson;
  };

  const clearFaults = async (): Promise<void> => {
    for (const f of sim.world.faults()) await sim.world.removeFault(f.id);
  };

  test("POST creates (201 with id and times), GET lists, DELETE removes (204, then 404)", async () => {
    const res = await call("POST", "/v1/sim/faults", {
      type: "latency",
      cloud: "gcp",
      region: "us-central1",
      value: 50,
      durationSeconds: 60,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      type: "latency",
      cloud: "gcp",
      region: "us-central1",
      revision: null,
      value: 50,
      durationSeconds: 60,
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    const created = res.body as FaultJson & { createdAt: string };
    expect(Date.parse(created.expiresAt ?? "") - Date.parse(created.createdAt)).toBe(60_000);

    expect(await call("GET", "/v1/sim/faults")).toMatchObject({ status: 200, body: { faults: [res.body] } });
    expect(await call("DELETE", `/v1/sim/faults/${created.id}`)).toMatchObject({
      status: 204,
      body: undefined,
    });
    expect(await call("GET", "/v1/sim/faults")).toMatchObject({ status: 200, body: { faults: [] } });

    const again = await call("DELETE", `/v1/sim/faults/${created.id}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual(
      errorShape("not_found", expect.stringContaining(created.id), { resource: "fault", id: created.id }),
    );
  });

  test("bad faults are 400 naming the field; unknown clouds and regions are 404", async () => {
    const invalid = async (body: unknown, field: string) => {
      const res = await call("POST", "/v1/sim/faults", body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(
        errorShape("invalid_input", expect.stringContaining(field), {
          issues: expect.arrayContaining([{ field, message: expect.any(String) }]),
        }),
      );
    };
    await invalid({ type: "region-outage", cloud: "aws" }, "body.region");
    await invalid({ type: "latency", cloud: "aws" }, "body.value");
    await invalid({ type: "errors", cloud: "aws", value: 2 }, "body.value");
    await invalid({ type: "flood", cloud: "aws" }, "body.type");
    await invalid({ type: "api-timeout", cloud: "aws", durationSeconds: -5 }, "body.durationSeconds");
    await invalid({ type: "api-timeout", cloud: "aws", when: "now" }, "body.when");
    await invalid("{nope", "body");

    const cloud = await call("POST", "/v1/sim/faults", { type: "api-throttle", cloud: "ibm" });
    expect(cloud).toMatchObject({
      status: 404,
      body: errorShape("not_found", expect.any(String), { resource: "cloud", cloud: "ibm" }),
    });
    const region = await call("POST", "/v1/sim/faults", {
      type: "region-outage",
      cloud: "gcp",
      region: "mars",
    });
    expect(region).toMatchObject({
      status: 404,
      body: { error: { details: { resource: "region", region: "mars" } } },
    });
    expect(sim.world.faults()).toEqual([]);
  });

  test("api-throttle answers 429 with Retry-After to calls about its cloud and region only", async () => {
    const fault = await addFault({ type: "api-throttle", cloud: "aws", region: "eu-west-1", value: 3 });
    const throttled = await call("PUT", deploymentPath("aws", "eu-west-1", "shop", 1), spec);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("3");
    expect(throttled.headers.get("x-request-id")).toBeTruthy();
    expect(throttled.body).toEqual(
      errorShape("throttled", expect.stringContaining("aws/eu-west-1"), {
        cloud: "aws",
        region: "eu-west-1",
      }),
    );
    expect((await call("GET", deploymentPath("aws", "eu-west-1", "shop", 1))).status).toBe(429);
    expect(sim.world.list()).toEqual([]);

    // Other regions, region listings, the deployments list and fault routes are spared.
    expect((await call("GET", deploymentPath("aws", "us-east-1", "shop", 1))).status).toBe(404);
    expect((await call("GET", "/v1/clouds/aws/regions")).status).toBe(200);
    expect((await call("GET", "/v1/deployments")).status).toBe(200);
    expect((await call("DELETE", `/v1/sim/faults/${fault.id}`)).status).toBe(204);
    expect((await call("GET", deploymentPath("aws", "eu-west-1", "shop", 1))).status).toBe(404);
  });

  test("a cloud-wide api-throttle hits region listings too, with the default Retry-After of 1", async () => {
    await addFault({ type: "api-throttle", cloud: "digitalocean" });
    const res = await call("GET", "/v1/clouds/digitalocean/regions");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await call("GET", "/v1/clouds/gcp/regions")).status).toBe(200);
    await clearFaults();
  });

  test("api-timeout leaves calls unanswered; a call still waiting when it ends goes through", async () => {
    const path = deploymentPath("azure", "westeurope", "slowpoke", 1);
    const fault = await addFault({ type: "api-timeout", cloud: "azure" });
    const gaveUp = await fetch(`${sim.url}${path}`, { signal: AbortSignal.timeout(200) }).then(
      () => "answered",
      (e: unknown) => (e instanceof Error ? e.name : String(e)),
    );
    expect(gaveUp).toBe("TimeoutError");

    const waiting = call("PUT", path, spec);
    await sleep(100);
    expect(sim.world.list()).toEqual([]);
    await call("DELETE", `/v1/sim/faults/${fault.id}`);
    expect((await waiting).status).toBe(201);
    expect(sim.world.list()).toHaveLength(1);
    await call("DELETE", path);
  });

  test("a region outage makes deploy and scale there 503 and shows in the region list", async () => {
    const path = deploymentPath("gcp", "europe-west1", "shop", 1);
    expect((await call("PUT", path, spec)).status).toBe(201);
    const fault = await addFault({ type: "region-outage", cloud: "gcp", region: "europe-west1" });

    const deploy = await call("PUT", deploymentPath("gcp", "europe-west1", "shop", 2), spec);
    expect(deploy).toMatchObject({
      status: 503,
      body: errorShape("unavailable", expect.stringContaining("europe-west1")),
    });
    expect((await call("PATCH", path, { replicas: 3 })).status).toBe(503);
    expect((await call("GET", path)).body).toMatchObject({ readyReplicas: 0 });
    expect((await call("GET", "/v1/clouds/gcp/regions")).body).toEqual({
      regions: [
        { region: "us-central1", available: true },
        { region: "europe-west1", available: false },
      ],
    });

    await call("DELETE", `/v1/sim/faults/${fault.id}`);
    expect((await call("PATCH", path, { replicas: 3 })).status).toBe(200);
    await call("DELETE", path);
  });
});
