import { afterEach, describe, expect, test } from "vitest";
import {
  devsimRawReader,
  type FakeKubernetes,
  type FakeKubernetesOptions,
  startFakeKubernetes,
} from "./kubernetes.ts";

const TOKEN = "fake-token";
const APPLY = "application/apply-patch+yaml";
const NS = "/api/v1/namespaces/devsim-shop";
const DEPLOYMENT = "/apis/apps/v1/namespaces/devsim-shop/deployments/shop-r1";
const SERVICE = "/api/v1/namespaces/devsim-shop/services/shop-r1";

const open: FakeKubernetes[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

const start = async (options: FakeKubernetesOptions = {}): Promise<FakeKubernetes> => {
  const fake = await startFakeKubernetes({ tokens: [TOKEN], ...options });
  open.push(fake);
  return fake;
};

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: unknown;
}

/** The value at a path of keys and indexes in a JSON answer, or undefined. */
const at = (value: unknown, ...path: (string | number)[]): unknown => {
  let here = value;
  for (const step of path) {
    if (typeof here !== "object" || here === null) return undefined;
    here = (here as Record<string | number, unknown>)[step];
  }
  return here;
};

const call = async (
  fake: FakeKubernetes,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; token?: string | null; signal?: AbortSignal } = {},
): Promise<Answer> => {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
  if (options.body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === "" ? undefined : JSON.parse(text) };
};

const labels = { "app.kubernetes.io/name": "shop", "devsim.dev/revision": "1" };
const deployment = (replicas: number | undefined, image = "registry.example.com/shop:1") => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "shop-r1", labels },
  spec: {
    ...(replicas === undefined ? {} : { replicas }),
    selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: { containers: [{ name: "app", image }] } },
  },
});
const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "devsim-shop" } };
const service = (type = "ClusterIP") => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "shop-r1" },
  spec: { type, selector: labels, ports: [{ port: 8080, targetPort: "http" }] },
});

/** A Scale asking for `replicas`, under the resourceVersion of the Scale read (or the one given). */
const scaleTo = (read: unknown, replicas: number, resourceVersion?: string) => ({
  apiVersion: "autoscaling/v1",
  kind: "Scale",
  metadata: {
    name: at(read, "metadata", "name"),
    namespace: at(read, "metadata", "namespace"),
    resourceVersion: resourceVersion ?? at(read, "metadata", "resourceVersion"),
  },
  spec: { replicas },
});

const apply = (
  fake: FakeKubernetes,
  path: string,
  body: unknown,
  query = "?fieldManager=devsim&force=true",
) => call(fake, "PATCH", `${path}${query}`, { body, contentType: APPLY });

