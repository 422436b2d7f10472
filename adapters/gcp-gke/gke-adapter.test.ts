import { OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import type { AdapterError } from "#core";
import { createTestTls, startTlsFront } from "../../test/fakes/cloud-api.ts";
import { type GkeClusterSpec, type GkeFake, gkeNodes, startGkeFake } from "../../test/fakes/gke.ts";
import { devsimRawReader, type FakeKubernetes, startFakeKubernetes } from "../../test/fakes/kubernetes.ts";
import { adapterFailureOf } from "../../test/support/fixtures.ts";
import { runManagedKubernetesContract } from "../../test/support/managed-kubernetes-contract.ts";
import type { DeploymentTarget, RevisionSpec } from "../port.ts";
import { check } from "./check.ts";
import type { GkeConfigInput } from "./config.ts";
import { createGkeAdapter } from "./gke-adapter.ts";

const PROJECT = "shop-prod-42";

const revision: RevisionSpec = {
  number: 4,
  image: "europe-docker.pkg.dev/shop-prod-42/web/web:4.2.0",
  port: 8080,
  healthPath: "/healthz",
  sim: null,
};

/** Stands in for Google's token service, which cannot run here: an already-issued access token. */
const authClient = (token: string): OAuth2Client => {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return client;
};

/**
 * A fake GKE API whose cluster endpoint is a fake Kubernetes API behind TLS, accepting the same
 * access token. The cluster's node pools register their nodes there, and again after each resize,
 * as on GKE.
 */
const world = async (nodePools?: GkeClusterSpec["nodePools"]) => {
  const gke = await startGkeFake({ throttleRetrySeconds: 0, operationPolls: 1 });
  const kube = await startFakeKubernetes({ tokens: [gke.token], readyAfterMs: 50 });
  const tls = createTestTls();
  const front = await startTlsFront(kube.url, tls);
  const cluster = gke.addCluster({
    project: PROJECT,
    location: "europe-west1",
    name: "gke-euw1",
    endpoint: front.host,
    clusterCaCertificate: Buffer.from(tls.ca).toString("base64"),
    ...(nodePools ? { nodePools } : {}),
  });
  const registerNodes = (): void => kube.setNodes(gkeNodes(cluster));
  gke.onPoolResized = registerNodes;
  registerNodes();
  const config: GkeConfigInput = {
    projectId: PROJECT,
    clusters: [{ region: "europe-west1", name: "gke-euw1" }],
    endpoint: gke.url,
    pollIntervalMs: 5,
    retry: { baseMs: 1, maxMs: 20 },
    kubernetes: { timeoutMs: 1_000 },
  };
  const close = async (): Promise<void> => {
    await Promise.all([gke.close(), front.close(), kube.close()]);
  };
  return { gke, kube, cluster, config, auth: { authClient: authClient(gke.token) }, close };
};

const target: DeploymentTarget = { workload: "contract", cloud: "gcp", region: "europe-west1" };

runManagedKubernetesContract({
  name: "gcp-gke",
  target,
  revision,
  world: () => world(),
  adapter: (w, impatient) => createGkeAdapter({ ...w.config, ...impatient }, w.auth),
});

describe("GKE adapter: the GKE API, then the cluster's own API", () => {
  let w: Awaited<ReturnType<typeof world>>;
  let gke: GkeFake;
  let kube: FakeKubernetes;

  beforeAll(async () => {
    w = await world();
    ({ gke, kube } = w);
  });
  afterAll(async () => {
    await w?.close();
  });

  test("a deploy reaches https://<endpoint> with the cluster CA and the Google access token", async () => {
    const adapter = createGkeAdapter(w.config, w.auth);
    const wire = { ...target, workload: "wire" };
    await adapter.deploy(wire, revision, 1);

    expect(gke.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/projects/${PROJECT}/locations/europe-west1/clusters/gke-euw1`,
    ]);
    expect(kube.requests.length).toBeGreaterThan(0);
    for (const r of kube.requests) expect(r.authorization).toBe(`Bearer ${gke.token}`);
    expect(kube.object("Deployment", "devsim-wire", "wire-r4")).toMatchObject({ spec: { replicas: 1 } });
    await adapter.remove(wire, revision.number);
  });

  test("a cluster lookup that meets UNAVAILABLE and no answer still ends in one deployment", async () => {
    const adapter = createGkeAdapter({ ...w.config, timeoutMs: 300 }, w.auth);
    await gke.faults.inject("server-error", 1);
    await gke.faults.inject("timeout", 1);
    const shaky = { ...target, workload: "shaky" };
    await adapter.deploy(shaky, revision, 2);
    expect(await devsimRawReader(() => kube).countDeployments?.(shaky)).toBe(1);
    expect(gke.faults.remaining()).toMatchObject({ "server-error": 0, timeout: 0 });
    await adapter.remove(shaky, revision.number);
  });

  test("regions(): available when GKE reports the cluster serving and its API server answers", async () => {
    const adapter = createGkeAdapter(w.config, w.auth);
    expect(await adapter.regions()).toEqual([{ region: "europe-west1", available: true }]);
    const cluster = gke.cluster(PROJECT, "europe-west1", "gke-euw1");
    if (!cluster) throw new Error("no cluster");
    cluster.status = "STOPPING";
    try {
      expect(await adapter.regions()).toEqual([{ region: "europe-west1", available: false }]);
    } finally {
      cluster.status = "RUNNING";
    }
  });

  test("scaleNodePool is exposed beside the port, and waits for the operation to be DONE", async () => {
    // Left alone, the operation would run for a minute: only polling it to its end can finish it.
    gke.operationMs = 60_000;
    try {
      await createGkeAdapter(w.config, w.auth).scaleNodePool("europe-west1", "default-pool", 6);
    } finally {
      gke.operationMs = 1_000;
    }
    expect(gke.cluster(PROJECT, "europe-west1", "gke-euw1")?.nodePools[0]).toMatchObject({
      nodeCount: 6,
      status: "RUNNING",
    });
  });

  test("check: credentials, cluster and API server, each with its fix when wrong", async () => {
    expect(await check(w.config, w.auth)).toEqual([
      { target: "gcp credentials", ok: true },
      { target: "gcp europe-west1: GKE cluster europe-west1/gke-euw1", ok: true },
      { target: "gcp europe-west1: Kubernetes API", ok: true },
    ]);
    const refused = await check(w.config, { authClient: authClient("ya29.expired") });
    expect(refused).toEqual([
      { target: "gcp credentials", ok: true },
      {
        target: "gcp europe-west1: GKE cluster",
        ok: false,
        problem: expect.stringContaining("UNAUTHENTICATED"),
        fix: expect.stringContaining("gcloud auth application-default login"),
      },
    ]);
    expect((await check({ projectId: "X", regions: ["europe-west1"] }))[0]).toMatchObject({
      target: "gcp-gke configuration",
      ok: false,
      problem: expect.stringContaining("projectId"),
    });
  });
});

describe("GKE adapter: a scale grows the region's node pool to fit", () => {
  let w: Awaited<ReturnType<typeof world>>;
  const grown = { ...target, workload: "grown" };
  const B = "europe-west1-b";

  beforeAll(async () => {
    w = await world([
      { name: "web", nodeCount: 2, locations: [B] },
      { name: "spread", nodeCount: 1, locations: [B, "europe-west1-c", "europe-west1-d"] },
      { name: "burst", nodeCount: 1, locations: [B], autoscaling: true },
      { name: "idle", nodeCount: 0, locations: [B, "europe-west1-c", "europe-west1-d"] },
    ]);
    // Operations end on their own soon, so one test's resize does not hold up the next.
    w.gke.operationMs = 100;
    await createGkeAdapter(w.config, w.auth).deploy(grown, revision, 1);
  });
  afterAll(async () => {
    await w?.close();
  });

  type Capacity = NonNullable<GkeConfigInput["capacity"]>[string];
  const adapter = (capacity: Capacity, over: Partial<GkeConfigInput> = {}) =>
    createGkeAdapter({ ...w.config, capacity: { "europe-west1": capacity }, ...over }, w.auth);
  const web: Capacity = { nodePool: "web", podsPerNode: 2, maxNodes: 5 };
  const pool = (name: string) => w.cluster.nodePools.find((p) => p.name === name);
  /** The node counts asked of `setSize` for a pool, oldest first. */
  const resizes = (name: string): unknown[] =>
    w.gke.requests
      .filter((r) => r.method === "POST" && r.path.endsWith(`/nodePools/${name}:setSize`))
      .map((r) => JSON.parse(r.body).nodeCount);
  /** The nodes the cluster's API lists for a pool. */
  const nodesOf = (name: string) =>
    w.kube
      .objects("Node")
      .filter((n) => JSON.stringify(n).includes(`"cloud.google.com/gke-nodepool":"${name}"`));
  const nodeLists = () => w.kube.requests.filter((r) => r.path === "/api/v1/nodes");
  const operationPolls = () => w.gke.requests.filter((r) => r.path.includes("/operations/"));
  const poolReads = (name: string) =>
    w.gke.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/nodePools/${name}`)).length;
  /** Waits for a pool's resize to end, as GKE ends it: on its own, nobody polling. */
  const settled = (name: string) =>
    vi.waitFor(() => expect(pool(name)?.status).toBe("RUNNING"), { timeout: 10_000, interval: 20 });
  const replicas = () => w.kube.object("Deployment", "devsim-grown", "grown-r4")?.spec;

  test("a scale the pool's nodes fit reads the pool and lists its nodes, and resizes nothing", async () => {
    await adapter(web).scale(grown, revision.number, 4);
    expect(replicas()).toMatchObject({ replicas: 4 });
    expect(w.gke.requests.map((r) => `${r.method} ${r.path}`)).toContain(
      `GET /v1/projects/${PROJECT}/locations/europe-west1/clusters/gke-euw1/nodePools/web`,
    );
    expect(nodeLists().at(-1)?.query).toMatchObject({ labelSelector: "cloud.google.com/gke-nodepool=web" });
    expect(resizes("web")).toEqual([]);
    expect(pool("web")?.nodeCount).toBe(2);
  });

  test("a scale past them starts a setSize and returns before it is DONE; the new nodes register once it is", async () => {
    w.gke.operationMs = 4_000;
    try {
      await adapter(web).scale(grown, revision.number, 7);
      expect(replicas()).toMatchObject({ replicas: 7 });
      expect(resizes("web")).toEqual([4]);
      // GKE has started the resize; nothing waited for it.
      expect(pool("web")).toMatchObject({ status: "RECONCILING", nodeCount: 2 });
      expect(nodesOf("web")).toHaveLength(2);
      expect(operationPolls()).toEqual([]);
    } finally {
      w.gke.operationMs = 100;
    }
    await settled("web");
    expect(pool("web")?.nodeCount).toBe(4);
    expect(nodesOf("web")).toHaveLength(4);
    expect(operationPolls()).toEqual([]);
  });

  test("a scale down never shrinks the pool", async () => {
    await adapter(web).scale(grown, revision.number, 1);
    expect(replicas()).toMatchObject({ replicas: 1 });
    expect(resizes("web")).toEqual([4]);
    expect(pool("web")?.nodeCount).toBe(4);
  });

  test("the pool grows no further than maxNodes", async () => {
    await adapter(web).scale(grown, revision.number, 40);
    expect(resizes("web")).toEqual([4, 5]);
    await settled("web");
    expect(nodesOf("web")).toHaveLength(5);
    await adapter(web).scale(grown, revision.number, 60);
    expect(resizes("web")).toEqual([4, 5]);
  });

  test("without a capacity setting the pool is left alone", async () => {
    const lists = nodeLists().length;
    await createGkeAdapter(w.config, w.auth).scale(grown, revision.number, 80);
    expect(resizes("web")).toEqual([4, 5]);
    expect(nodeLists()).toHaveLength(lists);
  });

  test("a pool across zones is sized per zone, its total within maxNodes", async () => {
    const spread: Capacity = { nodePool: "spread", podsPerNode: 1, maxNodes: 7 };
    await adapter(spread).scale(grown, revision.number, 5);
    // Two a zone in three zones: the 5 nodes needed, rounded up to what GKE can size.
    expect(resizes("spread")).toEqual([2]);
    await settled("spread");
    expect(nodesOf("spread")).toHaveLength(6);
    // Three a zone would be 9, past maxNodes 7.
    await adapter(spread).scale(grown, revision.number, 20);
    expect(resizes("spread")).toEqual([2]);
    expect(pool("spread")?.nodeCount).toBe(2);
  });

  test("a zone short of nodes is not taken for a smaller pool", async () => {
    const spread: Capacity = { nodePool: "spread", podsPerNode: 1, maxNodes: 9 };
    // One node of zone b is being repaired: 5 nodes listed, the pool still holds 2 a zone.
    const [repaired, ...others] = gkeNodes(w.cluster).filter(
      (n) => n.labels?.["cloud.google.com/gke-nodepool"] === "spread",
    );
    expect(repaired?.labels?.["topology.kubernetes.io/zone"]).toBe(B);
    w.kube.setNodes(gkeNodes(w.cluster).filter((n) => n.name !== repaired?.name));
    expect(others).toHaveLength(5);
    await adapter(spread).scale(grown, revision.number, 6);
    expect(resizes("spread")).toEqual([2]);
    await adapter(spread).scale(grown, revision.number, 7);
    expect(resizes("spread")).toEqual([2, 3]);
    await settled("spread");
    expect(nodesOf("spread")).toHaveLength(9);
  });

  test("an autoscaled pool is left alone: the scale fails as unavailable after the replicas are set", async () => {
    const lists = nodeLists().length;
    const error = await adapterFailureOf(
      adapter({ nodePool: "burst", podsPerNode: 1, maxNodes: 9 }).scale(grown, revision.number, 3),
    );
    expect(error).toMatchObject({
      failure: "unavailable",
      cloud: "gcp",
      message: expect.stringContaining("node pool 'burst'"),
    });
    expect(error.message).toContain("the node pool autoscales");
    expect(error.cause).toMatchObject({ failure: "invalid" });
    expect(replicas()).toMatchObject({ replicas: 3 });
    expect(resizes("burst")).toEqual([]);
    expect(nodeLists()).toHaveLength(lists);
  });

  test("a resize refused for another operation is judged again from a fresh read", async () => {
    const reads = () =>
      w.gke.requests.filter((r) => r.method === "GET" && r.path.endsWith("/nodePools/web")).length;
    const before = { reads: reads(), lists: nodeLists().length };
    await w.gke.faults.inject("conflict", 1);
    await adapter({ ...web, maxNodes: 6 }).scale(grown, revision.number, 12);
    expect(resizes("web")).toEqual([4, 5, 6, 6]);
    expect(reads() - before.reads).toBe(2);
    expect(nodeLists().length - before.lists).toBe(2);
    await settled("web");
    expect(pool("web")?.nodeCount).toBe(6);
  });

  test("a pool being changed is judged once it is RUNNING again", async () => {
    const web6 = pool("web");
    if (!web6) throw new Error("no pool");
    web6.status = "RECONCILING";
    let reads = 0;
    w.gke.onRequest = (r) => {
      if (r.method !== "GET" || !r.path.endsWith("/nodePools/web")) return;
      reads += 1;
      // The upgrade under way ends before the second read.
      if (reads === 2) web6.status = "RUNNING";
    };
    try {
      await adapter({ ...web, maxNodes: 7 }).scale(grown, revision.number, 14);
    } finally {
      w.gke.onRequest = undefined;
    }
    expect(reads).toBe(2);
    expect(resizes("web").at(-1)).toBe(7);
    await settled("web");
  });

  test("a scale while a resize runs never writes over it, and waits no longer than the retry budget", async () => {
    const roomy: Capacity = { ...web, maxNodes: 9 };
    const retry = { attempts: 100, budgetMs: 300, baseMs: 10, maxMs: 50 };
    w.gke.operationMs = 5_000;
    try {
      await adapter(roomy, { retry }).scale(grown, revision.number, 16);
      expect(resizes("web").at(-1)).toBe(8);
      expect(pool("web")?.status).toBe("RECONCILING");
      const asked = resizes("web").length;

      // GKE shows no size while it resizes: the pool is read again until the budget is spent.
      const reads = poolReads("web");
      const error = await adapter(roomy, { retry })
        .scale(grown, revision.number, 18)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        failure: "unavailable",
        message: expect.stringContaining("RECONCILING"),
      });
      expect((error as AdapterError).cause).toMatchObject({ failure: "conflict" });
      expect(replicas()).toMatchObject({ replicas: 18 });
      expect(poolReads("web") - reads).toBeGreaterThan(1);
      expect(resizes("web")).toHaveLength(asked);
      expect(pool("web")).toMatchObject({ status: "RECONCILING", nodeCount: 7 });
    } finally {
      w.gke.operationMs = 100;
    }

    // Once the resize is DONE and its nodes have registered, the next scale grows the pool.
    await settled("web");
    expect(nodesOf("web")).toHaveLength(8);
    await adapter(roomy).scale(grown, revision.number, 18);
    expect(resizes("web").at(-1)).toBe(9);
    await settled("web");
    expect(nodesOf("web")).toHaveLength(9);
    expect(operationPolls()).toEqual([]);
  });

  test("failures are typed: a missing pool, throttling past the budget, a refused node list, maxNodes below the zones", async () => {
    const missing = await adapterFailureOf(
      adapter({ ...web, nodePool: "gone" }).scale(grown, revision.number, 2),
    );
    expect(missing).toMatchObject({
      failure: "unavailable",
      message: expect.stringContaining("node pool 'gone'"),
    });
    expect(missing.cause).toMatchObject({ failure: "not_found", cloud: "gcp" });

    // An adapter that has already reached the cluster, so only the pool's read meets the throttling.
    const warm = adapter(web);
    await warm.describe(grown, revision.number);
    await w.gke.faults.inject("throttle", 20);
    try {
      const throttled = await adapterFailureOf(warm.scale(grown, revision.number, 2));
      expect(throttled).toMatchObject({
        failure: "unavailable",
        message: expect.stringContaining("node pool 'web'"),
      });
      expect(throttled.cause).toMatchObject({
        failure: "throttled",
        message: expect.stringContaining("RESOURCE_EXHAUSTED"),
      });
    } finally {
      await w.gke.faults.clear();
    }

    // The cluster stops taking the token between the scale and the node list: no RBAC to list nodes.
    w.gke.onRequest = (r) => {
      if (r.path.endsWith("/nodePools/web")) w.kube.tokens?.delete(w.gke.token);
    };
    try {
      const refused = await adapterFailureOf(adapter(web).scale(grown, revision.number, 2));
      expect(refused.cause).toMatchObject({
        failure: "unauthorized",
        message: expect.stringContaining("list nodes"),
      });
    } finally {
      w.gke.onRequest = undefined;
      w.kube.tokens?.add(w.gke.token);
    }

    const tooFew = await adapterFailureOf(
      adapter({ nodePool: "idle", podsPerNode: 1, maxNodes: 2 }).scale(grown, revision.number, 30),
    );
    expect(tooFew.cause).toMatchObject({
      failure: "invalid",
      message: expect.stringContaining("fewer than the pool's 3 zones"),
    });
  });

  test("check: each capacity pool is found, not autoscaled, and its nodes listable", async () => {
    const lines = async (nodePool: string) =>
      (await check({ ...w.config, capacity: { "europe-west1": { ...web, nodePool } } }, w.auth)).filter((l) =>
        l.target.includes("node pool"),
      );
    expect(await lines("web")).toEqual([{ target: "gcp europe-west1: node pool web", ok: true }]);
    expect(await lines("burst")).toEqual([
      expect.objectContaining({ ok: false, problem: expect.stringContaining("autoscales") }),
    ]);
    expect(await lines("gone")).toEqual([
      expect.objectContaining({
        ok: false,
        problem: expect.stringContaining("NOT_FOUND"),
        fix: expect.stringContaining("RBAC"),
      }),
    ]);
  });

  test("capacity is refused for a region not served, or a pool name GKE would not take", () => {
    expect(() => createGkeAdapter({ ...w.config, capacity: { "us-east1": web } })).toThrow(
      'at capacity["us-east1"]',
    );
    expect(() =>
      createGkeAdapter({ ...w.config, capacity: { "europe-west1": { ...web, nodePool: "web,x!=y" } } }),
    ).toThrow('at capacity["europe-west1"].nodePool');
  });
});
