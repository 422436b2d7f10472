import type { AccessToken, TokenCredential } from "@azure/identity";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { AdapterError } from "#core";
import { type AzureArmFake, startAzureArmFake } from "../../test/fakes/azure-arm.ts";
import { type AksClusters, createAksClusters } from "./clusters.ts";
import { AksConfig, type AksConfigInput } from "./config.ts";

const SUB = "00000000-0000-0000-0000-0000000000a1";
const OTHER_SUB = "00000000-0000-0000-0000-0000000000b2";
const API_VERSION = "2026-04-01";

const kubeconfig = (server: string): string =>
  [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: east",
    "  cluster:",
    `    server: ${server}`,
    "    certificate-authority-data: Q0FEQVRB",
    "contexts:",
    "- name: east",
    "  context: { cluster: east, user: u }",
    "current-context: east",
    "users:",
    "- name: u",
    "  user: { token: cluster-user-token }",
    "",
  ].join("\n");

/** Stands in for Microsoft Entra ID, which cannot run here: hands out the token the fake ARM accepts. */
const testCredential = (token: string) => {
  const scopes: string[][] = [];
  const credential: TokenCredential = {
    getToken: async (requested): Promise<AccessToken> => {
      scopes.push([requested].flat());
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return { credential, scopes };
};

describe("AKS clusters through @azure/arm-containerservice against a fake ARM", () => {
  let arm: AzureArmFake;

  beforeAll(async () => {
    arm = await startAzureArmFake({ throttleRetryAfterSeconds: 0, operationPolls: 2 });
    arm.addCluster({
      subscriptionId: SUB,
      resourceGroup: "rg-east",
      name: "aks-east",
      location: "eastus",
      kubeconfig: kubeconfig("https://aks-east.example:443"),
      agentPools: [
        { name: "system", count: 1, mode: "System" },
        { name: "user", count: 2, mode: "User" },
      ],
    });
    arm.addCluster({
      subscriptionId: SUB,
      resourceGroup: "rg-west",
      name: "aks-west",
      location: "westeurope",
      aad: true,
    });
    arm.addCluster({ subscriptionId: OTHER_SUB, resourceGroup: "rg-x", name: "aks-x", location: "eastus" });
  });
  afterAll(async () => {
    await arm?.close();
  });
  afterEach(async () => {
    await arm.faults.clear();
    arm.onRequest = undefined;
    arm.requests.length = 0;
    const east = arm.cluster(SUB, "rg-east", "aks-east");
    if (east) {
      east.provisioningState = "Succeeded";
      east.powerState = "Running";
    }
  });

  const clusters = (
    over: Partial<AksConfigInput> = {},
    token = arm.token,
  ): { c: AksClusters; scopes: string[][] } => {
    const { credential, scopes } = testCredential(token);
    const config = AksConfig.parse({
      subscriptionId: SUB,
      armEndpoint: arm.url,
      caCertificates: arm.ca,
      pollIntervalMs: 5,
      retry: { attempts: 4, baseMs: 1, maxMs: 5 },
      ...over,
    });
    return { c: createAksClusters(config, credential), scopes };
  };
  const configured: AksConfigInput["clusters"] = [
    { region: "eastus", resourceGroup: "rg-east", name: "aks-east" },
    { region: "westeurope", resourceGroup: "rg-west", name: "aks-west" },
  ];

  test("access gets the cluster, then its user kubeconfig, with api-version and an ARM bearer token", async () => {
    const { c, scopes } = clusters({ clusters: configured });
    const access = await c.access("eastus");

    expect(access).toEqual({
      name: "aks-east",
      server: "https://aks-east.example:443",
      caData: "Q0FEQVRB",
      kubeconfig: kubeconfig("https://aks-east.example:443"),
    });
    const base = `/subscriptions/${SUB}/resourceGroups/rg-east/providers/Microsoft.ContainerService/managedClusters/aks-east`;
    expect(arm.requests.map((r) => [r.method, r.path, r.query["api-version"]])).toEqual([
      ["GET", base, API_VERSION],
      ["POST", `${base}/listClusterUserCredential`, API_VERSION],
    ]);
    for (const r of arm.requests) expect(r.headers.authorization).toBe(`Bearer ${arm.token}`);
    expect(scopes).toContainEqual(["https://management.azure.com/.default"]);
  });

  test("a cluster with Entra ID integration gets a token for the AKS AAD server application", async () => {
    const { c, scopes } = clusters({ clusters: configured });
    const access = await c.access("westeurope");
    expect(access.kubeconfig).toBeUndefined();
    expect(access.server).toBe("https://aks-west-dns.hcp.westeurope.azmk8s.io:443");
    expect(await access.token?.()).toBe(arm.token);
    expect(await access.token?.()).toBe(arm.token);
    // Kept until near its expiry: the credential was asked once.
    expect(scopes.filter((s) => s[0] === "6dae42f8-4368-4678-94ff-3960e28e3630/.default")).toHaveLength(1);
  });

  test("without configured clusters, the subscription's clusters are listed, page by page, and matched by location", async () => {
    const small = await startAzureArmFake({ pageSize: 1 });
    try {
      small.addCluster({ subscriptionId: SUB, resourceGroup: "a", name: "one", location: "eastus2" });
      small.addCluster({ subscriptionId: SUB, resourceGroup: "b", name: "two", location: "northeurope" });
      small.addCluster({ subscriptionId: SUB, resourceGroup: "c", name: "three", location: "japaneast" });
      const { credential } = testCredential(small.token);
      const c = createAksClusters(
        AksConfig.parse({
          subscriptionId: SUB,
          regions: ["japaneast", "eastus2", "westus3"],
          armEndpoint: small.url,
          caCertificates: small.ca,
        }),
        credential,
      );
      expect(await c.locate("japaneast")).toEqual({ subscriptionId: SUB, resourceGroup: "c", name: "three" });
      const lists = small.requests.filter((r) => r.path.endsWith("/managedClusters"));
      expect(lists.map((r) => r.query.$skipToken ?? "first")).toEqual(["first", "1", "2"]);
      expect(lists[0]?.path).toBe(
        `/subscriptions/${SUB}/providers/Microsoft.ContainerService/managedClusters`,
      );
      expect(await c.regions()).toEqual([
        { region: "japaneast", available: true },
        { region: "eastus2", available: true },
        { region: "westus3", available: false },
      ]);
    } finally {
      await small.close();
    }
  });

  test("discovery names the problem: no cluster in a location is not_found, two are invalid", async () => {
    const { c } = clusters({ regions: ["brazilsouth", "eastus"] });
    await expect(c.locate("brazilsouth")).rejects.toMatchObject({ failure: "not_found", cloud: "azure" });
    arm.addCluster({
      subscriptionId: SUB,
      resourceGroup: "rg-east-2",
      name: "aks-east-2",
      location: "eastus",
    });
    try {
      await expect(c.locate("eastus")).rejects.toMatchObject({
        failure: "invalid",
        message: expect.stringContaining("aks-east, aks-east-2"),
      });
    } finally {
      arm.cluster(SUB, "rg-east-2", "aks-east-2")?.agentPools.splice(0);
      // Move it away so other tests see one cluster per location.
      const extra = arm.cluster(SUB, "rg-east-2", "aks-east-2");
      if (extra) extra.location = "southindia";
    }
  });

  test("a region no configured cluster serves is not_found, and a cluster elsewhere than configured is invalid", async () => {
    const { c } = clusters({ clusters: configured });
    await expect(c.access("uksouth")).rejects.toMatchObject({ failure: "not_found" });
    const { c: wrong } = clusters({
      clusters: [{ region: "centralus", resourceGroup: "rg-east", name: "aks-east" }],
    });
    await expect(wrong.access("centralus")).rejects.toMatchObject({
      failure: "invalid",
      message: expect.stringContaining("is in location 'eastus'"),
    });
  });

  test("regions: available only when Succeeded and Running; a configured cluster that is gone is unavailable", async () => {
    const { c } = clusters({
      clusters: [...configured, { region: "uksouth", resourceGroup: "rg-gone", name: "aks-gone" }],
    });
    const east = arm.cluster(SUB, "rg-east", "aks-east");
    if (!east) throw new Error("no east cluster");
    expect(await c.regions()).toEqual([
      { region: "eastus", available: true },
      { region: "westeurope", available: true },
      { region: "uksouth", available: false },
    ]);
    east.powerState = "Stopped";
    expect((await c.regions())[0]).toEqual({ region: "eastus", available: false });
    east.powerState = "Running";
    east.provisioningState = "Upgrading";
    expect((await c.regions())[0]).toEqual({ region: "eastus", available: false });
  });

  test("scaleNodePool reads the pool, PUTs the new count with If-Match and polls Azure-AsyncOperation to the end", async () => {
    const { c } = clusters({ clusters: configured });
    const pool = arm.cluster(SUB, "rg-east", "aks-east")?.agentPools.find((p) => p.name === "user");
    if (!pool) throw new Error("no user pool");
    const etag = pool.eTag;

    await c.scaleNodePool("eastus", "user", 5);

    expect(pool).toMatchObject({ count: 5, provisioningState: "Succeeded" });
    const poolPath = `/subscriptions/${SUB}/resourceGroups/rg-east/providers/Microsoft.ContainerService/managedClusters/aks-east/agentPools/user`;
    const operations = `/subscriptions/${SUB}/providers/Microsoft.ContainerService/locations/eastus/operations/`;
    expect(
      arm.requests.map((r) => `${r.method} ${r.path.startsWith(operations) ? operations : r.path}`),
    ).toEqual([
      `GET ${poolPath}`,
      `PUT ${poolPath}`,
      `GET ${operations}`,
      `GET ${operations}`,
      `GET ${operations}`,
      `GET ${poolPath}`,
    ]);
    const put = arm.requests[1];
    expect(put?.headers["if-match"]).toBe(etag);
    expect(put?.headers["content-type"]).toContain("application/json");
    expect(JSON.parse(put?.body ?? "{}")).toMatchObject({ properties: { count: 5, mode: "User" } });
    for (const r of arm.requests) expect(r.query["api-version"]).toBe(API_VERSION);
  });

  test("growNodePool PUTs the count and returns once ARM has accepted it, polling nothing", async () => {
    const { c } = clusters({ clusters: configured });
    const pool = arm.cluster(SUB, "rg-east", "aks-east")?.agentPools.find((p) => p.name === "user");
    if (!pool) throw new Error("no user pool");
    const poolPath = `/subscriptions/${SUB}/resourceGroups/rg-east/providers/Microsoft.ContainerService/managedClusters/aks-east/agentPools/user`;
    arm.operationMs = 200;
    try {
      await c.growNodePool("eastus", "user", pool.count + 2);
      const asked = pool.count;
      expect(pool.provisioningState).toBe("Scaling");
      expect(arm.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET ${poolPath}`,
        `PUT ${poolPath}`,
      ]);
      // ARM ends the operation on its own; a grow to no more than was asked then reads only.
      await vi.waitFor(() => expect(pool.provisioningState).toBe("Succeeded"), {
        timeout: 5_000,
        interval: 20,
      });
      await c.growNodePool("eastus", "user", asked);
      expect(arm.requests.filter((r) => r.method === "PUT")).toHaveLength(1);

      // A pool whose scale failed reads as the count asked for all the same: it is asked again,
      // never for fewer.
      pool.provisioningState = "Failed";
      await c.growNodePool("eastus", "user", asked - 1);
      expect(pool).toMatchObject({ count: asked, provisioningState: "Scaling" });
      const puts = arm.requests.filter((r) => r.method === "PUT");
      expect(puts).toHaveLength(2);
      expect(JSON.parse(puts[1]?.body ?? "{}")).toMatchObject({ properties: { count: asked } });
      await vi.waitFor(() => expect(pool.provisioningState).toBe("Succeeded"), {
        timeout: 5_000,
        interval: 20,
      });
    } finally {
      arm.operationMs = 1_000;
    }
    expect(arm.requests.filter((r) => r.path.includes("/operations/"))).toEqual([]);
  });

  test("scaleNodePool to the current count writes nothing", async () => {
    const { c } = clusters({ clusters: configured });
    await c.scaleNodePool("eastus", "system", 1);
    expect(arm.requests.map((r) => r.method)).toEqual(["GET"]);
  });

  test("a scale that loses a race (409) is re-read and retried", async () => {
    const { c } = clusters({ clusters: configured });
    await arm.faults.inject("conflict", 1);
    await c.scaleNodePool("eastus", "user", 3);
    expect(arm.cluster(SUB, "rg-east", "aks-east")?.agentPools.find((p) => p.name === "user")?.count).toBe(3);
    expect(arm.requests.filter((r) => r.method === "PUT")).toHaveLength(2);
    expect(arm.requests.filter((r) => r.method === "GET" && r.path.endsWith("/agentPools/user")).length).toBe(
      3,
    );
  });

  test("a stale eTag (412) is a conflict: re-read and retried", async () => {
    const { c } = clusters({ clusters: configured });
    const pool = arm.cluster(SUB, "rg-east", "aks-east")?.agentPools.find((p) => p.name === "user");
    if (!pool) throw new Error("no user pool");
    // Another writer changes the pool between our read and our first write.
    arm.onRequest = (request) => {
      if (request.method !== "PUT") return;
      pool.eTag = '"changed-elsewhere"';
      arm.onRequest = undefined;
    };
    await c.scaleNodePool("eastus", "user", 4);
    expect(pool.count).toBe(4);
    expect(arm.requests.filter((r) => r.method === "PUT")).toHaveLength(2);
  });

  test("throttling (429) and server errors (5xx) are retried; the SDK does not retry on its own", async () => {
    const { c } = clusters({ clusters: configured });
    await arm.faults.inject("throttle", 1);
    await arm.faults.inject("server-error", 1);
    await c.access("eastus");
    expect(arm.requests).toHaveLength(4);
  });

  test("Retry-After is honoured", async () => {
    const slow = await startAzureArmFake({ throttleRetryAfterSeconds: 1 });
    try {
      slow.addCluster({ subscriptionId: SUB, resourceGroup: "rg", name: "c", location: "eastus" });
      const { credential } = testCredential(slow.token);
      const c = createAksClusters(
        AksConfig.parse({
          subscriptionId: SUB,
          regions: ["eastus"],
          armEndpoint: slow.url,
          caCertificates: slow.ca,
          retry: { attempts: 3, baseMs: 1, maxMs: 1 },
        }),
        credential,
      );
      await slow.faults.inject("throttle", 1);
      const started = performance.now();
      await c.locate("eastus");
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await slow.close();
    }
  });

  test("throttling that outlasts the budget surfaces as throttled, with ARM's request id and the RestError as cause", async () => {
    const { c } = clusters({ clusters: configured, retry: { attempts: 2, baseMs: 1, maxMs: 1 } });
    await arm.faults.inject("throttle", 10);
    const error = await c.access("eastus").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      failure: "throttled",
      cloud: "azure",
      requestId: arm.requests.at(-1)?.requestId,
      message: expect.stringContaining("SubscriptionRequestsThrottled"),
    });
    expect((error as AdapterError).cause).toMatchObject({ name: "RestError", statusCode: 429 });
  });

  test("a call that gets no answer times out and is retried", async () => {
    const { c } = clusters({ clusters: configured, timeoutMs: 200 });
    await arm.faults.inject("timeout", 1);
    await expect(c.access("eastus")).resolves.toMatchObject({ name: "aks-east" });

    const { c: once } = clusters({ clusters: configured, timeoutMs: 200, retry: { attempts: 1 } });
    await arm.faults.inject("timeout", 1);
    await expect(once.access("eastus")).rejects.toMatchObject({ failure: "timeout", cloud: "azure" });
  });

  test("a refused token is unauthorized and not retried", async () => {
    const { c } = clusters({ clusters: configured }, "not-the-token");
    await expect(c.access("eastus")).rejects.toMatchObject({
      failure: "unauthorized",
      message: expect.stringContaining("InvalidAuthenticationToken"),
    });
    expect(arm.requests).toHaveLength(1);
  });

  test("no usable credential is unauthorized, before any ARM call", async () => {
    const config = AksConfig.parse({
      subscriptionId: SUB,
      regions: ["eastus"],
      armEndpoint: arm.url,
      caCertificates: arm.ca,
    });
    const missing: TokenCredential = {
      getToken: async () => {
        throw Object.assign(new Error("EnvironmentCredential is unavailable."), {
          name: "CredentialUnavailableError",
        });
      },
    };
    const c = createAksClusters(config, missing);
    await expect(c.armToken()).rejects.toMatchObject({ failure: "unauthorized", cloud: "azure" });
    await expect(c.regions()).rejects.toMatchObject({ failure: "unauthorized" });
    expect(arm.requests).toHaveLength(0);
  });

  test("an unknown agent pool is not_found; a count out of range is invalid and never sent", async () => {
    const { c } = clusters({ clusters: configured });
    await expect(c.scaleNodePool("eastus", "nope", 2)).rejects.toMatchObject({ failure: "not_found" });
    await expect(c.scaleNodePool("eastus", "user", -1)).rejects.toMatchObject({ failure: "invalid" });
    expect(arm.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
  });
});