const withNamespace = async (options: FakeKubernetesOptions = {}): Promise<FakeKubernetes> => {
  const fake = await start(options);
  expect((await apply(fake, NS, namespace)).status).toBe(201);
  return fake;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("fake Kubernetes API: server-side apply", () => {
  test("creates with 201, then answers 200; identical applies change no resourceVersion", async () => {
    const fake = await withNamespace();
    const created = await apply(fake, DEPLOYMENT, deployment(2));
    expect(created.status).toBe(201);
    expect(at(created.json, "metadata")).toMatchObject({
      name: "shop-r1",
      namespace: "devsim-shop",
      generation: 1,
      uid: expect.any(String),
      managedFields: [{ manager: "devsim", operation: "Apply", fieldsType: "FieldsV1" }],
    });
    expect(at(created.json, "spec")).toMatchObject({
      replicas: 2,
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
    });

    const same = await apply(fake, DEPLOYMENT, deployment(2));
    expect(same.status).toBe(200);
    expect(at(same.json, "metadata", "resourceVersion")).toBe(
      at(created.json, "metadata", "resourceVersion"),
    );
    expect(at(same.json, "metadata", "generation")).toBe(1);

    const changed = await apply(fake, DEPLOYMENT, deployment(2, "registry.example.com/shop:2"));
    expect(at(changed.json, "metadata", "generation")).toBe(2);
    expect(Number(at(changed.json, "metadata", "resourceVersion"))).toBeGreaterThan(
      Number(at(created.json, "metadata", "resourceVersion")),
    );
  });

  test("needs the apply content type, a field manager, and a body that names the URL's object", async () => {
    const fake = await withNamespace();
    const merge = await call(fake, "PATCH", `${DEPLOYMENT}?fieldManager=devsim`, {
      body: deployment(1),
      contentType: "application/merge-patch+json",
    });
    expect(merge.status).toBe(415);
    expect(merge.json).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "UnsupportedMediaType",
      code: 415,
    });

    const unmanaged = await apply(fake, DEPLOYMENT, deployment(1), "");
    expect(unmanaged.status).toBe(422);
    expect(at(unmanaged.json, "message")).toContain("fieldManager: Required value");

    expect(at((await apply(fake, DEPLOYMENT, { ...deployment(1), kind: "Service" })).json, "reason")).toBe(
      "BadRequest",
    );
    const renamed = await apply(fake, DEPLOYMENT, { ...deployment(1), metadata: { name: "other" } });
    expect(renamed).toMatchObject({ status: 400, json: { reason: "BadRequest" } });
    const notJson = await call(fake, "PATCH", `${DEPLOYMENT}?fieldManager=devsim`, {
      contentType: APPLY,
      body: "x",
    });
    expect(notJson.status).toBe(400);
    expect(fake.objects("Deployment")).toEqual([]);
  });

  test("refuses invalid objects with 422 Invalid, naming the fields", async () => {
    const fake = await withNamespace();
    const negative = await apply(fake, DEPLOYMENT, deployment(-1));
    expect(negative.status).toBe(422);
    expect(negative.json).toMatchObject({
      reason: "Invalid",
      details: { kind: "Deployment", causes: [{ field: "spec.replicas" }] },
    });
    expect(at(negative.json, "message")).toMatch(
      /^Deployment\.apps "shop-r1" is invalid: spec\.replicas: Invalid value/,
    );

    const body = deployment(1);
    const mismatched = { ...body, spec: { ...body.spec, selector: { matchLabels: { app: "other" } } } };
    expect(at((await apply(fake, DEPLOYMENT, mismatched)).json, "details", "causes", 0, "field")).toBe(
      "spec.template.metadata.labels",
    );
    const noPorts = { ...service(), spec: { ports: [] } };
    expect((await apply(fake, SERVICE, noPorts)).json).toMatchObject({
      code: 422,
      details: { causes: [{ field: "spec.ports" }] },
    });
  });

  test("a namespaced object needs its namespace", async () => {
    const fake = await start();
    const answer = await apply(fake, DEPLOYMENT, deployment(1));
    expect(answer).toMatchObject({
      status: 404,
      json: { reason: "NotFound", message: 'namespaces "devsim-shop" not found' },
    });
  });

  test("replicas set through the scale subresource conflict with an apply that is not forced", async () => {
    const fake = await withNamespace();
    await apply(fake, DEPLOYMENT, deployment(1));
    const scale = await call(fake, "GET", `${DEPLOYMENT}/scale`);
    await call(fake, "PUT", `${DEPLOYMENT}/scale?fieldManager=kubectl`, {
      body: scaleTo(scale.json, 5),
    });

    const unforced = await apply(fake, DEPLOYMENT, deployment(2), "?fieldManager=devsim");
    expect(unforced.status).toBe(409);
    expect(at(unforced.json, "message")).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas',
    );

    const omitted = await apply(fake, DEPLOYMENT, deployment(undefined), "?fieldManager=devsim");
    expect(at(omitted.json, "spec", "replicas")).toBe(5);

    const forced = await apply(fake, DEPLOYMENT, deployment(2));
    expect(forced.status).toBe(200);
    expect(at(forced.json, "spec", "replicas")).toBe(2);
  });

  test("a Service gets a cluster IP, and a LoadBalancer one an address after a while", async () => {
    const fake = await withNamespace({ loadBalancerAfterMs: 100 });
    const created = await apply(fake, SERVICE, service("LoadBalancer"));
    expect(at(created.json, "spec", "clusterIP")).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(at(created.json, "status")).toEqual({ loadBalancer: {} });
    await sleep(120);
    expect(at((await call(fake, "GET", SERVICE)).json, "status", "loadBalancer", "ingress")).toEqual([
      { ip: expect.stringMatching(/^203\.0\.113\.\d+$/), ipMode: "VIP" },
    ]);
  });
});

