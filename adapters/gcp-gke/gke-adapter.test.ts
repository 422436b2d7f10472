import { OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestTls, startTlsFront } from "../../test/fakes/cloud-api.ts";
import { type GkeFake, startGkeFake } from "../../test/fakes/gke.ts";
import { devsimRawReader, type FakeKubernetes, startFakeKubernetes } from "../../test/fakes/kubernetes.ts";
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

/** A fake GKE API whose cluster endpoint is a fake Kubernetes API behind TLS, accepting the same access token. */
const world = async () => {
  const gke = await startGkeFake({ throttleRetrySeconds: 0, operationPolls: 1 });
  const kube = await startFakeKubernetes({ tokens: [gke.token], readyAfterMs: 50 });
  const tls = createTestTls();
  const front = await startTlsFront(kube.url, tls);
  gke.addCluster({
    project: PROJECT,
    location: "europe-west1",
    name: "gke-euw1",
    endpoint: front.host,
    clusterCaCertificate: Buffer.from(tls.ca).toString("base64"),
  });
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
  return { gke, kube, config, auth: { authClient: authClient(gke.token) }, close };
};

const target: DeploymentTarget = { workload: "contract", cloud: "gcp", region: "europe-west1" };

runManagedKubernetesContract({
  name: "gcp-gke",
  target,
  revision,
  world,
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

  test("scaleNodePool is exposed beside the port", async () => {
    await createGkeAdapter(w.config, w.auth).scaleNodePool("europe-west1", "default-pool", 6);
    expect(gke.cluster(PROJECT, "europe-west1", "gke-euw1")?.nodePools[0]?.nodeCount).toBe(6);
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
