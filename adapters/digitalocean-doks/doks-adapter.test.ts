import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { AdapterError } from "#core";
import { createTestTls, startTlsFront } from "../../test/fakes/cloud-api.ts";
import {
  type DigitalOceanFake,
  type FakeDoCluster,
  startDigitalOceanFake,
} from "../../test/fakes/digitalocean.ts";
import { devsimRawReader, type FakeKubernetes, startFakeKubernetes } from "../../test/fakes/kubernetes.ts";
import { runManagedKubernetesContract } from "../../test/support/managed-kubernetes-contract.ts";
import type { DeploymentTarget, RevisionSpec } from "../port.ts";
import { check } from "./check.ts";
import type { DoksConfigInput } from "./config.ts";
import { createDoksAdapter } from "./doks-adapter.ts";

const CLUSTER_TOKEN = "doks-cluster-token-fra1";

const revision: RevisionSpec = {
  number: 2,
  image: "registry.digitalocean.com/shop/web:2.0.1",
  port: 8080,
  healthPath: "/healthz",
  sim: null,
};

/** A fake DigitalOcean API whose cluster credentials point at a fake Kubernetes API behind TLS. */
const world = async () => {
  const api = await startDigitalOceanFake({ throttleRetryAfterSeconds: 0, nodePolls: 1 });
  const kube = await startFakeKubernetes({ tokens: [CLUSTER_TOKEN], readyAfterMs: 50 });
  const tls = createTestTls();
  const front = await startTlsFront(kube.url, tls);
  const cluster = api.addCluster({
    name: "shop-fra1",
    region: "fra1",
    server: front.url,
    caData: Buffer.from(tls.ca).toString("base64"),
    token: CLUSTER_TOKEN,
    nodePools: [{ name: "web", count: 2 }],
  });
  const config: DoksConfigInput = {
    clusters: [{ region: "fra1", name: "shop-fra1" }],
    apiUrl: api.url,
    pollIntervalMs: 5,
    retry: { baseMs: 1, maxMs: 20 },
    kubernetes: { timeoutMs: 1_000 },
  };
  const close = async (): Promise<void> => {
    await Promise.all([api.close(), front.close(), kube.close()]);
  };
  return { api, kube, cluster, config, deps: { token: api.token, env: {} }, close };
};

const target: DeploymentTarget = { workload: "contract", cloud: "digitalocean", region: "fra1" };

runManagedKubernetesContract({
  name: "digitalocean-doks",
  target,
  revision,
  world,
  adapter: (w, impatient) => createDoksAdapter({ ...w.config, ...impatient }, w.deps),
});

describe("DOKS adapter: the DigitalOcean API, then the cluster's own API", () => {
  let w: Awaited<ReturnType<typeof world>>;
  let api: DigitalOceanFake;
  let kube: FakeKubernetes;
  let cluster: FakeDoCluster;

  beforeAll(async () => {
    w = await world();
    ({ api, kube, cluster } = w);
  });
  afterAll(async () => {
    await w?.close();
  });

  test("a deploy reaches the server of /credentials, trusting its CA, with the cluster token", async () => {
    const adapter = createDoksAdapter(w.config, w.deps);
    const wire = { ...target, workload: "wire" };
    await adapter.deploy(wire, revision, 1);

    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v2/kubernetes/clusters",
      `GET /v2/kubernetes/clusters/${cluster.id}/credentials`,
    ]);
    for (const r of kube.requests) expect(r.authorization).toBe(`Bearer ${CLUSTER_TOKEN}`);
    expect(kube.object("Deployment", "devsim-wire", "wire-r2")).toMatchObject({ spec: { replicas: 1 } });
    await adapter.remove(wire, revision.number);
  });

  test("a cluster lookup that is throttled and meets a 500 still ends in one deployment", async () => {
    const adapter = createDoksAdapter(w.config, w.deps);
    await api.faults.inject("throttle", 1);
    await api.faults.inject("server-error", 1);
    const shaky = { ...target, workload: "shaky" };
    await adapter.deploy(shaky, revision, 2);
    expect(await devsimRawReader(() => kube).countDeployments?.(shaky)).toBe(1);
    expect(api.faults.remaining()).toMatchObject({ throttle: 0, "server-error": 0 });
    await adapter.remove(shaky, revision.number);
  });

  test("regions(): available while the cluster runs and its API server answers", async () => {
    const adapter = createDoksAdapter(w.config, w.deps);
    expect(await adapter.regions()).toEqual([{ region: "fra1", available: true }]);
    cluster.state = "degraded";
    try {
      expect(await adapter.regions()).toEqual([{ region: "fra1", available: false }]);
    } finally {
      cluster.state = "running";
    }
  });

  test("scaleNodePool is exposed beside the port, and waits for the nodes to run", async () => {
    // Left alone, the nodes would take a minute: only the reads that wait for them bring them up.
    api.resizeMs = 60_000;
    try {
      await createDoksAdapter(w.config, w.deps).scaleNodePool("fra1", "web", 3);
    } finally {
      api.resizeMs = 1_000;
    }
    expect(cluster.nodePools[0]?.count).toBe(3);
    expect(cluster.nodePools[0]?.nodes.map((n) => n.state)).toEqual(["running", "running", "running"]);
  });

  test("the token comes from the dependencies, the configuration, or DIGITALOCEAN_ACCESS_TOKEN", async () => {
    const fromEnv = createDoksAdapter(w.config, { env: { DIGITALOCEAN_ACCESS_TOKEN: api.token } });
    await expect(fromEnv.regions()).resolves.toHaveLength(1);
    expect(() => createDoksAdapter(w.config, { env: {} })).toThrow(AdapterError);
    expect(() => createDoksAdapter({ ...w.config, apiUrl: "http://api.example.com" }, w.deps)).toThrow(
      /https/,
    );
  });

  test("check: token, cluster and API server, each with its fix when wrong", async () => {
    expect(await check(w.config, w.deps)).toEqual([
      { target: "digitalocean token", ok: true },
      { target: "digitalocean fra1: DOKS cluster shop-fra1", ok: true },
      { target: "digitalocean fra1: Kubernetes API", ok: true },
    ]);
    expect(await check(w.config, { env: {} })).toEqual([
      {
        target: "digitalocean token",
        ok: false,
        problem: "no API token was found",
        fix: expect.stringContaining("DIGITALOCEAN_ACCESS_TOKEN"),
      },
    ]);
    expect(await check(w.config, { token: "dop_v1_revoked" })).toEqual([
      {
        target: "digitalocean token",
        ok: false,
        problem: expect.stringContaining("Unable to authenticate you."),
        fix: expect.stringContaining("personal access token"),
      },
    ]);
  });
});