describe("fake Kubernetes API: Deployment status", () => {
  test("moves from unobserved to ready over time, as the controller would write it", async () => {
    const fake = await withNamespace({ observeMs: 50, readyAfterMs: 150 });
    await apply(fake, DEPLOYMENT, deployment(3));
    expect(at((await call(fake, "GET", DEPLOYMENT)).json, "status")).toEqual({});

    await sleep(70);
    const observed = at((await call(fake, "GET", DEPLOYMENT)).json, "status");
    expect(observed).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      unavailableReplicas: 3,
    });
    expect(at(observed, "readyReplicas")).toBeUndefined();
    expect(at(observed, "conditions")).toContainEqual(
      expect.objectContaining({ type: "Progressing", status: "True", reason: "ReplicaSetUpdated" }),
    );

    await sleep(120);
    const ready = at((await call(fake, "GET", DEPLOYMENT)).json, "status");
    expect(ready).toMatchObject({ observedGeneration: 1, readyReplicas: 3, availableReplicas: 3 });
    expect(at(ready, "conditions")).toEqual([
      expect.objectContaining({ type: "Available", status: "True", reason: "MinimumReplicasAvailable" }),
      expect.objectContaining({ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }),
    ]);
  });

  test("a stalled image passes its progress deadline", async () => {
    const fake = await withNamespace({ observeMs: 0 });
    fake.stall("registry.example.com/shop:bad");
    const body = deployment(1, "registry.example.com/shop:bad");
    await apply(fake, DEPLOYMENT, { ...body, spec: { ...body.spec, progressDeadlineSeconds: 1 } });
    await sleep(1_050);
    expect(at((await call(fake, "GET", DEPLOYMENT)).json, "status", "conditions")).toContainEqual(
      expect.objectContaining({ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }),
    );
  });
});

describe("fake Kubernetes API: scale subresource", () => {
  test("reads the Scale and writes it under the Deployment's resourceVersion", async () => {
    const fake = await withNamespace();
    const created = await apply(fake, DEPLOYMENT, deployment(1));
    const scale = await call(fake, "GET", `${DEPLOYMENT}/scale`);
    expect(scale.json).toMatchObject({
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: { name: "shop-r1", resourceVersion: at(created.json, "metadata", "resourceVersion") },
      spec: { replicas: 1 },
      status: { selector: "app.kubernetes.io/name=shop,devsim.dev/revision=1" },
    });

    const stale = scaleTo(scale.json, 3, "1");
    const refused = await call(fake, "PUT", `${DEPLOYMENT}/scale`, { body: stale });
    expect(refused).toMatchObject({ status: 409, json: { reason: "Conflict" } });
    expect(at(refused.json, "message")).toContain("the object has been modified");

    const written = await call(fake, "PUT", `${DEPLOYMENT}/scale`, {
      body: scaleTo(scale.json, 3),
    });
    expect(written).toMatchObject({ status: 200, json: { spec: { replicas: 3 } } });
    expect(fake.object("Deployment", "devsim-shop", "shop-r1")).toMatchObject({
      metadata: { generation: 2 },
      spec: { replicas: 3 },
    });
    const negative = await call(fake, "PUT", `${DEPLOYMENT}/scale`, {
      body: scaleTo(scale.json, -1),
    });
    expect(negative).toMatchObject({ status: 422, json: { reason: "Invalid" } });
  });

  test("the Scale of a missing Deployment is 404", async () => {
    const fake = await withNamespace();
    expect((await call(fake, "GET", `${DEPLOYMENT}/scale`)).json).toMatchObject({
      code: 404,
      message: 'deployments.apps "shop-r1" not found',
    });
  });
});

