import {
  type CloudApi,
  type CloudReply,
  createTestTls,
  type FaultPlan,
  type RecordedRequest,
  startCloudApi,
  type TestTls,
} from "./cloud-api.ts";

// A fake Azure Resource Manager serving the slice of Microsoft.ContainerService the AKS adapter
// uses, in ARM's wire format:
// - managedClusters list/get and listClusterUserCredential
//   (https://learn.microsoft.com/rest/api/aks/managed-clusters),
// - agentPools list/get/createOrUpdate with `If-Match` on the pool's eTag
//   (https://learn.microsoft.com/rest/api/aks/agent-pools),
// - long-running PUTs answered with `Azure-AsyncOperation`, polled until `Succeeded`
//   (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations); as on
//   Azure, an operation also ends on its own, polled or not, and the pool reads meanwhile as the
//   count asked for with a non-terminal `provisioningState` (`Scaling`), which refuses another write,
// - errors as `{ error: { code, message } }` with `x-ms-request-id`, throttling as 429 + Retry-After
//   (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
// Served over HTTPS with a test CA: the SDK sends bearer tokens over TLS only.

export interface FakeAgentPool {
  name: string;
  count: number;
  vmSize: string;
  mode: "System" | "User";
  provisioningState: string;
  powerState: "Running" | "Stopped";
  eTag: string;
}

export interface FakeManagedCluster {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  location: string;
  provisioningState: string;
  powerState: "Running" | "Stopped";
  /** The kubeconfig listClusterUserCredential hands out (YAML). */
  kubeconfig: string;
  /** Whether Microsoft Entra ID integration is on (`properties.aadProfile`). */
  aad: boolean;
  readonly agentPools: FakeAgentPool[];
}

export interface ManagedClusterSpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location: string;
  readonly kubeconfig?: string;
  readonly provisioningState?: string;
  readonly powerState?: "Running" | "Stopped";
  readonly aad?: boolean;
  readonly agentPools?: readonly { name: string; count: number; mode?: "System" | "User"; vmSize?: string }[];
}

export interface AzureArmFakeOptions {
  /** The bearer token ARM accepts. Default `arm-test-token`. */
  readonly token?: string;
  /** How many polls of a long-running operation answer `InProgress` before `Succeeded`. Default 1. */
  readonly operationPolls?: number;
  /** How long a long-running operation runs before it ends on its own, polled or not, in ms. Default 1000. */
  readonly operationMs?: number;
  /** Retry-After (seconds) sent with injected throttling. Default 1. */
  readonly throttleRetryAfterSeconds?: number;
  /** Clusters per page of a list; more pages are linked through `nextLink`. Default 100. */
  readonly pageSize?: number;
}

export interface AzureArmFake {
  /** Base URL to give the SDK as `endpoint`. */
  readonly url: string;
  /** PEM of the CA the fake's certificate chains to. */
  readonly ca: string;
  readonly token: string;
  readonly requests: RecordedRequest[];
  readonly faults: FaultPlan;
  /** Sees each request before anything else, e.g. to race a writer or inject a fault at a precise moment. */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  /** How long operations started from now run before they end on their own, in ms. */
  operationMs: number;
  addCluster(spec: ManagedClusterSpec): FakeManagedCluster;
  /** The fake's own record of a cluster (live: changing it changes what ARM answers). */
  cluster(subscriptionId: string, resourceGroup: string, name: string): FakeManagedCluster | undefined;
  close(): Promise<void>;
}

const PROVIDER = "providers/Microsoft.ContainerService";
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

const armError = (
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): CloudReply => ({
  status,
  body: { error: { code, message } },
  ...(headers ? { headers } : {}),
});

/** A kubeconfig as AKS hands out for local accounts: one cluster, one user with a token. */
export const aksUserKubeconfig = ({
  cluster,
  user,
  server,
  ca,
  token,
}: {
  readonly cluster: string;
  readonly user: string;
  readonly server: string;
  /** PEM of the API server's CA; none for a server with a public certificate. */
  readonly ca?: string;
  readonly token: string;
}): string =>
  [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${cluster}`,
    "  cluster:",
    `    server: ${server}`,
    ...(ca === undefined ? [] : [`    certificate-authority-data: ${Buffer.from(ca).toString("base64")}`]),
    "contexts:",
    `- name: ${cluster}`,
    "  context:",
    `    cluster: ${cluster}`,
    `    user: ${user}`,
    `current-context: ${cluster}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    token: ${token}`,
    "",
  ].join("\n");

const defaultKubeconfig = (cluster: { name: string; location: string }): string =>
  aksUserKubeconfig({
    cluster: cluster.name,
    user: `clusterUser_${cluster.name}`,
    server: `https://${cluster.name}-dns.hcp.${cluster.location}.azmk8s.io:443`,
    token: "fake-cluster-user-token",
  });