describe("DOKS adapter: a scale grows the region's node pool to fit", () => {
  let w: Awaited<ReturnType<typeof world>>;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(async () => {
    await w?.close();
  });

  const grown = { ...target, workload: "grown" };
  const puts = () => w.api.requests.filter((r) => r.method === "PUT" && r.path.includes("/node_pools/"));
  const pool = () => {
    const found = w.cluster.nodePools[0];
    if (!found) throw new Error("no pool");
    return found;
  };
  const states = () => pool().nodes.map((n) => n.state);

  test("past the pool's capacity it grows, up to maxNodes; within it or down, the pool is left as it is", async () => {
    const capacity = { fra1: { nodePool: "web", podsPerNode: 2, maxNodes: 4 } };
    const adapter = createDoksAdapter({ ...w.config, capacity }, w.deps);
    await adapter.deploy(grown, revision, 1);

    await adapter.scale(grown, revision.number, 3);
    expect(pool().count).toBe(2);
    expect(puts()).toEqual([]);

    await adapter.scale(grown, revision.number, 7);
    expect(w.kube.object("Deployment", "devsim-grown", "grown-r2")).toMatchObject({ spec: { replicas: 7 } });
    expect(pool().count).toBe(4);
    expect(puts().map((r) => JSON.parse(r.body))).toEqual([
      expect.objectContaining({ name: "web", count: 4 }),
    ]);

    await adapter.scale(grown, revision.number, 20);
    await adapter.scale(grown, revision.number, 1);
    expect(pool().count).toBe(4);
    expect(puts()).toHaveLength(1);
  });

  test("a scale returns once the new count is taken, before the nodes run; another meanwhile does not write over it", async () => {
    const capacity = { fra1: { nodePool: "web", podsPerNode: 2, maxNodes: 6 } };
    const adapter = createDoksAdapter({ ...w.config, capacity }, w.deps);
    const writes = puts().length;
    w.api.resizeMs = 4_000;
    try {
      await adapter.scale(grown, revision.number, 12);
      expect(pool().count).toBe(6);
      expect(states().filter((s) => s === "provisioning")).toHaveLength(2);

      // The count already covers 11 replicas: nothing is written while the nodes come.
      await adapter.scale(grown, revision.number, 11);
      expect(puts()).toHaveLength(writes + 1);
      expect(states()).toContain("provisioning");
    } finally {
      w.api.resizeMs = 1_000;
    }
    // The nodes come up on their own, nobody polling.
    const reads = w.api.requests.length;
    await vi.waitFor(() => expect(states()).toEqual(Array(6).fill("running")), {
      timeout: 10_000,
      interval: 20,
    });
    expect(w.api.requests).toHaveLength(reads);
  });
});