describe("fake Kubernetes API: deletion", () => {
  test("foreground deletion keeps the Deployment, marked, until its pods have gone", async () => {
    const fake = await withNamespace({ terminationMs: 100 });
    await apply(fake, DEPLOYMENT, deployment(1));
    const deleting = await call(fake, "DELETE", DEPLOYMENT, {
      body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" },
    });
    expect(deleting.status).toBe(200);
    expect(at(deleting.json, "metadata")).toMatchObject({
      deletionTimestamp: expect.any(String),
      finalizers: ["foregroundDeletion"],
    });
    expect((await call(fake, "GET", DEPLOYMENT)).status).toBe(200);
    await sleep(120);
    expect((await call(fake, "GET", DEPLOYMENT)).status).toBe(404);
  });

  test("other deletions are immediate and answer a Status", async () => {
    const fake = await withNamespace();
    await apply(fake, DEPLOYMENT, deployment(1));
    await apply(fake, SERVICE, service());
    const gone = await call(fake, "DELETE", `${DEPLOYMENT}?propagationPolicy=Background`);
    expect(gone.json).toMatchObject({
      kind: "Status",
      status: "Success",
      details: { name: "shop-r1", group: "apps" },
    });
    expect((await call(fake, "DELETE", SERVICE, { body: { propagationPolicy: "Foreground" } })).status).toBe(
      200,
    );
    expect(fake.objects("Deployment")).toEqual([]);
    expect(fake.objects("Service")).toEqual([]);
    expect((await call(fake, "DELETE", SERVICE)).status).toBe(404);
  });
});

describe("fake Kubernetes API: nodes", () => {
  const pool = (name: string, zone: string) => ({
    name,
    labels: {
      "cloud.google.com/gke-nodepool": name.split("-")[0] ?? "",
      "topology.kubernetes.io/zone": zone,
    },
  });
  const names = (list: unknown): unknown[] =>
    ((at(list, "items") as unknown[] | undefined) ?? []).map((n) => at(n, "metadata", "name"));

  test("lists the nodes a test registered as a NodeList, filtered by label selector", async () => {
    const fake = await start();
    fake.setNodes([
      pool("web-b", "europe-west1-b"),
      pool("web-c", "europe-west1-c"),
      pool("batch-b", "europe-west1-b"),
    ]);
    const all = await call(fake, "GET", "/api/v1/nodes");
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({
      kind: "NodeList",
      apiVersion: "v1",
      metadata: { resourceVersion: expect.any(String) },
    });
    // Sorted by name, as etcd keys are; list items carry no kind of their own.
    expect(names(all.json)).toEqual(["batch-b", "web-b", "web-c"]);
    expect(at(all.json, "items", 0, "kind")).toBeUndefined();
    expect(at(all.json, "items", 0, "metadata", "labels")).toEqual({
      "cloud.google.com/gke-nodepool": "batch",
      "topology.kubernetes.io/zone": "europe-west1-b",
      "kubernetes.io/hostname": "batch-b",
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
    });
    expect(at(all.json, "items", 0, "status", "conditions", 0)).toMatchObject({
      type: "Ready",
      status: "True",
    });

    const selector = (s: string) => call(fake, "GET", `/api/v1/nodes?labelSelector=${encodeURIComponent(s)}`);
    expect(names((await selector("cloud.google.com/gke-nodepool=web")).json)).toEqual(["web-b", "web-c"]);
    expect(
      names(
        (await selector("cloud.google.com/gke-nodepool==web,topology.kubernetes.io/zone!=europe-west1-b"))
          .json,
      ),
    ).toEqual(["web-c"]);
    expect(names((await selector("cloud.google.com/gke-nodepool in (batch, other)")).json)).toEqual([
      "batch-b",
    ]);
    expect(names((await selector("cloud.google.com/gke-nodepool notin (batch)")).json)).toEqual([
      "web-b",
      "web-c",
    ]);
    expect(names((await selector("!topology.kubernetes.io/zone")).json)).toEqual([]);
    expect(names((await selector("cloud.google.com/gke-nodepool=gone")).json)).toEqual([]);
    expect(await selector("a=b=c")).toMatchObject({
      status: 400,
      json: { kind: "Status", reason: "BadRequest" },
    });
  });

  test("pages a list by limit and continue, counting what is left", async () => {
    const fake = await start();
    fake.setNodes(["n1", "n2", "n3", "n4", "n5"].map((name) => ({ name })));
    const first = await call(fake, "GET", "/api/v1/nodes?limit=2");
    expect(names(first.json)).toEqual(["n1", "n2"]);
    expect(at(first.json, "metadata", "remainingItemCount")).toBe(3);
    const token = String(at(first.json, "metadata", "continue"));
    const second = await call(fake, "GET", `/api/v1/nodes?limit=2&continue=${encodeURIComponent(token)}`);
    expect(names(second.json)).toEqual(["n3", "n4"]);
    const third = await call(
      fake,
      "GET",
      `/api/v1/nodes?limit=2&continue=${encodeURIComponent(String(at(second.json, "metadata", "continue")))}`,
    );
    expect(names(third.json)).toEqual(["n5"]);
    expect(at(third.json, "metadata", "continue")).toBeUndefined();
    expect((await call(fake, "GET", "/api/v1/nodes?continue=not-a-token")).status).toBe(400);
  });

  test("setNodes registers, keeps and removes nodes; a node reads by name; nodes are read only", async () => {
    const fake = await start();
    fake.setNodes([{ name: "n1" }, { name: "n2", ready: false }]);
    const n1 = await call(fake, "GET", "/api/v1/nodes/n1");
    expect(n1.json).toMatchObject({ kind: "Node", apiVersion: "v1", metadata: { name: "n1" } });
    expect(at((await call(fake, "GET", "/api/v1/nodes/n2")).json, "status", "conditions", 0, "status")).toBe(
      "False",
    );

    fake.setNodes([{ name: "n1" }, { name: "n3", providerID: "gce://p/europe-west1-b/n3" }]);
    expect(at((await call(fake, "GET", "/api/v1/nodes/n1")).json, "metadata", "uid")).toBe(
      at(n1.json, "metadata", "uid"),
    );
    expect((await call(fake, "GET", "/api/v1/nodes/n2")).json).toMatchObject({
      code: 404,
      reason: "NotFound",
    });
    expect(fake.object("Node", null, "n3")).toMatchObject({
      spec: { providerID: "gce://p/europe-west1-b/n3" },
    });
    expect(fake.objects("Node")).toHaveLength(2);
    expect((await call(fake, "DELETE", "/api/v1/nodes/n1")).status).toBe(405);
    expect(at((await call(fake, "GET", "/api/v1")).json, "resources")).toContainEqual(
      expect.objectContaining({ name: "nodes", kind: "Node", verbs: ["get", "list"] }),
    );
  });
});

