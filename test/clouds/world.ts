import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudsFileInput } from "../../packages/config/clouds/schema.ts";
import { type AzureArmFake, aksUserKubeconfig, startAzureArmFake } from "../fakes/azure-arm.ts";
import { createTestTls, startTlsFront, type TlsFront } from "../fakes/cloud-api.ts";
import { type DigitalOceanFake, startDigitalOceanFake } from "../fakes/digitalocean.ts";
import { ECS_TEST_CREDENTIALS, type EcsFake, startEcsFake } from "../fakes/ecs.ts";
import { type GkeFake, startGkeFake } from "../fakes/gke.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes.ts";
import { startAppServiceIdentity, startGceMetadata, type TokenService } from "./identity.ts";

// All four real clouds on their fakes at once, each configured the way a clouds file would, and the
// environment a devsim process needs to find their credentials through the standard chains.

export const SUBSCRIPTION = "00000000-0000-0000-0000-00000000c0de";
export const PROJECT = "shop-prod-42";
const AKS_USER_TOKEN = "aks-cluster-user-token";
const DOKS_CLUSTER_TOKEN = "doks-cluster-token-fra1";

export interface CloudWorldOptions {
  /** The ECS regions, each with the cluster `devsim` and a target in the clouds file. Default us-east-1. */
  readonly awsRegions?: readonly string[];
  /**
   * Gives the AKS, GKE and DOKS clusters a Kubernetes API server each, as real clusters have, so the
   * same workload on two of them is two Deployments. Default false: one server serves all three.
   */
  readonly apiServerPerCluster?: boolean;
}

/** The clouds whose clusters are Kubernetes. */
export type KubernetesCloud = "azure" | "gcp" | "digitalocean";

export interface CloudWorld {
  readonly ecs: EcsFake;
  readonly arm: AzureArmFake;
  readonly gke: GkeFake;
  readonly digitalocean: DigitalOceanFake;
  /** The fake Kubernetes API behind TLS of the AKS cluster; unless `apiServerPerCluster`, GKE's and DOKS's too. */
  readonly kube: FakeKubernetes;
  /** The fake Kubernetes API of each cloud's cluster. */
  readonly kubes: Readonly<Record<KubernetesCloud, FakeKubernetes>>;
  /** A clouds file configuring all four clouds on their fakes. */
  readonly clouds: CloudsFileInput;
  /** What a devsim process needs to find every cloud's credentials, and nothing of this machine's. */
  readonly env: Record<string, string>;
  /** A folder for files of the test, removed by `close`. */
  readonly dir: string;
  /** Writes `content` as JSON to a file in `dir` and returns its path. */
  writeJson(name: string, content: unknown): Promise<string>;
  close(): Promise<void>;
}

/** The kubeconfig AKS hands out for local accounts: the API server over TLS, its CA, a user token. */
const userKubeconfig = (server: string, ca: string): string =>
  aksUserKubeconfig({
    cluster: "aks-weu",
    user: "clusterUser_shop_aks-weu",
    server,
    ca,
    token: AKS_USER_TOKEN,
  });

/** The endpoint pattern of an ECS region's deployments; us-east-1 keeps its short name. */
const ecsUrlPattern = (region: string): string =>
  `https://{workload}-r{revision}.${region === "us-east-1" ? "use1" : region}.apps.example.com`;

