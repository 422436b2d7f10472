import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { OAuth2Client } from "google-auth-library";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import { createTestTls, startTlsFront, type TlsFront } from "../../test/fakes/cloud-api.ts";
import { type FakeGkeCluster, type GkeFake, startGkeFake } from "../../test/fakes/gke.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../../test/fakes/kubernetes.ts";
import type { DeploymentTarget, RevisionSpec } from "../port.ts";
import { check } from "./check.ts";
import { createGkeClusters } from "./clusters.ts";
import { type ControlPlaneEndpoint, GkeConfig, type GkeConfigInput } from "./config.ts";
import { ControlPlaneEndpointError, controlPlaneAddress } from "./control-plane.ts";
import { createGkeAdapter } from "./gke-adapter.ts";

const PROJECT = "shop-prod-42";
const CLUSTER = `projects/${PROJECT}/locations/europe-west1/clusters/gke-euw1`;
const ENDPOINTS: readonly ControlPlaneEndpoint[] = ["public", "private", "dns"];

const revision: RevisionSpec = {
  number: 2,
  image: "europe-docker.pkg.dev/shop-prod-42/web/web:2.0.0",
  port: 8080,
  healthPath: "/healthz",
  sim: null,
};
const target: DeploymentTarget = { workload: "reach", cloud: "gcp", region: "europe-west1" };

/** Stands in for Google's token service, which cannot run here: an already-issued access token. */
const authClient = (token: string): OAuth2Client => {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return client;
};

/**
 * Runs `fn` while this process trusts the test CA as it trusts the public CAs, as a machine trusts
 * the certificate of GKE's DNS endpoint without being told of it.
 */
const trustingTestCaSystemWide = async <T>(ca: string, fn: () => Promise<T>): Promise<T> => {
  const before = getCACertificates("default");
  setDefaultCACertificates([...before, ca]);
  try {
    return await fn();
  } finally {
    setDefaultCACertificates(before);
  }
};