interface Operation {
  readonly id: string;
  pollsLeft: number;
  readonly startTime: string;
  /** Ends the operation (once); called by the last poll or by its timer, whichever comes first. */
  readonly end: () => void;
  readonly timer: NodeJS.Timeout;
  done: boolean;
}

/** ARM's terminal provisioning states; any other means an operation is under way. */
const TERMINAL = new Set(["Succeeded", "Failed", "Canceled"]);

/** Starts a fake ARM over HTTPS; the test's SDK client must trust `ca`. */
export const startAzureArmFake = async (options: AzureArmFakeOptions = {}): Promise<AzureArmFake> => {
  const token = options.token ?? "arm-test-token";
  const operationPolls = options.operationPolls ?? 1;
  const pageSize = options.pageSize ?? 100;
  const tls: TestTls = createTestTls();
  const clusters: FakeManagedCluster[] = [];
  const operations = new Map<string, Operation>();
  let etags = 0;
  let operationIds = 0;
  let base = "";
  const nextEtag = (): string => {
    etags += 1;
    return `"etag-${etags}"`;
  };

  const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  const find = (sub: string, rg: string, name: string): FakeManagedCluster | undefined =>
    clusters.find((c) => same(c.subscriptionId, sub) && same(c.resourceGroup, rg) && same(c.name, name));

  const clusterId = (c: FakeManagedCluster): string =>
    `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/${PROVIDER}/managedClusters/${c.name}`;

  const clusterBody = (c: FakeManagedCluster): unknown => ({
    id: clusterId(c),
    name: c.name,
    type: "Microsoft.ContainerService/ManagedClusters",
    location: c.location,
    properties: {
      provisioningState: c.provisioningState,
      powerState: { code: c.powerState },
      kubernetesVersion: "1.33.2",
      dnsPrefix: `${c.name}-dns`,
      fqdn: `${c.name}-dns.hcp.${c.location}.azmk8s.io`,
      ...(c.aad ? { aadProfile: { managed: true, enableAzureRBAC: true } } : {}),
      agentPoolProfiles: c.agentPools.map((p) => ({
        name: p.name,
        count: p.count,
        vmSize: p.vmSize,
        mode: p.mode,
        provisioningState: p.provisioningState,
        powerState: { code: p.powerState },
      })),
    },
  });

  const poolBody = (c: FakeManagedCluster, p: FakeAgentPool): unknown => ({
    id: `${clusterId(c)}/agentPools/${p.name}`,
    name: p.name,
    type: "Microsoft.ContainerService/managedClusters/agentPools",
    properties: {
      eTag: p.eTag,
      count: p.count,
      vmSize: p.vmSize,
      mode: p.mode,
      osType: "Linux",
      type: "VirtualMachineScaleSets",
      provisioningState: p.provisioningState,
      powerState: { code: p.powerState },
    },
  });

  const notFound = (kind: string, name: string, rg: string): CloudReply =>
    armError(
      404,
      "ResourceNotFound",
      `The Resource 'Microsoft.ContainerService/${kind}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );

  const listPage = (items: unknown[], request: RecordedRequest): CloudReply => {
    const skip = Number(request.query.$skipToken ?? "0");
    const page = items.slice(skip, skip + pageSize);
    const more = skip + pageSize < items.length;
    const next = new URLSearchParams({ ...request.query, $skipToken: String(skip + pageSize) });
    return {
      status: 200,
      body: { value: page, ...(more ? { nextLink: `${base}${request.path}?${next}` } : {}) },
    };
  };

  const putAgentPool = (c: FakeManagedCluster, poolName: string, request: RecordedRequest): CloudReply => {
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return armError(
        400,
        "InvalidRequestContent",
        "The request content was invalid and could not be deserialized.",
      );
    }
    const properties = (body as { properties?: Record<string, unknown> } | null)?.properties ?? {};
    const count = properties.count;
    const pool = c.agentPools.find((p) => same(p.name, poolName));
    const mode =
      properties.mode === "System" || properties.mode === "User" ? properties.mode : (pool?.mode ?? "User");
    const min = mode === "System" ? 1 : 0;
    if (typeof count !== "number" || !Number.isInteger(count) || count < min || count > 1000) {
      return armError(
        400,
        "InvalidParameter",
        `The value of parameter agentPoolProfile.count is invalid: ${String(count)}. Please see https://aka.ms/aks-naming-rules for more details.`,
      );
    }
    const ifMatch = request.headers["if-match"];
    if (pool && ifMatch !== undefined && ifMatch !== "*" && ifMatch !== pool.eTag) {
      return armError(
        412,
        "PreconditionFailed",
        `Operation is not allowed since the provided If-Match header ${ifMatch} does not match the current eTag ${pool.eTag}.`,
      );
    }
    if (pool && !TERMINAL.has(pool.provisioningState)) {
      return armError(
        409,
        "OperationNotAllowed",
        `Operation is not allowed because there's an in progress ${pool.provisioningState.toLowerCase()} operation on agent pool ${pool.name}.`,
      );
    }
    const target: FakeAgentPool = pool ?? {
      name: poolName,
      count: 0,
      vmSize: typeof properties.vmSize === "string" ? properties.vmSize : "Standard_D2s_v5",
      mode,
      provisioningState: "Creating",
      powerState: "Running",
      eTag: nextEtag(),
    };
    if (!pool) c.agentPools.push(target);
    // The resource reads as asked at once; its provisioning state says the nodes are still coming.
    target.count = count;
    target.provisioningState = pool ? "Scaling" : "Creating";
    target.eTag = nextEtag();
    operationIds += 1;
    const id = `op-${operationIds.toString().padStart(4, "0")}`;
    const operation: Operation = {
      id,
      pollsLeft: operationPolls,
      startTime: new Date().toISOString(),
      done: false,
      end: () => {
        if (operation.done) return;
        operation.done = true;
        clearTimeout(operation.timer);
        target.provisioningState = "Succeeded";
        target.eTag = nextEtag();
      },
      timer: setTimeout(() => operation.end(), fake.operationMs).unref(),
    };
    operations.set(id, operation);
    const apiVersion = request.query["api-version"] ?? "";
    return {
      status: pool ? 200 : 201,
      headers: {
        "azure-asyncoperation": `${base}/subscriptions/${c.subscriptionId}/${PROVIDER}/locations/${c.location}/operations/${id}?api-version=${apiVersion}`,
      },
      body: poolBody(c, target),
    };
  };

  const operationStatus = (id: string): CloudReply => {
    const op = operations.get(id);
    if (!op) return armError(404, "NotFound", `Operation ${id} not found.`);
    if (!op.done && op.pollsLeft > 0) {
      op.pollsLeft -= 1;
      return { status: 200, body: { id, name: id, status: "InProgress", startTime: op.startTime } };
    }
    op.end();
    return {
      status: 200,
      body: { id, name: id, status: "Succeeded", startTime: op.startTime, endTime: new Date().toISOString() },
    };
  };

  const route = (request: RecordedRequest): CloudReply => {
    const parts = request.path.split("/").map(decodeURIComponent);
    // ["", "subscriptions", sub, ...]
    if (parts[1]?.toLowerCase() !== "subscriptions" || !parts[2]) {
      return armError(404, "InvalidResourceType", `No route for ${request.method} ${request.path}.`);
    }
    const sub = parts[2];
    const rest = parts.slice(3);
    const lower = rest.map((p) => p.toLowerCase());
    const provider = (at: number): boolean =>
      lower[at] === "providers" && lower[at + 1] === "microsoft.containerservice";

    // /subscriptions/{sub}/providers/Microsoft.ContainerService/...
    if (provider(0)) {
      if (lower[2] === "managedclusters" && rest.length === 3 && request.method === "GET") {
        return listPage(clusters.filter((c) => same(c.subscriptionId, sub)).map(clusterBody), request);
      }
      if (lower[2] === "locations" && lower[4] === "operations" && rest[5] && request.method === "GET") {
        return operationStatus(rest[5]);
      }
    }
    // /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/...
    if (lower[0] === "resourcegroups" && rest[1] && provider(2) && lower[4] === "managedclusters") {
      const rg = rest[1];
      const name = rest[5];
      if (!name) {
        if (request.method !== "GET") return armError(405, "MethodNotAllowed", "Method not allowed.");
        return listPage(
          clusters.filter((c) => same(c.subscriptionId, sub) && same(c.resourceGroup, rg)).map(clusterBody),
          request,
        );
      }
      const cluster = find(sub, rg, name);
      if (!cluster) return notFound("managedClusters", name, rg);
      const action = lower[6];
      if (action === undefined && request.method === "GET")
        return { status: 200, body: clusterBody(cluster) };
      if (action === "listclusterusercredential" && request.method === "POST") {
        return {
          status: 200,
          body: {
            kubeconfigs: [{ name: "clusterUser", value: Buffer.from(cluster.kubeconfig).toString("base64") }],
          },
        };
      }
      if (action === "agentpools") {
        const poolName = rest[7];
        if (!poolName && request.method === "GET") {
          return listPage(
            cluster.agentPools.map((p) => poolBody(cluster, p)),
            request,
          );
        }
        if (poolName && request.method === "GET") {
          const pool = cluster.agentPools.find((p) => same(p.name, poolName));
          return pool
            ? { status: 200, body: poolBody(cluster, pool) }
            : notFound("managedClusters/agentPools", poolName, rg);
        }
        if (poolName && request.method === "PUT") return putAgentPool(cluster, poolName, request);
      }
    }
    return armError(404, "InvalidResourceType", `No route for ${request.method} ${request.path}.`);
  };

  const handle = (request: RecordedRequest): CloudReply => {
    const apiVersion = request.query["api-version"];
    if (apiVersion === undefined) {
      return armError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );
    }
    if (!API_VERSION.test(apiVersion)) {
      return armError(400, "InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid.`);
    }
    const authorization = request.headers.authorization;
    if (authorization === undefined) {
      return armError(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
      );
    }
    if (authorization !== `Bearer ${token}`) {
      return armError(401, "InvalidAuthenticationToken", "The access token is invalid.");
    }
    return route(request);
  };

  const singleResource = (request: RecordedRequest): boolean => {
    const lower = request.path.toLowerCase();
    return /\/managedclusters\/[^/]+$/.test(lower) || /\/agentpools\/[^/]+$/.test(lower);
  };

  const throttleAfter = String(options.throttleRetryAfterSeconds ?? 1);
  const api: CloudApi = await startCloudApi({
    tls,
    requestIdHeader: "x-ms-request-id",
    isWrite: (r) => r.method === "PUT" || r.method === "PATCH" || r.method === "DELETE",
    isRead: (r) => r.method === "GET" && singleResource(r),
    faultReply: (fault, request) => {
      switch (fault) {
        case "throttle":
          return armError(
            429,
            "SubscriptionRequestsThrottled",
            `Number of '${request.method === "GET" ? "read" : "write"}' requests for subscription exceeded. Please try again after '${throttleAfter}' seconds after additional tasks are completed.`,
            { "retry-after": throttleAfter },
          );
        case "server-error":
          return armError(
            500,
            "InternalServerError",
            "An internal server error occurred. Please retry the request.",
          );
        case "conflict":
          return armError(
            409,
            "OperationNotAllowed",
            "Operation is not allowed because there's an in progress update managed cluster operation.",
          );
        case "eventual-consistency": {
          const name = decodeURIComponent(request.path.split("/").at(-1) ?? "");
          return notFound("managedClusters", name, "(unknown)");
        }
      }
    },
    handle,
    onRequest: (request) => fake.onRequest?.(request),
  });
  base = api.url;

  const fake: AzureArmFake = {
    onRequest: undefined,
    operationMs: options.operationMs ?? 1_000,
    url: api.url,
    ca: tls.ca,
    token,
    requests: api.requests,
    faults: api.faults,
    addCluster(spec) {
      const cluster: FakeManagedCluster = {
        subscriptionId: spec.subscriptionId,
        resourceGroup: spec.resourceGroup,
        name: spec.name,
        location: spec.location,
        provisioningState: spec.provisioningState ?? "Succeeded",
        powerState: spec.powerState ?? "Running",
        kubeconfig: spec.kubeconfig ?? defaultKubeconfig(spec),
        aad: spec.aad ?? false,
        agentPools: (spec.agentPools ?? [{ name: "nodepool1", count: 3, mode: "System" }]).map((p) => ({
          name: p.name,
          count: p.count,
          vmSize: p.vmSize ?? "Standard_D2s_v5",
          mode: p.mode ?? "User",
          provisioningState: "Succeeded",
          powerState: "Running",
          eTag: nextEtag(),
        })),
      };
      clusters.push(cluster);
      return cluster;
    },
    cluster: find,
    close: async () => {
      for (const op of operations.values()) clearTimeout(op.timer);
      await api.close();
    },
  };
  return fake;
};