describe("fake Kubernetes API: access, discovery and recording", () => {
  test("refuses requests without an accepted bearer token", async () => {
    const fake = await start();
    const anonymous = await call(fake, "GET", "/version", { token: null });
    expect(anonymous).toMatchObject({
      status: 401,
      json: { kind: "Status", reason: "Unauthorized", code: 401 },
    });
    expect((await call(fake, "GET", "/version", { token: "stolen" })).status).toBe(401);
    expect((await call(fake, "GET", "/version")).json).toMatchObject({
      major: "1",
      gitVersion: expect.any(String),
    });
  });

  test("serves discovery and answers unknown paths with a Status", async () => {
    const fake = await start();
    expect(at((await call(fake, "GET", "/api")).json, "versions")).toEqual(["v1"]);
    expect(at((await call(fake, "GET", "/apis")).json, "groups", 0, "name")).toBe("apps");
    expect(at((await call(fake, "GET", "/apis/apps/v1/")).json, "resources")).toEqual([
      expect.objectContaining({ name: "deployments" }),
      expect.objectContaining({ name: "deployments/scale" }),
    ]);
    expect((await call(fake, "GET", "/apis/batch/v1/jobs")).json).toMatchObject({
      code: 404,
      reason: "NotFound",
    });
    expect((await call(fake, "POST", "/version", { body: {} })).status).toBe(405);
  });

  test("records every request with its query, content type, body, answer and Audit-Id", async () => {
    const fake = await start();
    const answer = await apply(fake, NS, namespace);
    expect(fake.requests).toEqual([
      {
        method: "PATCH",
        path: NS,
        query: { fieldManager: "devsim", force: "true" },
        contentType: APPLY,
        authorization: `Bearer ${TOKEN}`,
        userAgent: expect.any(String),
        body: namespace,
        status: 201,
        auditId: answer.headers.get("audit-id"),
      },
    ]);
  });
});

