import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import {
  type DigitalOceanFake,
  type FakeDoCluster,
  startDigitalOceanFake,
} from "../../test/fakes/digitalocean.ts";
import { createDoClient } from "./client.ts";
import { createDoksClusters, type DoksClusters } from "./clusters.ts";
import { DoksConfig, type DoksConfigInput } from "./config.ts";

describe("DOKS clusters through the DigitalOcean API v2 against a fake", () => {
  let api: DigitalOceanFake;
  let fra: FakeDoCluster;
  let nyc: FakeDoCluster;

  beforeAll(async () => {
    api = await startDigitalOceanFake({ throttleRetryAfterSeconds: 0, nodePolls: 1 });
    fra = api.addCluster({
      name: "shop-fra1",
      region: "fra1",
      server: "https://fra.k8s.example",
      caData: "RlJBIENB",
      token: "fra-cluster-token",
      nodePools: [
        { name: "web", count: 2, tags: ["team-shop"] },
        { name: "auto", count: 1, autoScale: true },
      ],
    });
    nyc = api.addCluster({ name: "shop-nyc3", region: "nyc3", token: null });
  });
  afterAll(async () => {
    await api?.close();
  });
  afterEach(async () => {
    await api.faults.clear();
    api.onRequest = undefined;
    api.requests.length = 0;
    fra.state = "running";
  });

  const clusters = (over: Partial<DoksConfigInput> = {}, token = api.token): DoksClusters => {
    const config = DoksConfig.parse({
      clusters: [
        { region: "fra1", name: "shop-fra1" },
        { region: "nyc3", id: nyc.id },
      ],
      apiUrl: api.url,
      pollIntervalMs: 5,
      retry: { attempts: 4, baseMs: 1, maxMs: 5 },
      ...over,
    });
    return createDoksClusters(config, createDoClient({ ...config, token }));
  };

  test("access lists clusters to find one by name, then gets its credentials, with the bearer token", async () => {
    const access = await clusters().access("fra1");

    expect(access).toMatchObject({
      name: "shop-fra1",
      server: "https://fra.k8s.example",
      caData: "RlJBIENB",
    });
    expect(await access.token?.()).toBe("fra-cluster-token");
    expect(api.requests.map((r) => `${r.method} ${r.path}?${r.rawQuery}`)).toEqual([
      "GET /v2/kubernetes/clusters?per_page=200&page=1",
      `GET /v2/kubernetes/clusters/${fra.id}/credentials?expiry_seconds=3600`,
    ]);
    for (const r of api.requests) expect(r.headers.authorization).toBe(`Bearer ${api.token}`);
  });

  test("a cluster named by id is read directly; one without token auth hands out a client certificate", async () => {
    const access = await clusters().access("nyc3");
    expect(api.requests[0]?.path).toBe(`/v2/kubernetes/clusters/${nyc.id}`);
    expect(access.token).toBeUndefined();
    expect(access.clientCertificateData).toBe(Buffer.from("client cert").toString("base64"));
    expect(access.clientKeyData).toBe(Buffer.from("client key").toString("base64"));
  });

  test("the cluster token is fetched again once most of its life has passed", async () => {
    const access = await clusters({ credentialsExpirySeconds: 60 }).access("fra1");
    const token = access.token;
    if (!token) throw new Error("expected a token");
    await token();
    expect(api.requests.filter((r) => r.path.endsWith("/credentials"))).toHaveLength(1);
    fra.token = "rotated-token";
    const later = Date.now() + 50_000;
    const realNow = Date.now;
    Date.now = () => later;
    try {
      expect(await token()).toBe("rotated-token");
    } finally {
      Date.now = realNow;
    }
    expect(api.requests.filter((r) => r.path.endsWith("/credentials"))).toHaveLength(2);
  });

  test("discovery pages through the account's clusters and matches the region slug", async () => {
    const many = await startDigitalOceanFake();
    try {
      for (let i = 0; i < 205; i += 1)
        many.addCluster({ name: `c${i}`, region: i === 204 ? "sgp1" : "ams3" });
      const config = DoksConfig.parse({ regions: ["sgp1"], apiUrl: many.url });
      const c = createDoksClusters(config, createDoClient({ ...config, token: many.token }));
      expect((await c.locate("sgp1")).name).toBe("c204");
      expect(many.requests.map((r) => r.query.page)).toEqual(["1", "2"]);
      expect(await c.regions()).toEqual([{ region: "sgp1", available: true }]);
    } finally {
      await many.close();
    }
  });

  test("regions: running and upgrading serve; other states and a cluster that is gone do not", async () => {
    const c = clusters({
      clusters: [
        { region: "fra1", id: fra.id },
        { region: "ams3", name: "nowhere" },
      ],
    });
    expect(await c.regions()).toEqual([
      { region: "fra1", available: true },
      { region: "ams3", available: false },
    ]);
    fra.state = "upgrading";
    expect((await c.regions())[0]?.available).toBe(true);
    fra.state = "degraded";
    expect((await c.regions())[0]?.available).toBe(false);
  });

  test("a configured cluster in another region is invalid", async () => {
    await expect(
      clusters({ clusters: [{ region: "lon1", id: fra.id }] }).access("lon1"),
    ).rejects.toMatchObject({
      failure: "invalid",
      cloud: "digitalocean",
    });
  });

  test("scaleNodePool reads the pool, PUTs name, count and user tags, and waits for the nodes to run", async () => {
    // Left alone, the nodes would take a minute: only the reads that wait for them bring them up.
    api.resizeMs = 60_000;
    try {
      await clusters().scaleNodePool("fra1", "web", 4);
    } finally {
      api.resizeMs = 1_000;
    }

    const pool = fra.nodePools.find((p) => p.name === "web");
    expect(pool?.count).toBe(4);
    expect(pool?.nodes.map((n) => n.state)).toEqual(["running", "running", "running", "running"]);
    const poolPath = `/v2/kubernetes/clusters/${fra.id}/node_pools/${pool?.id}`;
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v2/kubernetes/clusters",
      `GET ${poolPath}`,
      `PUT ${poolPath}`,
      `GET ${poolPath}`,
      `GET ${poolPath}`,
    ]);
    expect(JSON.parse(api.requests[2]?.body ?? "{}")).toEqual({
      name: "web",
      count: 4,
      tags: ["team-shop"],
      labels: null,
      taints: [],
    });
    expect(api.requests[2]?.headers["content-type"]).toBe("application/json");
  });

  test("growNodePool returns once the new count is taken, reading nothing after; the nodes come on their own", async () => {
    const pool = fra.nodePools.find((p) => p.name === "web");
    if (!pool) throw new Error("no web pool");
    const poolPath = `/v2/kubernetes/clusters/${fra.id}/node_pools/${pool.id}`;
    const before = pool.count;
    api.resizeMs = 200;
    try {
      await clusters().growNodePool("fra1", "web", before + 2);
      expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        "GET /v2/kubernetes/clusters",
        `GET ${poolPath}`,
        `PUT ${poolPath}`,
      ]);
      expect(pool.count).toBe(before + 2);
      expect(pool.nodes.filter((n) => n.state === "provisioning")).toHaveLength(2);
      await vi.waitFor(() => expect(pool.nodes.every((n) => n.state === "running")).toBe(true), {
        timeout: 5_000,
        interval: 20,
      });
      expect(pool.nodes).toHaveLength(before + 2);
      expect(api.requests).toHaveLength(3);
    } finally {
      api.resizeMs = 1_000;
    }
  });

  test("a node pool that reads as absent just after its update is read again until its nodes run", async () => {
    api.onRequest = (request) => {
      if (request.method !== "PUT") return;
      void api.faults.inject("eventual-consistency", 2);
      api.onRequest = undefined;
    };
    await clusters().scaleNodePool("fra1", "web", 3);
    expect(fra.nodePools.find((p) => p.name === "web")?.nodes.map((n) => n.state)).toEqual([
      "running",
      "running",
      "running",
    ]);
    expect(api.faults.remaining()["eventual-consistency"]).toBe(0);
  });

  test("scaling to the count it has writes nothing; an autoscaled or unknown pool is refused", async () => {
    const c = clusters();
    const current = fra.nodePools.find((p) => p.name === "web")?.count ?? 0;
    await c.scaleNodePool("fra1", "web", current);
    expect(api.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
    await expect(c.scaleNodePool("fra1", "auto", 3)).rejects.toMatchObject({ failure: "invalid" });
    await expect(c.scaleNodePool("fra1", "gpu", 3)).rejects.toMatchObject({ failure: "not_found" });
    expect(api.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
  });

  test("a resize that meets a conflict (409) is sent again", async () => {
    await api.faults.inject("conflict", 1);
    await clusters().scaleNodePool("fra1", "web", 1);
    expect(fra.nodePools.find((p) => p.name === "web")?.count).toBe(1);
    expect(api.requests.filter((r) => r.method === "PUT")).toHaveLength(2);
  });

  test("a revoked token is unauthorized, with DigitalOcean's request id, and not retried", async () => {
    const error = await clusters({}, "dop_v1_revoked")
      .access("fra1")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      failure: "unauthorized",
      cloud: "digitalocean",
      requestId: api.requests[0]?.requestId,
      message: expect.stringContaining("Unable to authenticate you."),
    });
    expect(api.requests).toHaveLength(1);
  });
});
