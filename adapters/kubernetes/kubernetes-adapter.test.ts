import { afterEach, describe, expect, test } from "vitest";
import { z } from "zod";
import { AdapterError } from "#core";
import {
  devsimRawReader,
  type FakeKubernetes,
  type FakeKubernetesOptions,
  type RecordedRequest,
  startFakeKubernetes,
} from "../../test/fakes/kubernetes.ts";
import { adapterFailureOf } from "../../test/support/fixtures.ts";
import { closeTestServers, deadUrl } from "../../test/support/http-servers.ts";
import { runAdapterContract } from "../contract.ts";
import type { DeploymentTarget, RevisionSpec } from "../port.ts";
import type { ClusterAccess } from "./cluster-access.ts";
import {
  createKubernetesAdapter,
  type KubernetesAdapter,
  type KubernetesAdapterOptions,
} from "./kubernetes-adapter.ts";

const revision = (over: Partial<RevisionSpec> = {}): RevisionSpec => ({
  number: 3,
  image: "registry.example.com/shop/web:3.1.4",
  port: 8080,
  healthPath: "/healthz",
  sim: null,
  ...over,
});

const REGIONS = ["westeurope", "eastus"] as const;

/** Plain-http access to a fake, with a bearer token it accepts. */
const accessTo = (fake: FakeKubernetes, region: string): ClusterAccess => ({
  name: `aks-${region}`,
  server: fake.url,
  skipTLSVerify: true,
  token: async () => "contract-token",
});

runAdapterContract({
  name: "kubernetes",
  readyTimeoutMs: 5_000,
  faults: ["throttle", "timeout", "server-error", "conflict", "eventual-consistency"],
  setup: async () => {
    const fakes = new Map<string, FakeKubernetes>();
    for (const region of REGIONS)
      fakes.set(region, await startFakeKubernetes({ tokens: ["contract-token"] }));
    const fakeOf = (region: string): FakeKubernetes => {
      const fake = fakes.get(region);
      if (!fake) throw new Error(`no fake for ${region}`);
      return fake;
    };
    const options: KubernetesAdapterOptions = {
      cloud: "azure",
      regions: REGIONS,
      clusters: async (region) => accessTo(fakeOf(region), region),
      timeoutMs: 1_000,
    };
    const target: DeploymentTarget = { workload: "contract", cloud: "azure", region: "westeurope" };
    return {
      adapter: createKubernetesAdapter(options),
      impatientAdapter: createKubernetesAdapter({ ...options, retry: { attempts: 3, budgetMs: 2_000 } }),
      faults: fakeOf(target.region).faults,
      raw: devsimRawReader((t) => fakeOf(t.region)),
      target,
      revision: revision(),
      teardown: async () => {
        await Promise.all([...fakes.values()].map((f) => f.close()));
      },
    };
  },
});

const target: DeploymentTarget = { workload: "shop", cloud: "gcp", region: "europe-west1" };
const TOKEN = "ya29.wire-token";

