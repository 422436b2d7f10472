import type { AccessToken, TokenCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { AdapterError } from "#core";
import { type AzureArmFake, aksUserKubeconfig, startAzureArmFake } from "../../test/fakes/azure-arm.ts";
import { createTestTls, startTlsFront, type TlsFront } from "../../test/fakes/cloud-api.ts";
import { devsimRawReader, type FakeKubernetes, startFakeKubernetes } from "../../test/fakes/kubernetes.ts";
import { runManagedKubernetesContract } from "../../test/support/managed-kubernetes-contract.ts";
import type { DeploymentTarget, RevisionSpec } from "../port.ts";
import { createAksAdapter } from "./aks-adapter.ts";
import { check } from "./check.ts";
import type { AksConfigInput } from "./config.ts";

const SUB = "00000000-0000-0000-0000-00000000c0de";
const USER_TOKEN = "aks-cluster-user-token";

const revision: RevisionSpec = {
  number: 7,
  image: "registry.example.com/shop/web:7.0.0",
  port: 8080,
  healthPath: "/healthz",
  sim: null,
};

/** The kubeconfig AKS hands out for local accounts: the API server over TLS, its CA, a user token. */
const userKubeconfig = (server: string, ca: string): string =>
  aksUserKubeconfig({ cluster: "aks-weu", user: "clusterUser_shop_aks-weu", server, ca, token: USER_TOKEN });

/** Stands in for Microsoft Entra ID, which cannot run here. */
const credentialFor = (token: string): TokenCredential => ({
  getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
});

/** A fake ARM whose cluster's kubeconfig points at a fake Kubernetes API behind TLS. */
const world = async () => {
  const kube = await startFakeKubernetes({ tokens: [USER_TOKEN], readyAfterMs: 50 });
  const tls = createTestTls();
  const front = await startTlsFront(kube.url, tls);
  const arm = await startAzureArmFake({ throttleRetryAfterSeconds: 0, operationPolls: 1 });
  arm.addCluster({
    subscriptionId: SUB,
    resourceGroup: "shop",
    name: "aks-weu",
    location: "westeurope",
    kubeconfig: userKubeconfig(front.url, tls.ca),
    agentPools: [{ name: "user", count: 2, mode: "User" }],
  });
  const config: AksConfigInput = {
    subscriptionId: SUB,
    clusters: [{ region: "westeurope", resourceGroup: "shop", name: "aks-weu" }],
    armEndpoint: arm.url,
    caCertificates: arm.ca,
    pollIntervalMs: 5,
    retry: { baseMs: 1, maxMs: 20 },
    kubernetes: { timeoutMs: 1_000 },
  };
  const close = async (): Promise<void> => {
    await Promise.all([arm.close(), front.close(), kube.close()]);
  };
  return { kube, front, arm, config, credential: credentialFor(arm.token), close };
};

const target: DeploymentTarget = { workload: "contract", cloud: "azure", region: "westeurope" };

runManagedKubernetesContract({
  name: "azure-aks",
  target,
  revision,
  world,
  adapter: (w, impatient) => createAksAdapter({ ...w.config, ...impatient }, { credential: w.credential }),
});

describe("AKS adapter: ARM, then the cluster's own API", () => {
  let w: Awaited<ReturnType<typeof world>>;
  let kube: FakeKubernetes;
  let arm: AzureArmFake;
  let front: TlsFront;

  beforeAll(async () => {
    w = await world();
    ({ kube, arm, front } = w);
  });
  afterAll(async () => {
    await w?.close();
  });

  test("a deploy reaches the API server of the kubeconfig ARM handed out, over TLS, as the cluster user", async () => {
    const adapter = createAksAdapter(w.config, { credential: w.credential });
    await adapter.deploy({ ...target, workload: "wire" }, revision, 1);

    expect(arm.requests.map((r) => `${r.method} ${r.path.split("/").slice(-2).join("/")}`)).toEqual([
      "GET managedClusters/aks-weu",
      "POST aks-weu/listClusterUserCredential",
    ]);
    expect(kube.requests.length).toBeGreaterThan(0);
    for (const r of kube.requests) expect(r.authorization).toBe(`Bearer ${USER_TOKEN}`);
    expect(kube.object("Deployment", "devsim-wire", "wire-r7")).toMatchObject({ spec: { replicas: 1 } });
    expect(front.url).toMatch(/^https:/);
    await adapter.remove({ ...target, workload: "wire" }, revision.number);
  });

  test("a cluster lookup that is throttled and times out still ends in one deployment", async () => {
    const adapter = createAksAdapter({ ...w.config, timeoutMs: 300 }, { credential: w.credential });
    await arm.faults.inject("throttle", 1);
    await arm.faults.inject("timeout", 1);
    const shaky = { ...target, workload: "shaky" };
    await adapter.deploy(shaky, revision, 2);
    expect(await devsimRawReader(() => kube).countDeployments?.(shaky)).toBe(1);
    expect(arm.faults.remaining()).toMatchObject({ throttle: 0, timeout: 0 });
    await adapter.remove(shaky, revision.number);
  });

  test("regions(): available when ARM says Succeeded/Running and the API server answers", async () => {
    const adapter = createAksAdapter(w.config, { credential: w.credential });
    expect(await adapter.regions()).toEqual([{ region: "westeurope", available: true }]);
    const cluster = arm.cluster(SUB, "shop", "aks-weu");
    if (!cluster) throw new Error("no cluster");
    cluster.powerState = "Stopped";
    try {
      expect(await adapter.regions()).toEqual([{ region: "westeurope", available: false }]);
    } finally {
      cluster.powerState = "Running";
    }
  });

  test("scaleNodePool is exposed beside the port, and waits for the operation to end", async () => {
    const adapter = createAksAdapter(w.config, { credential: w.credential });
    // Left alone, the operation would run for a minute: only polling it to its end can finish it.
    arm.operationMs = 60_000;
    try {
      await adapter.scaleNodePool("westeurope", "user", 4);
    } finally {
      arm.operationMs = 1_000;
    }
    expect(arm.cluster(SUB, "shop", "aks-weu")?.agentPools[0]).toMatchObject({
      count: 4,
      provisioningState: "Succeeded",
    });
  });

  test("a bad configuration is AdapterError invalid when the adapter is made", () => {
    expect(() => createAksAdapter({ subscriptionId: "not-a-guid", regions: ["westeurope"] })).toThrow(
      AdapterError,
    );
    expect(() => createAksAdapter({ subscriptionId: SUB })).toThrow(/either clusters or regions/);
  });

  test("check: each line says what is right, or what is wrong and the fix", async () => {
    expect(await check(w.config, { credential: w.credential })).toEqual([
      { target: "azure credentials", ok: true },
      { target: "azure westeurope: AKS cluster shop/aks-weu", ok: true },
      { target: "azure westeurope: Kubernetes API", ok: true },
    ]);

    const missing = await check(
      { ...w.config, clusters: [{ region: "westeurope", resourceGroup: "shop", name: "aks-gone" }] },
      { credential: w.credential },
    );
    expect(missing).toEqual([
      { target: "azure credentials", ok: true },
      {
        target: "azure westeurope: AKS cluster",
        ok: false,
        problem: expect.stringContaining("ResourceNotFound"),
        fix: expect.stringContaining("az aks list"),
      },
    ]);

    const noLogin: TokenCredential = {
      getToken: async () => {
        throw Object.assign(new Error("Please run 'az login' to set up an account."), {
          name: "CredentialUnavailableError",
        });
      },
    };
    const [line] = await check(w.config, { credential: noLogin });
    expect(line).toMatchObject({
      target: "azure credentials",
      ok: false,
      fix: expect.stringContaining("az login"),
    });
    expect(line?.problem).not.toMatch(/\n\s+at /);

    expect(await check({ subscriptionId: SUB, clusters: [{ region: "West Europe" }] })).toEqual([
      {
        target: "azure-aks configuration",
        ok: false,
        problem: expect.stringContaining("clusters[0].region"),
        fix: expect.any(String),
      },
    ]);
  });
});

describe("AKS adapter: a scale grows the region's agent pool to fit", () => {
  let w: Awaited<ReturnType<typeof world>>;
  const grown = { ...target, workload: "grown" };
  const capacity = { westeurope: { nodePool: "user", podsPerNode: 2, maxNodes: 5 } };

  beforeAll(async () => {
    w = await world();
    // Operations end on their own soon, so one test's growth does not hold up the next.
    w.arm.operationMs = 100;
    await createAksAdapter(w.config, { credential: w.credential }).deploy(grown, revision, 1);
  });
  afterAll(async () => {
    await w?.close();
  });

  const pool = () => w.arm.cluster(SUB, "shop", "aks-weu")?.agentPools.find((p) => p.name === "user");
  const poolWrites = () =>
    w.arm.requests.filter((r) => r.method === "PUT" && /\/agentPools\/user$/.test(r.path));
  const poolReads = () =>
    w.arm.requests.filter((r) => r.method === "GET" && /\/agentPools\/user$/.test(r.path));
  const operationPolls = () => w.arm.requests.filter((r) => r.path.includes("/operations/"));
  const replicas = () => w.kube.object("Deployment", "devsim-grown", "grown-r7")?.spec;
  const adapter = (over: Partial<AksConfigInput> = {}) =>
    createAksAdapter({ ...w.config, capacity, ...over }, { credential: w.credential });
  /** Waits for the pool's operation to end, as ARM ends it: on its own, nobody polling. */
  const settled = () =>
    vi.waitFor(() => expect(pool()?.provisioningState).toBe("Succeeded"), { timeout: 10_000, interval: 20 });

  test("a scale within the pool's capacity only reads the pool", async () => {
    await adapter().scale(grown, revision.number, 4);
    expect(replicas()).toMatchObject({ replicas: 4 });
    expect(pool()?.count).toBe(2);
    expect(poolWrites()).toEqual([]);
  });

  test("a scale past it starts growing the pool over the eTag it read, and returns before the nodes come", async () => {
    const eTag = pool()?.eTag;
    w.arm.operationMs = 4_000;
    try {
      await adapter().scale(grown, revision.number, 7);
      expect(replicas()).toMatchObject({ replicas: 7 });
      // ARM has taken the new count, the operation runs on, and nothing waited for it.
      expect(pool()).toMatchObject({ count: 4, provisioningState: "Scaling" });
      expect(poolWrites().map((r) => r.headers["if-match"])).toEqual([eTag]);
      expect(operationPolls()).toEqual([]);
    } finally {
      w.arm.operationMs = 100;
    }
    await settled();
    expect(pool()?.count).toBe(4);
    expect(operationPolls()).toEqual([]);
  });

  test("a scale down never shrinks the pool", async () => {
    await adapter().scale(grown, revision.number, 1);
    expect(replicas()).toMatchObject({ replicas: 1 });
    expect(pool()?.count).toBe(4);
    expect(poolWrites()).toHaveLength(1);
  });

  test("the pool grows no further than maxNodes", async () => {
    await adapter().scale(grown, revision.number, 40);
    expect(replicas()).toMatchObject({ replicas: 40 });
    expect(pool()?.count).toBe(5);
    await settled();
  });

  test("without a capacity setting the pool is left alone", async () => {
    await createAksAdapter(w.config, { credential: w.credential }).scale(grown, revision.number, 60);
    expect(pool()?.count).toBe(5);
    expect(poolWrites()).toHaveLength(2);
  });

  test("a pool that cannot grow fails the scale as unavailable, after the replicas are set", async () => {
    const missing = { westeurope: { nodePool: "gone", podsPerNode: 1, maxNodes: 9 } };
    const failing = createAksAdapter({ ...w.config, capacity: missing }, { credential: w.credential });
    const error = await failing.scale(grown, revision.number, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      failure: "unavailable",
      message: expect.stringContaining("node pool 'gone'"),
    });
    expect(replicas()).toMatchObject({ replicas: 3 });
  });

  test("a scale while the pool is still scaling never writes over it, and waits no longer than the retry budget", async () => {
    const roomy = { westeurope: { ...capacity.westeurope, maxNodes: 8 } };
    const retry = { attempts: 100, budgetMs: 300, baseMs: 10, maxMs: 50 };
    w.arm.operationMs = 5_000;
    try {
      await adapter({ capacity: roomy, retry }).scale(grown, revision.number, 12);
      expect(pool()).toMatchObject({ count: 6, provisioningState: "Scaling" });
      expect(poolWrites()).toHaveLength(3);

      // The count asked for already covers 11 replicas: nothing to do while the nodes come.
      await adapter({ capacity: roomy, retry }).scale(grown, revision.number, 11);
      expect(poolWrites()).toHaveLength(3);

      // 16 replicas need 8 nodes: the pool is read again until the budget is spent, never written.
      const reads = poolReads().length;
      const error = await adapter({ capacity: roomy, retry })
        .scale(grown, revision.number, 16)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ failure: "unavailable", message: expect.stringContaining("Scaling") });
      expect((error as AdapterError).cause).toMatchObject({ failure: "conflict" });
      expect(replicas()).toMatchObject({ replicas: 16 });
      expect(poolReads().length - reads).toBeGreaterThan(1);
      expect(pool()).toMatchObject({ count: 6, provisioningState: "Scaling" });
      expect(poolWrites()).toHaveLength(3);
    } finally {
      w.arm.operationMs = 100;
    }

    // Once the resize has ended, the next scale grows the pool.
    await settled();
    await adapter({ capacity: roomy }).scale(grown, revision.number, 16);
    expect(pool()?.count).toBe(8);
    expect(poolWrites()).toHaveLength(4);
    expect(operationPolls()).toEqual([]);
    await settled();
  });

  test("a pool being changed by someone else is judged again once it has settled", async () => {
    const current = pool();
    if (!current) throw new Error("no pool");
    current.provisioningState = "Upgrading";
    let reads = 0;
    w.arm.onRequest = (r) => {
      if (r.method !== "GET" || !/\/agentPools\/user$/.test(r.path)) return;
      reads += 1;
      // The upgrade ends before the second read.
      if (reads === 2) current.provisioningState = "Succeeded";
    };
    try {
      await adapter({ capacity: { westeurope: { ...capacity.westeurope, maxNodes: 9 } } }).scale(
        grown,
        revision.number,
        18,
      );
    } finally {
      w.arm.onRequest = undefined;
    }
    expect(reads).toBe(2);
    expect(pool()?.count).toBe(9);
    expect(poolWrites()).toHaveLength(5);
    await settled();
  });

  test("capacity for a region the configuration does not serve is refused", () => {
    const elsewhere = { eastus: capacity.westeurope };
    expect(() => createAksAdapter({ ...w.config, capacity: elsewhere })).toThrow(/capacity\.eastus/);
  });
});