describe("GKE: the control plane endpoint each cluster is reached by", () => {
  let gke: GkeFake;
  let cluster: FakeGkeCluster;
  // One fake Kubernetes API per endpoint, each behind its own TLS front on its own port: the API that
  // received the requests tells which of the addresses GKE reported the adapter went to.
  const kubes = {} as Record<ControlPlaneEndpoint, FakeKubernetes>;
  const fronts = {} as Record<ControlPlaneEndpoint, TlsFront>;
  const tls = createTestTls();

  beforeAll(async () => {
    gke = await startGkeFake({ throttleRetrySeconds: 0 });
    for (const endpoint of ENDPOINTS) {
      kubes[endpoint] = await startFakeKubernetes({ tokens: [gke.token], readyAfterMs: 20 });
      fronts[endpoint] = await startTlsFront(kubes[endpoint].url, tls);
    }
    cluster = gke.addCluster({
      project: PROJECT,
      location: "europe-west1",
      name: "gke-euw1",
      endpoint: fronts.public.host,
      privateEndpoint: fronts.private.host,
      dnsEndpoint: fronts.dns.host,
      dnsAllowExternalTraffic: true,
      clusterCaCertificate: Buffer.from(tls.ca).toString("base64"),
    });
    gke.addCluster({
      project: PROJECT,
      location: "us-central1-a",
      name: "gke-usc1",
      endpoint: "198.51.100.8",
      dnsEndpoint: "gke-usc1.us-central1.gke.goog",
      dnsAllowExternalTraffic: true,
    });
  });
  afterAll(async () => {
    await Promise.all([
      gke?.close(),
      ...Object.values(fronts).map((f) => f.close()),
      ...Object.values(kubes).map((k) => k.close()),
    ]);
  });
  afterEach(() => {
    Object.assign(cluster, {
      status: "RUNNING",
      privateEndpoint: fronts.private.host,
      dnsEndpoint: fronts.dns.host,
      ipEndpointsEnabled: true,
      publicEndpointEnabled: true,
      dnsAllowExternalTraffic: true,
    });
    gke.requests.length = 0;
    for (const kube of Object.values(kubes)) kube.requests.length = 0;
  });

  const config = (
    over: Partial<GkeConfigInput> = {},
    own: ControlPlaneEndpoint | undefined = undefined,
  ): GkeConfigInput => ({
    projectId: PROJECT,
    clusters: [
      { region: "europe-west1", name: "gke-euw1", ...(own ? { controlPlaneEndpoint: own } : {}) },
      { region: "us-central1", location: "us-central1-a", name: "gke-usc1" },
    ],
    endpoint: gke.url,
    retry: { baseMs: 1, maxMs: 5 },
    kubernetes: { timeoutMs: 2_000, retry: { attempts: 1 } },
    ...over,
  });
  /** The configuration with europe-west1's cluster alone. */
  const euw1Only = (over: Partial<GkeConfigInput> = {}, own?: ControlPlaneEndpoint): GkeConfigInput => ({
    ...config(over, own),
    clusters: config(over, own).clusters?.slice(0, 1) ?? [],
  });
  const auth = () => ({ authClient: authClient(gke.token) });
  const clusters = (over: Partial<GkeConfigInput> = {}, own?: ControlPlaneEndpoint) =>
    createGkeClusters(GkeConfig.parse(config(over, own)), auth());
  /** Which fake Kubernetes APIs got requests. */
  const reached = (): ControlPlaneEndpoint[] => ENDPOINTS.filter((e) => kubes[e].requests.length > 0);

  test("the setting is `public` unless set, and takes only public, private and dns", () => {
    expect(GkeConfig.parse(config()).controlPlaneEndpoint).toBe("public");
    const wrong = GkeConfig.safeParse(config({ controlPlaneEndpoint: "internal" as ControlPlaneEndpoint }));
    expect(wrong.error?.issues[0]?.path).toEqual(["controlPlaneEndpoint"]);
    const wrongOwn = GkeConfig.safeParse(config({}, "psc" as ControlPlaneEndpoint));
    expect(wrongOwn.error?.issues[0]?.path).toEqual(["clusters", 0, "controlPlaneEndpoint"]);
  });

  test("access: the address GKE reports for each endpoint; the cluster CA pinned for the IP ones only", async () => {
    const ca = Buffer.from(tls.ca).toString("base64");
    const of = async (endpoint: ControlPlaneEndpoint) => {
      const { name, server, caData } = await clusters({ controlPlaneEndpoint: endpoint }).access(
        "europe-west1",
      );
      return { name, server, caData };
    };
    expect(await of("public")).toEqual({ name: "gke-euw1", server: fronts.public.url, caData: ca });
    expect(await of("private")).toEqual({ name: "gke-euw1", server: fronts.private.url, caData: ca });
    expect(await of("dns")).toEqual({ name: "gke-euw1", server: fronts.dns.url, caData: undefined });
    // The three differ, so each answer above came from its own field of the Cluster.
    expect(new Set(ENDPOINTS.map((e) => fronts[e].url)).size).toBe(3);
  });

  test("a cluster's own choice overrides the default, which the other clusters keep", async () => {
    const c = clusters({ controlPlaneEndpoint: "dns" }, "private");
    expect((await c.access("europe-west1")).server).toBe(fronts.private.url);
    expect((await c.access("us-central1")).server).toBe("https://gke-usc1.us-central1.gke.goog");
  });

  test.each(["public", "private"] as const)(
    "%s: a deploy reaches the Kubernetes API at that address, verified by the cluster CA",
    async (endpoint) => {
      const adapter = createGkeAdapter(config({ controlPlaneEndpoint: endpoint }), auth());
      await adapter.deploy(target, revision, 1);
      expect(reached()).toEqual([endpoint]);
      for (const r of kubes[endpoint].requests) expect(r.authorization).toBe(`Bearer ${gke.token}`);
      expect(kubes[endpoint].object("Deployment", "devsim-reach", "reach-r2")).toMatchObject({
        spec: { replicas: 1 },
      });
      await adapter.remove(target, revision.number);
    },
  );

  test("dns: a deploy reaches the Kubernetes API at the DNS endpoint, verified by the system's trust store, not the cluster CA", async () => {
    // The DNS front's certificate is signed by the test CA, which the cluster CA also is: only the
    // system's trust store decides. Until it trusts the test CA the endpoint is refused, which shows
    // that no CA was pinned for it.
    const untrusted = createGkeAdapter(config({ controlPlaneEndpoint: "dns" }), auth());
    expect(await untrusted.regions()).toEqual([
      { region: "europe-west1", available: false },
      { region: "us-central1", available: false },
    ]);
    expect(reached()).toEqual([]);

    await trustingTestCaSystemWide(tls.ca, async () => {
      const adapter = createGkeAdapter(config({ controlPlaneEndpoint: "dns" }), auth());
      await adapter.deploy(target, revision, 1);
      expect(reached()).toEqual(["dns"]);
      for (const r of kubes.dns.requests) expect(r.authorization).toBe(`Bearer ${gke.token}`);
      await adapter.remove(target, revision.number);
    });
  });

  const refusals: readonly {
    readonly endpoint: ControlPlaneEndpoint;
    readonly cluster: Partial<FakeGkeCluster>;
    readonly problem: string;
    readonly fix: string;
  }[] = [
    {
      endpoint: "public",
      cluster: { publicEndpointEnabled: false },
      problem:
        "its public endpoint is disabled (controlPlaneEndpointsConfig.ipEndpointsConfig.enablePublicEndpoint is false)",
      fix: "--no-enable-private-endpoint",
    },
    {
      endpoint: "public",
      cluster: { ipEndpointsEnabled: false },
      problem: "its IP endpoints are disabled",
      fix: "--enable-ip-access",
    },
    {
      endpoint: "private",
      cluster: { ipEndpointsEnabled: false },
      problem: "its IP endpoints are disabled",
      fix: 'set `controlPlaneEndpoint` to "dns"',
    },
    {
      endpoint: "private",
      cluster: { privateEndpoint: undefined },
      problem: "GKE reports no private endpoint",
      fix: 'set `controlPlaneEndpoint` to "public" or "dns"',
    },
    {
      endpoint: "dns",
      cluster: { dnsEndpoint: undefined },
      problem: "GKE reports no DNS endpoint",
      fix: "gcloud container clusters update gke-euw1 --location europe-west1 --project shop-prod-42 --enable-dns-access",
    },
    {
      endpoint: "dns",
      cluster: { dnsAllowExternalTraffic: false },
      problem: "its DNS endpoint does not allow external traffic",
      fix: "--enable-dns-access",
    },
  ];

  test.each(refusals)(
    "$endpoint with $cluster: invalid, naming the cluster, what is off and the fix",
    async ({ endpoint, cluster: change, problem, fix }) => {
      Object.assign(cluster, change);
      const error = await clusters({}, endpoint)
        .access("europe-west1")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ControlPlaneEndpointError);
      expect(error).toBeInstanceOf(AdapterError);
      expect(error).toMatchObject({
        failure: "invalid",
        cloud: "gcp",
        endpoint,
        problem: expect.stringContaining(problem),
        fix: expect.stringContaining(fix),
      });
      const { message, problem: said, fix: told } = error as ControlPlaneEndpointError;
      expect(message).toBe(`gcp-gke: cluster ${CLUSTER}: ${said}. ${told}`);
      // A refusal comes from what GKE reported, so asking again would not change it.
      expect(gke.requests).toHaveLength(1);
    },
  );

  test("with its public endpoint disabled, `endpoint` is the private IP, which `public` does not take", async () => {
    cluster.publicEndpointEnabled = false;
    await expect(clusters().access("europe-west1")).rejects.toBeInstanceOf(ControlPlaneEndpointError);
    expect((await clusters({}, "private").access("europe-west1")).server).toBe(fronts.private.url);
    // GKE still reports the cluster serving, but it cannot take deployments by that endpoint.
    expect(await createGkeAdapter(euw1Only(), auth()).regions()).toEqual([
      { region: "europe-west1", available: false },
    ]);
    expect(reached()).toEqual([]);
  });

  test("a cluster still PROVISIONING, without the endpoint yet, is unavailable, not misconfigured", async () => {
    Object.assign(cluster, { status: "PROVISIONING", dnsEndpoint: undefined });
    const error = await clusters({}, "dns")
      .access("europe-west1")
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ControlPlaneEndpointError);
    expect(error).toMatchObject({ failure: "unavailable", message: expect.stringContaining("PROVISIONING") });
  });

  test("check: the chosen endpoint on the cluster's line, and one that is off with its fix", async () => {
    /** The lines after the credentials'. */
    const gcpLines = async (over: Partial<GkeConfigInput>, own?: ControlPlaneEndpoint) =>
      (await check(euw1Only(over, own), auth())).slice(1);

    // The default goes unsaid, so the usual lines read as before.
    expect(await gcpLines({})).toEqual([
      { target: "gcp europe-west1: GKE cluster europe-west1/gke-euw1", ok: true },
      { target: "gcp europe-west1: Kubernetes API", ok: true },
    ]);
    expect(await gcpLines({}, "private")).toEqual([
      { target: "gcp europe-west1: GKE cluster europe-west1/gke-euw1 (private endpoint)", ok: true },
      { target: "gcp europe-west1: Kubernetes API", ok: true },
    ]);

    cluster.dnsAllowExternalTraffic = false;
    expect(await gcpLines({ controlPlaneEndpoint: "dns" })).toEqual([
      {
        target: "gcp europe-west1: GKE cluster europe-west1/gke-euw1 (dns endpoint)",
        ok: false,
        problem:
          "its DNS endpoint does not allow external traffic (controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic is not true)",
        fix:
          "Allow it with `gcloud container clusters update gke-euw1 --location europe-west1 --project shop-prod-42 --enable-dns-access`, " +
          'or set `controlPlaneEndpoint` to "public" or "private" (the cluster\'s own under `clusters`, or the default at the top level)',
      },
    ]);

    cluster.publicEndpointEnabled = false;
    expect(await gcpLines({})).toEqual([
      expect.objectContaining({
        target: "gcp europe-west1: GKE cluster europe-west1/gke-euw1 (public endpoint)",
        ok: false,
        problem: expect.stringContaining("its public endpoint is disabled"),
        fix: expect.stringContaining("--no-enable-private-endpoint"),
      }),
    ]);
  });
});