describe("fake Kubernetes API: faults, counted in calls", () => {
  test("throttling answers 429 with Retry-After for as many calls as injected", async () => {
    const fake = await start({ retryAfterSeconds: 2 });
    await fake.faults.inject("throttle", 2);
    for (let i = 0; i < 2; i += 1) {
      const throttled = await call(fake, "GET", "/version");
      expect(throttled).toMatchObject({
        status: 429,
        json: { reason: "TooManyRequests", details: { retryAfterSeconds: 2 } },
      });
      expect(throttled.headers.get("retry-after")).toBe("2");
    }
    expect((await call(fake, "GET", "/version")).status).toBe(200);
  });

  test("server errors alternate 500 and 503", async () => {
    const fake = await start();
    await fake.faults.inject("server-error", 2);
    expect(at((await call(fake, "GET", "/version")).json, "reason")).toBe("InternalError");
    expect((await call(fake, "GET", "/version")).json).toMatchObject({
      code: 503,
      reason: "ServiceUnavailable",
    });
    expect((await call(fake, "GET", "/version")).status).toBe(200);
  });

  test("a timeout holds the answer back until the client gives up", async () => {
    const fake = await start();
    await fake.faults.inject("timeout", 1);
    await expect(call(fake, "GET", "/version", { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect(fake.requests[0]?.status).toBeNull();
    expect((await call(fake, "GET", "/version")).status).toBe(200);
  });

  test("a conflict hits the next writes and moves the object's resourceVersion on", async () => {
    const fake = await withNamespace();
    const created = await apply(fake, DEPLOYMENT, deployment(1));
    await fake.faults.inject("conflict", 1);
    expect((await call(fake, "GET", DEPLOYMENT)).status).toBe(200);
    expect((await apply(fake, DEPLOYMENT, deployment(2))).json).toMatchObject({
      code: 409,
      reason: "Conflict",
    });
    const after = await call(fake, "GET", DEPLOYMENT);
    expect(at(after.json, "spec", "replicas")).toBe(1);
    expect(at(after.json, "metadata", "resourceVersion")).not.toBe(
      at(created.json, "metadata", "resourceVersion"),
    );
    expect((await apply(fake, DEPLOYMENT, deployment(2))).status).toBe(200);
  });

  test("eventual consistency hides a Deployment created since, for as many reads as injected", async () => {
    const fake = await withNamespace();
    await apply(fake, DEPLOYMENT, deployment(1));
    await fake.faults.inject("eventual-consistency", 2);
    expect((await call(fake, "GET", DEPLOYMENT)).status).toBe(200);

    const fresh = "/apis/apps/v1/namespaces/devsim-shop/deployments/shop-r2";
    const body = deployment(1);
    await apply(fake, fresh, { ...body, metadata: { ...body.metadata, name: "shop-r2" } });
    expect((await call(fake, "GET", fresh)).status).toBe(404);
    expect((await call(fake, "GET", `${fresh}/scale`)).status).toBe(404);
    expect((await call(fake, "GET", fresh)).status).toBe(200);
  });

  test("clear ends every fault", async () => {
    const fake = await start();
    await fake.faults.inject("throttle", 5);
    await fake.faults.clear();
    expect((await call(fake, "GET", "/version")).status).toBe(200);
  });
});

describe("devsimRawReader", () => {
  test("finds a revision's Deployment by its labels; one being deleted or of another workload does not count", async () => {
    const fake = await withNamespace({ terminationMs: 60_000 });
    const raw = devsimRawReader(() => fake);
    const target = { workload: "shop", cloud: "gcp", region: "europe-west1" } as const;
    expect(await raw.readDeployment(target, 1)).toBeNull();

    await apply(fake, DEPLOYMENT, deployment(2));
    const otherLabels = { "app.kubernetes.io/name": "cart", "devsim.dev/revision": "1" };
    const other = deployment(1);
    await apply(fake, "/apis/apps/v1/namespaces/devsim-shop/deployments/cart-r1", {
      ...other,
      metadata: { name: "cart-r1", labels: otherLabels },
      spec: {
        ...other.spec,
        selector: { matchLabels: otherLabels },
        template: { ...other.spec.template, metadata: { labels: otherLabels } },
      },
    });
    expect(await raw.readDeployment(target, 1)).toEqual({
      image: "registry.example.com/shop:1",
      replicas: 2,
    });
    expect(await raw.countDeployments?.(target)).toBe(1);

    await call(fake, "DELETE", DEPLOYMENT, { body: { propagationPolicy: "Foreground" } });
    expect(fake.object("Deployment", "devsim-shop", "shop-r1")).toBeDefined();
    expect(await raw.readDeployment(target, 1)).toBeNull();
    expect(await raw.countDeployments?.(target)).toBe(0);
  });
});
