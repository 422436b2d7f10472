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

export interface CloudWorld {
  readonly ecs: EcsFake;
  readonly arm: AzureArmFake;
  readonly gke: GkeFake;
  readonly digitalocean: DigitalOceanFake;
  /** One fake Kubernetes API behind TLS serves the AKS, GKE and DOKS clusters alike. */
  readonly kube: FakeKubernetes;
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

export const startCloudWorld = async (): Promise<CloudWorld> => {
  const tls = createTestTls();
  const closers: (() => Promise<void>)[] = [];
  const started = <T extends { close(): Promise<void> }>(thing: T): T => {
    closers.push(() => thing.close());
    return thing;
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), "devsim-clouds-"));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const ecs = started(await startEcsFake({ clusters: { "us-east-1": ["devsim"] } }));
    const arm = started(await startAzureArmFake({ throttleRetryAfterSeconds: 0 }));
    const gke = started(await startGkeFake({ throttleRetrySeconds: 0 }));
    const digitalocean = started(await startDigitalOceanFake({ throttleRetryAfterSeconds: 0 }));
    const kube = started(
      await startFakeKubernetes({
        tokens: [AKS_USER_TOKEN, gke.token, DOKS_CLUSTER_TOKEN],
        readyAfterMs: 50,
      }),
    );
    const front: TlsFront = started(await startTlsFront(kube.url, tls));
    const azureIdentity: TokenService = started(await startAppServiceIdentity(arm.token));
    const gceMetadata: TokenService = started(await startGceMetadata(gke.token));

    arm.addCluster({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: "shop",
      name: "aks-weu",
      location: "westeurope",
      kubeconfig: userKubeconfig(front.url, tls.ca),
    });
    gke.addCluster({
      project: PROJECT,
      location: "europe-west1",
      name: "gke-euw1",
      endpoint: front.host,
      clusterCaCertificate: Buffer.from(tls.ca).toString("base64"),
    });
    digitalocean.addCluster({
      name: "shop-fra1",
      region: "fra1",
      server: front.url,
      caData: Buffer.from(tls.ca).toString("base64"),
      token: DOKS_CLUSTER_TOKEN,
    });

    const quick = { attempts: 2, budgetMs: 2_000, baseMs: 10, maxMs: 100 };
    const clouds: CloudsFileInput = {
      aws: {
        adapter: "ecs",
        targets: [
          {
            region: "us-east-1",
            cluster: "devsim",
            subnets: ["subnet-0a1b2c3d"],
            urlPattern: "https://{workload}-r{revision}.use1.apps.example.com",
          },
        ],
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
      kube,
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