export const startCloudWorld = async ({
  awsRegions = ["us-east-1"],
  apiServerPerCluster = false,
}: CloudWorldOptions = {}): Promise<CloudWorld> => {
  const tls = createTestTls();
  const closers: (() => Promise<void>)[] = [];
  const started = <T extends { close(): Promise<void> }>(thing: T): T => {
    closers.push(() => thing.close());
    return thing;
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), "devsim-clouds-"));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const ecs = started(
      await startEcsFake({ clusters: Object.fromEntries(awsRegions.map((region) => [region, ["devsim"]])) }),
    );
    const arm = started(await startAzureArmFake({ throttleRetryAfterSeconds: 0 }));
    const gke = started(await startGkeFake({ throttleRetrySeconds: 0 }));
    const digitalocean = started(await startDigitalOceanFake({ throttleRetryAfterSeconds: 0 }));
    const apiServer = async (tokens: string[]): Promise<{ kube: FakeKubernetes; front: TlsFront }> => {
      const kube = started(await startFakeKubernetes({ tokens, readyAfterMs: 50 }));
      return { kube, front: started(await startTlsFront(kube.url, tls)) };
    };
    // A cluster of its own takes only its own cloud's credentials, so a mix-up is refused.
    const shared = await apiServer(
      apiServerPerCluster ? [AKS_USER_TOKEN] : [AKS_USER_TOKEN, gke.token, DOKS_CLUSTER_TOKEN],
    );
    const servers: Record<KubernetesCloud, { kube: FakeKubernetes; front: TlsFront }> = {
      azure: shared,
      gcp: apiServerPerCluster ? await apiServer([gke.token]) : shared,
      digitalocean: apiServerPerCluster ? await apiServer([DOKS_CLUSTER_TOKEN]) : shared,
    };
    const azureIdentity: TokenService = started(await startAppServiceIdentity(arm.token));
    const gceMetadata: TokenService = started(await startGceMetadata(gke.token));

    arm.addCluster({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: "shop",
      name: "aks-weu",
      location: "westeurope",
      kubeconfig: userKubeconfig(servers.azure.front.url, tls.ca),
    });
    gke.addCluster({
      project: PROJECT,
      location: "europe-west1",
      name: "gke-euw1",
      endpoint: servers.gcp.front.host,
      clusterCaCertificate: Buffer.from(tls.ca).toString("base64"),
    });
    digitalocean.addCluster({
      name: "shop-fra1",
      region: "fra1",
      server: servers.digitalocean.front.url,
      caData: Buffer.from(tls.ca).toString("base64"),
      token: DOKS_CLUSTER_TOKEN,
    });

    const quick = { attempts: 2, budgetMs: 2_000, baseMs: 10, maxMs: 100 };
    const clouds: CloudsFileInput = {
      aws: {
        adapter: "ecs",
        targets: awsRegions.map((region) => ({
          region,
          cluster: "devsim",
          subnets: ["subnet-0a1b2c3d"],
          urlPattern: ecsUrlPattern(region),
        })),
        endpoint: ecs.url,
        timeoutMs: 2_000,
        retry: quick,
      },
      azure: {
        adapter: "aks",
        subscriptionId: SUBSCRIPTION,
        clusters: [{ region: "westeurope", resourceGroup: "shop", name: "aks-weu" }],
        armEndpoint: arm.url,
        caCertificates: arm.ca,
        timeoutMs: 2_000,
        retry: quick,
        kubernetes: { timeoutMs: 2_000, retry: quick },
      },
      gcp: {
        adapter: "gke",
        projectId: PROJECT,
        clusters: [{ region: "europe-west1", name: "gke-euw1" }],
        endpoint: gke.url,
        timeoutMs: 2_000,
        retry: quick,
        kubernetes: { timeoutMs: 2_000, retry: quick },
      },
      digitalocean: {
        adapter: "doks",
        clusters: [{ region: "fra1", name: "shop-fra1" }],
        apiUrl: digitalocean.url,
        timeoutMs: 2_000,
        retry: quick,
        kubernetes: { timeoutMs: 2_000, retry: quick },
      },
    };

    // A home of its own, so no credentials or config files of this machine's user are found.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      AWS_ACCESS_KEY_ID: ECS_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ECS_TEST_CREDENTIALS.secretAccessKey,
      ...azureIdentity.env,
      ...gceMetadata.env,
      DIGITALOCEAN_ACCESS_TOKEN: digitalocean.token,
    };

    return {
      ecs,
      arm,
      gke,
      digitalocean,
      kube: shared.kube,
      kubes: { azure: servers.azure.kube, gcp: servers.gcp.kube, digitalocean: servers.digitalocean.kube },
      clouds,
      env,
      dir,
      async writeJson(name, content) {
        const path = join(dir, name);
        await writeFile(path, JSON.stringify(content, null, 2));
        return path;
      },
      close: async () => {
        await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
      },
    };
  } catch (error) {
    await Promise.all(closers.map((close) => close().catch(() => {})));
    throw error;
  }
};