/** A fake per test, and an adapter on it with a quick retry policy unless told otherwise. */
const fixture = async (
  over: Partial<KubernetesAdapterOptions> = {},
  fakeOptions: FakeKubernetesOptions = {},
): Promise<{ fake: FakeKubernetes; adapter: KubernetesAdapter }> => {
  const fake = await startFakeKubernetes({ tokens: [TOKEN], ...fakeOptions });
  open.push(fake);
  const adapter = createKubernetesAdapter({
    cloud: "gcp",
    regions: ["europe-west1"],
    clusters: async () => ({
      name: "gke-europe-west1",
      server: fake.url,
      skipTLSVerify: true,
      token: async () => TOKEN,
    }),
    timeoutMs: 2_000,
    retry: { baseMs: 10, maxMs: 50 },
    ...over,
  });
  return { fake, adapter };
};
const open: FakeKubernetes[] = [];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const waitFor = async <T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not done in time; last value ${JSON.stringify(value)}`);
    await sleep(25);
  }
};

/** The resourceVersion of an object or a Scale, as JSON. */
const versionOf = (value: unknown): string =>
  z.object({ metadata: z.object({ resourceVersion: z.string() }) }).parse(value).metadata.resourceVersion;

const requestsTo = (fake: FakeKubernetes, method: string, pathEnd: string): RecordedRequest[] =>
  fake.requests.filter((r) => r.method === method && r.path.endsWith(pathEnd));

const DEPLOYMENT = "/apis/apps/v1/namespaces/devsim-shop/deployments/shop-r3";
const SERVICE = "/api/v1/namespaces/devsim-shop/services/shop-r3";
const NAMESPACE = "/api/v1/namespaces/devsim-shop";

describe("kubernetes adapter on the wire", () => {
  afterEach(async () => {
    await Promise.all(open.splice(0).map((f) => f.close()));
    await closeTestServers();
  });

  test("deploy server-side-applies the namespace once, then a Deployment and a Service per revision", async () => {
    const { fake, adapter } = await fixture();
    const status = await adapter.deploy(target, revision(), 2);
    await adapter.deploy(target, revision({ number: 4 }), 1);

    expect(status).toEqual({
      desiredReplicas: 2,
      readyReplicas: 0,
      url: "http://shop-r3.devsim-shop.svc.cluster.local:8080",
    });
    const applies = fake.requests.filter((r) => r.method === "PATCH");
    expect(applies.map((r) => r.path)).toEqual([
      NAMESPACE,
      DEPLOYMENT,
      SERVICE,
      "/apis/apps/v1/namespaces/devsim-shop/deployments/shop-r4",
      "/api/v1/namespaces/devsim-shop/services/shop-r4",
    ]);
    for (const r of applies) {
      expect(r.contentType).toBe("application/apply-patch+yaml");
      expect(r.query).toEqual({ fieldManager: "devsim", force: "true" });
      expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    }
    const labels = {
      "app.kubernetes.io/name": "shop",
      "app.kubernetes.io/managed-by": "devsim",
      "devsim.dev/revision": "3",
    };
    expect(requestsTo(fake, "PATCH", DEPLOYMENT)[0]?.body).toMatchObject({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "shop-r3", namespace: "devsim-shop", labels },
      spec: {
        replicas: 2,
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                image: "registry.example.com/shop/web:3.1.4",
                ports: [{ containerPort: 8080, name: "http" }],
                readinessProbe: { httpGet: { path: "/healthz", port: "http" } },
                livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
                resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              },
            ],
          },
        },
      },
    });
    expect(requestsTo(fake, "PATCH", SERVICE)[0]?.body).toMatchObject({
      kind: "Service",
      metadata: { labels },
      spec: { type: "ClusterIP", ports: [{ port: 8080, targetPort: "http" }] },
    });
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({
      metadata: { managedFields: [{ manager: "devsim", operation: "Apply" }] },
    });
    expect(fake.object("Namespace", null, "devsim-shop")).toMatchObject({ status: { phase: "Active" } });
  });

  test("deploying a revision that exists reads and writes nothing, whatever the replicas", async () => {
    const { fake, adapter } = await fixture();
    await adapter.deploy(target, revision(), 2);
    const before = fake.requests.length;

    const again = await adapter.deploy(target, revision({ image: "registry.example.com/shop/web:other" }), 5);

    expect(again.desiredReplicas).toBe(2);
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${DEPLOYMENT}`,
      `GET ${SERVICE}`,
    ]);
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ image: "registry.example.com/shop/web:3.1.4" }] } },
      },
    });
  });

  test("a deploy that finds the Deployment but not its Service adds the Service", async () => {
    const { fake, adapter } = await fixture();
    await adapter.deploy(target, revision(), 1);
    const gone = await fetch(`${fake.url}${SERVICE}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(gone.status).toBe(200);
    const before = fake.requests.length;

    const status = await adapter.deploy(target, revision(), 1);

    expect(status.url).toBe("http://shop-r3.devsim-shop.svc.cluster.local:8080");
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${DEPLOYMENT}`,
      `GET ${SERVICE}`,
      `PATCH ${SERVICE}`,
    ]);
    expect(fake.object("Service", "devsim-shop", "shop-r3")).toBeDefined();
  });

  test("scale writes the scale subresource with the resourceVersion it read, and nothing when already there", async () => {
    const { fake, adapter } = await fixture();
    await adapter.deploy(target, revision(), 1);
    const version = versionOf(fake.object("Deployment", "devsim-shop", "shop-r3"));
    const before = fake.requests.length;

    await adapter.scale(target, 3, 4);
    await adapter.scale(target, 3, 4);

    const calls = fake.requests.slice(before);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${DEPLOYMENT}`,
      `PUT ${DEPLOYMENT}/scale`,
      `GET ${DEPLOYMENT}`,
    ]);
    expect(calls[1]).toMatchObject({
      contentType: "application/json",
      query: { fieldManager: "devsim" },
      body: {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "shop-r3", namespace: "devsim-shop", resourceVersion: version },
        spec: { replicas: 4 },
      },
      status: 200,
    });
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({
      metadata: { generation: 2 },
      spec: { replicas: 4 },
    });
  });

  test("a scale that loses a race reads the Deployment again and writes with the new resourceVersion", async () => {
    const { fake, adapter } = await fixture();
    await adapter.deploy(target, revision(), 1);
    await fake.faults.inject("conflict", 1);
    const before = fake.requests.length;

    await adapter.scale(target, 3, 2);

    const calls = fake.requests.slice(before);
    expect(calls.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET ${DEPLOYMENT} 200`,
      `PUT ${DEPLOYMENT}/scale 409`,
      `GET ${DEPLOYMENT} 200`,
      `PUT ${DEPLOYMENT}/scale 200`,
    ]);
    expect(versionOf(calls[3]?.body)).not.toBe(versionOf(calls[1]?.body));
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({ spec: { replicas: 2 } });
  });

  test("a conflict on apply is retried from a fresh read", async () => {
    const { fake, adapter } = await fixture();
    await fake.faults.inject("conflict", 1);

    await adapter.deploy(target, revision(), 2);

    expect(requestsTo(fake, "PATCH", DEPLOYMENT).map((r) => r.status)).toEqual([409, 201]);
    expect(requestsTo(fake, "GET", DEPLOYMENT)).toHaveLength(2);
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({ spec: { replicas: 2 } });
  });

  test("remove deletes Deployment and Service in the foreground; a Deployment being deleted reads as gone", async () => {
    // Retries long enough to outlast the pods' termination.
    const { fake, adapter } = await fixture(
      { retry: { attempts: 30, baseMs: 50, maxMs: 100 } },
      { terminationMs: 400 },
    );
    await adapter.deploy(target, revision(), 2);

    await adapter.remove(target, 3);

    for (const path of [DEPLOYMENT, SERVICE]) {
      expect(requestsTo(fake, "DELETE", path).map((r) => r.body)).toEqual([
        { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" },
      ]);
    }
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({
      metadata: { deletionTimestamp: expect.any(String), finalizers: ["foregroundDeletion"] },
    });
    expect(await adapter.describe(target, 3)).toBeNull();
    expect(await adapterFailureOf(adapter.scale(target, 3, 5))).toMatchObject({ failure: "not_found" });
    await adapter.remove(target, 3);

    // A new deploy waits for the old Deployment to go, then creates it afresh.
    const started = Date.now();
    await adapter.deploy(target, revision(), 1);
    expect(Date.now() - started).toBeGreaterThan(100);
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({ spec: { replicas: 1 } });
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")?.metadata).not.toHaveProperty(
      "deletionTimestamp",
    );
  });

  test("removing what is not there succeeds on 404s", async () => {
    const { fake, adapter } = await fixture();
    await adapter.remove(target, 3);
    expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `DELETE ${DEPLOYMENT} 404`,
      `DELETE ${SERVICE} 404`,
    ]);
  });

  test("a rollout past its progress deadline surfaces from describe as AdapterError invalid", async () => {
    const { fake, adapter } = await fixture({ progressDeadlineSeconds: 1 });
    fake.stall("registry.example.com/shop/web:broken");
    await adapter.deploy(target, revision({ image: "registry.example.com/shop/web:broken" }), 2);

    expect(await adapter.describe(target, 3)).toMatchObject({ desiredReplicas: 2, readyReplicas: 0 });
    const error = await waitFor(
      () => adapterFailureOf(adapter.describe(target, 3)).catch(() => null),
      (e) => e !== null,
      5_000,
    );
    expect(error).toMatchObject({ failure: "invalid", cloud: "gcp" });
    expect(error?.retryable).toBe(false);
    expect(error?.message).toMatch(
      /deployment devsim-shop\/shop-r3 failed: ProgressDeadlineExceeded: ReplicaSet "shop-r3-[0-9a-f]+" has timed out progressing/,
    );
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toMatchObject({
      spec: { progressDeadlineSeconds: 1 },
    });
  });

  test("the bearer token is fetched for each request, so a new token is used as soon as it is issued", async () => {
    const fake = await startFakeKubernetes({ tokens: ["token-1"] });
    open.push(fake);
    let current = "token-1";
    const adapter = createKubernetesAdapter({
      cloud: "gcp",
      regions: ["europe-west1"],
      clusters: async () => ({
        name: "gke",
        server: fake.url,
        skipTLSVerify: true,
        token: async () => current,
      }),
      retry: { attempts: 1 },
    });
    expect(await adapter.describe(target, 3)).toBeNull();

    current = "token-2";
    fake.tokens?.clear();
    fake.tokens?.add("token-2");
    expect(await adapter.describe(target, 3)).toBeNull();

    expect(fake.requests.map((r) => r.authorization)).toEqual(["Bearer token-1", "Bearer token-2"]);
  });

  test("refused credentials are unauthorized, with the request id, and the cluster is looked up again", async () => {
    const fake = await startFakeKubernetes({ tokens: ["good"] });
    open.push(fake);
    let token = "expired";
    let lookups = 0;
    const adapter = createKubernetesAdapter({
      cloud: "digitalocean",
      regions: ["fra1"],
      clusters: async () => {
        lookups += 1;
        const issued = token;
        return { name: "doks-fra1", server: fake.url, skipTLSVerify: true, token: async () => issued };
      },
    });
    const doTarget: DeploymentTarget = { workload: "shop", cloud: "digitalocean", region: "fra1" };

    const error = await adapterFailureOf(adapter.describe(doTarget, 3));
    expect(error).toMatchObject({
      failure: "unauthorized",
      cloud: "digitalocean",
      requestId: fake.requests[0]?.auditId,
    });
    expect(error.message).toContain("HTTP 401 Unauthorized");
    expect(fake.requests).toHaveLength(1);

    token = "good";
    expect(await adapter.describe(doTarget, 3)).toBeNull();
    expect(lookups).toBe(2);
  });

  test("a token source that fails is unauthorized, and nothing is sent", async () => {
    const { fake } = await fixture();
    const adapter = createKubernetesAdapter({
      cloud: "gcp",
      regions: ["europe-west1"],
      clusters: async () => ({
        name: "gke",
        server: fake.url,
        skipTLSVerify: true,
        token: async () => {
          throw new Error("could not load the default credentials");
        },
      }),
    });
    const error = await adapterFailureOf(adapter.describe(target, 3));
    expect(error).toMatchObject({ failure: "unauthorized" });
    expect(error.message).toContain("could not load the default credentials");
    expect(fake.requests).toEqual([]);
  });

  test("a kubeconfig reaches the cluster with the credentials it carries", async () => {
    const fake = await startFakeKubernetes({ tokens: ["kubeconfig-token"] });
    open.push(fake);
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: aks",
      "  cluster:",
      `    server: ${fake.url}`,
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: clusterUser_rg_aks",
      "  user:",
      "    token: kubeconfig-token",
      "contexts:",
      "- name: aks",
      "  context: { cluster: aks, user: clusterUser_rg_aks }",
      "current-context: aks",
    ].join("\n");
    const adapter = createKubernetesAdapter({
      cloud: "azure",
      regions: ["westeurope"],
      clusters: async () => ({ name: "aks", server: "https://unused.example.com", kubeconfig }),
    });
    const azureTarget: DeploymentTarget = { workload: "shop", cloud: "azure", region: "westeurope" };
    await adapter.deploy(azureTarget, revision(), 1);
    expect(fake.requests.every((r) => r.authorization === "Bearer kubeconfig-token")).toBe(true);
    expect(fake.object("Deployment", "devsim-shop", "shop-r3")).toBeDefined();
  });

  test("a LoadBalancer Service gives its URL once the cloud has assigned an address", async () => {
    const { adapter } = await fixture({ serviceType: "LoadBalancer" }, { loadBalancerAfterMs: 200 });
    expect(adapter.capabilities.directEndpoints).toBe(true);
    const first = await adapter.deploy(target, revision(), 1);
    expect(first.url).toBeNull();
    const later = await waitFor(
      () => adapter.describe(target, 3),
      (s) => s?.url !== null,
    );
    expect(later?.url).toMatch(/^http:\/\/203\.0\.113\.\d+:8080$/);
  });

  test("an endpoint pattern gives the configured URL", async () => {
    const { adapter } = await fixture({ endpointPattern: "https://{service}.{region}.apps.example.com" });
    expect(adapter.capabilities.directEndpoints).toBe(true);
    const status = await adapter.deploy(target, revision(), 1);
    expect(status.url).toBe("https://shop-r3.europe-west1.apps.example.com");
  });

  test("cluster-local URLs do not claim direct endpoints", async () => {
    const { adapter } = await fixture();
    expect(adapter.capabilities.directEndpoints).toBe(false);
  });

  test("regions() reports clusters that are down or refuse our credentials as unavailable, throttled ones as up", async () => {
    const up = await startFakeKubernetes({ tokens: [TOKEN] });
    const refusing = await startFakeKubernetes({ tokens: ["someone-else"] });
    open.push(up, refusing);
    const down = await deadUrl();
    const servers: Record<string, string> = {
      "europe-west1": up.url,
      "us-central1": down,
      "asia-east1": refusing.url,
    };
    const adapter = createKubernetesAdapter({
      cloud: "gcp",
      regions: Object.keys(servers),
      clusters: async (region) => ({
        name: `gke-${region}`,
        server: servers[region] ?? "",
        skipTLSVerify: true,
        token: async () => TOKEN,
      }),
      retry: { attempts: 2, baseMs: 10 },
    });

    expect(await adapter.regions()).toEqual([
      { region: "europe-west1", available: true },
      { region: "us-central1", available: false },
      { region: "asia-east1", available: false },
    ]);
    expect(requestsTo(up, "GET", "/apis/apps/v1")).toHaveLength(1);

    await up.faults.inject("throttle", 100);
    expect((await adapter.regions())[0]).toEqual({ region: "europe-west1", available: true });
  });

  test("listNodes sends the label selector and follows every page of the NodeList", async () => {
    const { fake, adapter } = await fixture({}, { retryAfterSeconds: 0 });
    // More than a page (500), so the list is only whole if `continue` is followed.
    const pool = Array.from({ length: 1_203 }, (_, i) => ({
      name: `gke-pool-web-${String(i).padStart(4, "0")}`,
      labels: { "cloud.google.com/gke-nodepool": "web", "topology.kubernetes.io/zone": "europe-west1-b" },
    }));
    fake.setNodes([
      ...pool,
      { name: "gke-pool-batch-0001", labels: { "cloud.google.com/gke-nodepool": "batch" } },
    ]);
    await fake.faults.inject("throttle", 1);
    const nodes = await adapter.listNodes("europe-west1", "cloud.google.com/gke-nodepool=web");
    expect(nodes).toHaveLength(1_203);
    expect(new Set(nodes.map((n) => n.name)).size).toBe(1_203);
    expect(nodes[0]?.labels).toMatchObject({ "topology.kubernetes.io/zone": "europe-west1-b" });
    const lists = fake.requests.filter((r) => r.path === "/api/v1/nodes");
    // The throttled first page is asked again; then two more pages.
    expect(
      lists.map((r) => [r.status, r.query.labelSelector, r.query.limit, r.query.continue !== undefined]),
    ).toEqual([
      [429, "cloud.google.com/gke-nodepool=web", "500", false],
      [200, "cloud.google.com/gke-nodepool=web", "500", false],
      [200, "cloud.google.com/gke-nodepool=web", "500", true],
      [200, "cloud.google.com/gke-nodepool=web", "500", true],
    ]);
    expect(await adapter.listNodes("europe-west1", "cloud.google.com/gke-nodepool=none")).toEqual([]);
  });

  test("listNodes fails as invalid for a region without a cluster or a selector the server refuses", async () => {
    const { fake, adapter } = await fixture();
    expect(await adapterFailureOf(adapter.listNodes("mars-1", "a=b"))).toMatchObject({
      failure: "invalid",
      message: expect.stringContaining("region 'mars-1' has no cluster configured"),
    });
    expect(fake.requests).toHaveLength(0);
    expect(await adapterFailureOf(adapter.listNodes("europe-west1", "a in b"))).toMatchObject({
      failure: "invalid",
      message: expect.stringContaining("list nodes (a in b)"),
    });
  });

  test("calls that cannot succeed fail as invalid before anything is sent", async () => {
    const { fake, adapter } = await fixture();
    const cases: [Promise<unknown>, string][] = [
      [adapter.deploy({ ...target, cloud: "azure" }, revision(), 1), "target is in cloud 'azure'"],
      [adapter.describe({ ...target, region: "mars-1" }, 3), "region 'mars-1' has no cluster configured"],
      [adapter.deploy(target, revision(), -1), "replicas"],
      [adapter.deploy(target, revision(), 1.5), "replicas"],
      [adapter.scale(target, 3, -2), "replicas"],
      [adapter.deploy(target, revision({ port: 0 }), 1), "port"],
      [adapter.deploy(target, revision({ healthPath: "healthz" }), 1), "healthPath"],
      [adapter.remove({ ...target, workload: "x".repeat(60) }, 3), "DNS label"],
    ];
    for (const [call, named] of cases) {
      const error = await adapterFailureOf(call);
      expect(error).toMatchObject({ failure: "invalid", cloud: "gcp" });
      expect(error.message).toContain(named);
    }
    expect(fake.requests).toEqual([]);
  });

  test("bad options fail when the adapter is made", () => {
    const make = (over: Partial<KubernetesAdapterOptions>) => () =>
      createKubernetesAdapter({
        cloud: "gcp",
        regions: ["r"],
        clusters: async () => ({ name: "c", server: "" }),
        ...over,
      });
    expect(make({ namespacePrefix: "UPPER" })).toThrow(AdapterError);
    expect(make({ regions: [] })).toThrow(/bad regions/);
    expect(make({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  test("bad cluster access is invalid, and a failing lookup is retried on the next call", async () => {
    const { fake } = await fixture();
    let lookups = 0;
    const adapter = createKubernetesAdapter({
      cloud: "gcp",
      regions: ["europe-west1"],
      retry: { attempts: 1 },
      clusters: async () => {
        lookups += 1;
        if (lookups === 1) throw new Error("GKE API: deadline exceeded");
        if (lookups === 2) return { name: "gke", server: fake.url };
        return { name: "gke", server: fake.url, skipTLSVerify: true, token: async () => TOKEN };
      },
    });
    expect(await adapterFailureOf(adapter.describe(target, 3))).toMatchObject({
      failure: "unavailable",
      message: expect.stringContaining("GKE API: deadline exceeded"),
    });
    expect(await adapterFailureOf(adapter.describe(target, 3))).toMatchObject({
      failure: "invalid",
      message: expect.stringContaining("plain http needs skipTLSVerify"),
    });
    expect(await adapter.describe(target, 3)).toBeNull();
    expect(lookups).toBe(3);
  });

  test("server errors that do not end surface as unavailable, saying how hard it tried", async () => {
    const { fake, adapter } = await fixture({ retry: { attempts: 3, baseMs: 10 } });
    await fake.faults.inject("server-error", 100);
    const error = await adapterFailureOf(adapter.describe(target, 3));
    expect(error).toMatchObject({ failure: "unavailable", requestId: fake.requests[2]?.auditId });
    expect(error.message).toMatch(/HTTP 500 InternalError: .*gave up after 3 attempts in \d+ ms/);
    expect(fake.requests.map((r) => r.status)).toEqual([500, 503, 500]);
  });

  test("calls to one cluster reuse their connections instead of opening one each", async () => {
    const { fake, adapter } = await fixture();
    await adapter.deploy(target, revision(), 1);
    await adapter.describe(target, 3);
    const opened = fake.connections();
    const sent = fake.requests.length;

    for (let i = 0; i < 5; i += 1) await adapter.describe(target, 3);

    expect(fake.requests.length - sent).toBe(10);
    expect(fake.connections()).toBe(opened);
    expect(opened).toBeLessThanOrEqual(2);
  });

  test("a refusal after a retry is reported as it is, not as a budget given up", async () => {
    const { fake, adapter } = await fixture({}, { retryAfterSeconds: 0 });
    await fake.faults.inject("throttle", 1);
    const error = await adapterFailureOf(adapter.scale(target, 3, 2));
    expect(error).toMatchObject({ failure: "not_found" });
    expect(error.message).not.toContain("gave up");
    expect(fake.requests.map((r) => r.status)).toEqual([429, 404]);
  });

  test("an answer held back past the time limit is a timeout", async () => {
    const { fake, adapter } = await fixture({ timeoutMs: 200, retry: { attempts: 2, baseMs: 10 } });
    await fake.faults.inject("timeout", 100);
    const started = Date.now();
    const error = await adapterFailureOf(adapter.describe(target, 3));
    expect(error).toMatchObject({ failure: "timeout", retryable: true });
    expect(error.message).toContain("gave up after 2 attempts");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test("throttling is waited out for as long as Retry-After says", async () => {
    const { fake, adapter } = await fixture({}, { retryAfterSeconds: 1 });
    await fake.faults.inject("throttle", 1);
    const started = Date.now();
    expect(await adapter.describe(target, 3)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 404]);
  });
});
