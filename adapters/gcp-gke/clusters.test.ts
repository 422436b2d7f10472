import { OAuth2Client } from "google-auth-library";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { AdapterError } from "#core";
import { type GkeFake, startGkeFake } from "../../test/fakes/gke.ts";
import { createGkeClusters, type GkeClusters } from "./clusters.ts";
import { GkeConfig, type GkeConfigInput } from "./config.ts";

const PROJECT = "shop-prod-42";

/** Stands in for Google's token service, which cannot run here: an already-issued access token. */
const authClient = (token: string): OAuth2Client => {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return client;
};

describe("GKE clusters through @google-cloud/container (REST transport) against a fake GKE API", () => {
  let gke: GkeFake;

  beforeAll(async () => {
    gke = await startGkeFake({ throttleRetrySeconds: 0, operationPolls: 2 });
    gke.addCluster({
      project: PROJECT,
      location: "europe-west1",
      name: "gke-euw1",
      endpoint: "198.51.100.7",
      clusterCaCertificate: "Q0EgUEVN",
      nodePools: [
        { name: "default-pool", nodeCount: 3 },
        { name: "burst", nodeCount: 0, autoscaling: true },
        { name: "legacy", nodeCount: 1, locations: [] },
      ],
    });
    gke.addCluster({
      project: PROJECT,
      location: "us-central1-a",
      name: "gke-usc1",
      endpoint: "198.51.100.8",
    });
  });
  afterAll(async () => {
    await gke?.close();
  });
  afterEach(async () => {
    await gke.faults.clear();
    gke.onRequest = undefined;
    gke.requests.length = 0;
    const cluster = gke.cluster(PROJECT, "europe-west1", "gke-euw1");
    if (cluster) cluster.status = "RUNNING";
    for (const pool of cluster?.nodePools ?? []) pool.status = "RUNNING";
  });

  const configured: GkeConfigInput["clusters"] = [
    { region: "europe-west1", name: "gke-euw1" },
    { region: "us-central1", location: "us-central1-a", name: "gke-usc1" },
  ];
  const clusters = (over: Partial<GkeConfigInput> = {}, token = gke.token): GkeClusters =>
    createGkeClusters(
      GkeConfig.parse({
        projectId: PROJECT,
        clusters: configured,
        endpoint: gke.url,
        pollIntervalMs: 5,
        retry: { attempts: 4, baseMs: 1, maxMs: 5 },
        ...over,
      }),
      { authClient: authClient(token) },
    );

  test("access reads endpoint and CA from getCluster, over REST with numeric enums and a bearer token", async () => {
    const access = await clusters().access("europe-west1");

    expect(access).toMatchObject({ name: "gke-euw1", server: "https://198.51.100.7", caData: "Q0EgUEVN" });
    expect(await access.token?.()).toBe(gke.token);
    const [get] = gke.requests;
    expect(get).toMatchObject({
      method: "GET",
      path: `/v1/projects/${PROJECT}/locations/europe-west1/clusters/gke-euw1`,
      rawQuery: "$alt=json%3Benum-encoding=int",
    });
    expect(get?.headers.authorization).toBe(`Bearer ${gke.token}`);
    expect(get?.headers["x-goog-api-client"]).toMatch(/gapic\/.* rest\//);
  });

  test("a zonal cluster is found by its zone and serves the zone's region", async () => {
    const access = await clusters().access("us-central1");
    expect(access.server).toBe("https://198.51.100.8");
    expect(gke.requests[0]?.path).toBe(`/v1/projects/${PROJECT}/locations/us-central1-a/clusters/gke-usc1`);
  });

  test("without configured clusters, `locations/-` lists them all and the region picks one", async () => {
    const c = clusters({ clusters: [], regions: ["us-central1", "asia-east1"] });
    expect(await c.locate("us-central1")).toEqual({
      project: PROJECT,
      location: "us-central1-a",
      name: "gke-usc1",
    });
    expect(gke.requests[0]?.path).toBe(`/v1/projects/${PROJECT}/locations/-/clusters`);
    await expect(c.locate("asia-east1")).rejects.toMatchObject({ failure: "not_found", cloud: "gcp" });
    expect(await c.regions()).toEqual([
      { region: "us-central1", available: true },
      { region: "asia-east1", available: false },
    ]);
  });

  test("regions: available while the control plane and a node pool serve", async () => {
    const c = clusters();
    const cluster = gke.cluster(PROJECT, "europe-west1", "gke-euw1");
    if (!cluster) throw new Error("no cluster");
    expect(await c.regions()).toEqual([
      { region: "europe-west1", available: true },
      { region: "us-central1", available: true },
    ]);
    cluster.status = "RECONCILING";
    expect((await c.regions())[0]?.available).toBe(true);
    cluster.status = "ERROR";
    expect((await c.regions())[0]?.available).toBe(false);
    cluster.status = "RUNNING";
    for (const pool of cluster.nodePools) pool.status = "STOPPING";
    expect((await c.regions())[0]?.available).toBe(false);
  });

  test("a configured cluster that is gone leaves its region unavailable", async () => {
    const c = clusters({ clusters: [{ region: "asia-east1", name: "gone" }] });
    expect(await c.regions()).toEqual([{ region: "asia-east1", available: false }]);
    const error = await c.access("asia-east1").catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: "not_found", requestId: gke.requests.at(-1)?.requestId });
  });

  test("scaleNodePool reads the pool, calls setSize and polls the operation until DONE", async () => {
    // Left alone, the operation would run for a minute: only polling it to its end can finish it.
    gke.operationMs = 60_000;
    try {
      await clusters().scaleNodePool("europe-west1", "default-pool", 5);
    } finally {
      gke.operationMs = 1_000;
    }

    expect(gke.cluster(PROJECT, "europe-west1", "gke-euw1")?.nodePools[0]).toMatchObject({
      nodeCount: 5,
      status: "RUNNING",
    });
    const pool = `/v1/projects/${PROJECT}/locations/europe-west1/clusters/gke-euw1/nodePools/default-pool`;
    const ops = `/v1/projects/${PROJECT}/locations/europe-west1/operations/`;
    expect(gke.requests.map((r) => `${r.method} ${r.path.startsWith(ops) ? ops : r.path}`)).toEqual([
      `GET ${pool}`,
      `POST ${pool}:setSize`,
      `GET ${ops}`,
      `GET ${ops}`,
      `GET ${ops}`,
    ]);
    expect(JSON.parse(gke.requests[1]?.body ?? "{}")).toEqual({ nodeCount: 5 });
  });

  test("an operation that reads as absent just after it started is polled until DONE", async () => {
    gke.onRequest = (request) => {
      if (!request.path.endsWith(":setSize")) return;
      void gke.faults.inject("eventual-consistency", 2);
      gke.onRequest = undefined;
    };
    await clusters().scaleNodePool("europe-west1", "default-pool", 4);
    expect(gke.cluster(PROJECT, "europe-west1", "gke-euw1")?.nodePools[0]?.nodeCount).toBe(4);
    expect(gke.faults.remaining()["eventual-consistency"]).toBe(0);
  });

  test("a resize refused while another operation runs (FAILED_PRECONDITION) is tried again", async () => {
    await gke.faults.inject("conflict", 1);
    await clusters().scaleNodePool("europe-west1", "default-pool", 2);
    expect(gke.cluster(PROJECT, "europe-west1", "gke-euw1")?.nodePools[0]?.nodeCount).toBe(2);
    expect(gke.requests.filter((r) => r.path.endsWith(":setSize"))).toHaveLength(2);
  });

  test("an autoscaled pool is not resized; an unknown pool is not_found", async () => {
    const c = clusters();
    await expect(c.scaleNodePool("europe-west1", "burst", 4)).rejects.toMatchObject({ failure: "invalid" });
    await expect(c.scaleNodePool("europe-west1", "nope", 4)).rejects.toMatchObject({ failure: "not_found" });
    expect(gke.requests.filter((r) => r.method === "POST")).toHaveLength(0);
  });

  test("nodePool gives whether it autoscales, how many zones its size counts in, and its status", async () => {
    const c = clusters();
    expect(await c.nodePool("europe-west1", "default-pool")).toEqual({
      autoscaling: false,
      zones: 3,
      status: "RUNNING",
    });
    expect(await c.nodePool("us-central1", "default-pool")).toMatchObject({ zones: 1 });
    expect(await c.nodePool("europe-west1", "burst")).toMatchObject({ autoscaling: true });
    await expect(c.nodePool("europe-west1", "nope")).rejects.toMatchObject({ failure: "not_found" });
    // A pool reported without zones has the cluster's.
    gke.requests.length = 0;
    expect(await c.nodePool("europe-west1", "legacy")).toMatchObject({ zones: 3 });
    const cluster = `/v1/projects/${PROJECT}/locations/europe-west1/clusters/gke-euw1`;
    expect(gke.requests.map((r) => r.path)).toEqual([`${cluster}/nodePools/legacy`, cluster]);
  });

  test("resizeNodePool sets the size without reading the pool or waiting for it, and leaves a refusal for another operation to the caller", async () => {
    const setSize = `/v1/projects/${PROJECT}/locations/europe-west1/clusters/gke-euw1/nodePools/default-pool:setSize`;
    const pool = gke.cluster(PROJECT, "europe-west1", "gke-euw1")?.nodePools[0];
    if (!pool) throw new Error("no pool");
    await gke.faults.inject("conflict", 1);
    await expect(clusters().resizeNodePool("europe-west1", "default-pool", 7)).rejects.toMatchObject({
      failure: "conflict",
      message: expect.stringContaining("FAILED_PRECONDITION"),
    });
    expect(gke.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${setSize}`]);
    gke.operationMs = 200;
    try {
      await clusters().resizeNodePool("europe-west1", "default-pool", 7);
    } finally {
      gke.operationMs = 1_000;
    }
    // Started, not waited for: the operation was never polled, and ends on its own.
    expect(gke.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${setSize}`, `POST ${setSize}`]);
    expect(JSON.parse(gke.requests[1]?.body ?? "{}")).toEqual({ nodeCount: 7 });
    expect(pool.status).toBe("RECONCILING");
    await vi.waitFor(() => expect(pool.status).toBe("RUNNING"), { timeout: 5_000, interval: 20 });
    expect(pool.nodeCount).toBe(7);
    expect(gke.requests).toHaveLength(2);
  });

  test("RESOURCE_EXHAUSTED and UNAVAILABLE are retried; gax does not retry on its own", async () => {
    await gke.faults.inject("throttle", 1);
    await gke.faults.inject("server-error", 1);
    await clusters().access("europe-west1");
    expect(gke.requests).toHaveLength(3);
  });

  test("the retry delay of a google.rpc.RetryInfo is honoured", async () => {
    const slow = await startGkeFake({ throttleRetrySeconds: 1 });
    try {
      slow.addCluster({ project: PROJECT, location: "europe-west1", name: "gke-euw1" });
      const c = createGkeClusters(
        GkeConfig.parse({
          projectId: PROJECT,
          clusters: configured,
          endpoint: slow.url,
          retry: { baseMs: 1, maxMs: 1 },
        }),
        { authClient: authClient(slow.token) },
      );
      await slow.faults.inject("throttle", 1);
      const started = performance.now();
      await c.access("europe-west1");
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await slow.close();
    }
  });

  test("throttling beyond the budget is throttled, with the RequestInfo's request id and the original cause", async () => {
    await gke.faults.inject("throttle", 10);
    const error = await clusters({ retry: { attempts: 2, baseMs: 1, maxMs: 1 } })
      .access("europe-west1")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      failure: "throttled",
      cloud: "gcp",
      requestId: gke.requests.at(-1)?.requestId,
      message: expect.stringContaining("RESOURCE_EXHAUSTED"),
    });
    expect((error as AdapterError).cause).toBeInstanceOf(Error);
  });

  test("a call without an answer times out and is retried", async () => {
    await gke.faults.inject("timeout", 1);
    await expect(clusters({ timeoutMs: 200 }).access("europe-west1")).resolves.toMatchObject({
      name: "gke-euw1",
    });
    await gke.faults.inject("timeout", 1);
    await expect(
      clusters({ timeoutMs: 200, retry: { attempts: 1 } }).access("europe-west1"),
    ).rejects.toMatchObject({
      failure: "timeout",
    });
  });

  test("a refused token is unauthorized and not retried", async () => {
    await expect(clusters({}, "ya29.wrong").access("europe-west1")).rejects.toMatchObject({
      failure: "unauthorized",
      message: expect.stringContaining("UNAUTHENTICATED"),
    });
    expect(gke.requests).toHaveLength(1);
  });
});