describe("controlPlaneAddress on a cluster reported without controlPlaneEndpointsConfig", () => {
  // Older answers carry the endpoints only in `endpoint` and the deprecated `privateClusterConfig`.
  const ref = { project: PROJECT, location: "europe-west1", name: "gke-euw1" };
  const legacy = {
    status: "RUNNING",
    endpoint: "203.0.113.10",
    masterAuth: { clusterCaCertificate: "Q0EgUEVN" },
    privateClusterConfig: { privateEndpoint: "10.128.0.2", publicEndpoint: "203.0.113.10" },
  } as const;

  test("public and private come from there; dns is missing", () => {
    expect(controlPlaneAddress(legacy, ref, "public")).toEqual({
      server: "https://203.0.113.10",
      caData: "Q0EgUEVN",
    });
    expect(controlPlaneAddress(legacy, ref, "private")).toEqual({
      server: "https://10.128.0.2",
      caData: "Q0EgUEVN",
    });
    expect(() => controlPlaneAddress(legacy, ref, "dns")).toThrow(/GKE reports no DNS endpoint/);
  });

  test("enablePrivateEndpoint disables the public endpoint, `endpoint` being then the private IP", () => {
    const privateOnly = {
      ...legacy,
      endpoint: "10.128.0.2",
      privateClusterConfig: { enablePrivateEndpoint: true, privateEndpoint: "10.128.0.2" },
    };
    expect(() => controlPlaneAddress(privateOnly, ref, "public")).toThrow(
      "its public endpoint is disabled (privateClusterConfig.enablePrivateEndpoint is true)",
    );
    expect(controlPlaneAddress(privateOnly, ref, "private").server).toBe("https://10.128.0.2");
  });
});
