import { createHash } from "node:crypto";
import { type CloudReply, type FaultPlan, type RecordedRequest, startCloudApi } from "./cloud-api.ts";
import type { FakeNodeSpec } from "./kubernetes.ts";

// A fake GKE API (container.googleapis.com v1) serving what the GKE adapter uses, as the REST
// transport of `@google-cloud/container` sends it (https://cloud.google.com/kubernetes-engine/docs/reference/rest):
// - projects.locations.clusters list/get (`locations/-` lists every location),
// - projects.locations.clusters.nodePools get and `:setSize`, which answers an Operation,
// - projects.locations.operations get, DONE after a few polls or, as on GKE, on its own after a
//   while, polled or not; meanwhile the pool is RECONCILING and the cluster refuses other operations,
// - node pools across zones (`locations`), sized per zone as `setSize` sizes them; `gkeNodes` gives
//   the Kubernetes Nodes a cluster's pools register, for a fake Kubernetes API to list,
// - a cluster's control plane endpoints as GKE reports them: `endpoint` (the public IP, or the private
//   one once the public endpoint is disabled), `privateClusterConfig` (the deprecated `privateEndpoint`,
//   `publicEndpoint`, `enablePrivateEndpoint`) and `controlPlaneEndpointsConfig` (`dnsEndpointConfig`
//   with `endpoint` and `allowExternalTraffic`; `ipEndpointsConfig` with `enabled`,
//   `enablePublicEndpoint`, and `publicEndpoint` only while it is enabled, `privateEndpoint`), each
//   address settable, so tests can point all three at loopback,
// - enums as numbers when the request asks `$alt=json;enum-encoding=int`, as names otherwise,
// - errors as `{ error: { code, message, status, details } }` with a google.rpc.RequestInfo
//   (and a google.rpc.RetryInfo when throttled), https://cloud.google.com/apis/design/errors.
// Plain HTTP: the SDK's REST transport takes `protocol: "http"`, and sends the bearer token anyway.

const CLUSTER_STATUS = {
  PROVISIONING: 1,
  RUNNING: 2,
  RECONCILING: 3,
  STOPPING: 4,
  ERROR: 5,
  DEGRADED: 6,
} as const;
const POOL_STATUS = {
  PROVISIONING: 1,
  RUNNING: 2,
  RUNNING_WITH_ERROR: 3,
  RECONCILING: 4,
  STOPPING: 5,
  ERROR: 6,
} as const;
const OPERATION_STATUS = { PENDING: 1, RUNNING: 2, DONE: 3 } as const;
const SET_NODE_POOL_SIZE = 14;

export type FakeClusterStatus = keyof typeof CLUSTER_STATUS;
export type FakeNodePoolStatus = keyof typeof POOL_STATUS;

export interface FakeNodePool {
  readonly name: string;
  /** The pool's size now, per zone (GKE's API shows only `initialNodeCount`; the fake keeps the truth). */
  nodeCount: number;
  /** The zones its nodes are in; a pool holds `nodeCount` nodes in each. */
  readonly locations: readonly string[];
  readonly initialNodeCount: number;
  status: FakeNodePoolStatus;
  autoscaling: boolean;
}

export interface FakeGkeCluster {
  readonly project: string;
  /** A region (regional cluster) or a zone (zonal cluster). */
  location: string;
  readonly name: string;
  status: FakeClusterStatus;
  /** The public IP endpoint's host (and, in tests, port); what `endpoint` says while that endpoint is enabled. */
  endpoint: string;
  /** The private IP endpoint's host (`ipEndpointsConfig.privateEndpoint`); undefined: GKE reports none. */
  privateEndpoint: string | undefined;
  /** The DNS endpoint's host (`dnsEndpointConfig.endpoint`, `….gke.goog` on GKE); undefined: none reported. */
  dnsEndpoint: string | undefined;
  /** `ipEndpointsConfig.enabled`: whether the IP endpoints serve at all. */
  ipEndpointsEnabled: boolean;
  /** `ipEndpointsConfig.enablePublicEndpoint`; false is also `privateClusterConfig.enablePrivateEndpoint`. */
  publicEndpointEnabled: boolean;
  /** `dnsEndpointConfig.allowExternalTraffic`: whether the DNS endpoint takes user traffic. */
  dnsAllowExternalTraffic: boolean;
  /** Base64 PEM of the cluster CA (`masterAuth.clusterCaCertificate`). */
  clusterCaCertificate: string;
  readonly nodePools: FakeNodePool[];
}

export interface GkeClusterSpec {
  readonly project: string;
  readonly location: string;
  readonly name: string;
  /** The public endpoint. Default `203.0.113.10`. */
  readonly endpoint?: string;
  /** Default `10.128.0.2`; null: GKE reports no private endpoint. */
  readonly privateEndpoint?: string | null;
  /** Default `gke-<id>.<location>.gke.goog`; null: GKE reports no DNS endpoint. */
  readonly dnsEndpoint?: string | null;
  /** Default true. */
  readonly ipEndpointsEnabled?: boolean;
  /** Default true. */
  readonly publicEndpointEnabled?: boolean;
  /** Default false, as for a cluster created without `--enable-dns-access`. */
  readonly dnsAllowExternalTraffic?: boolean;
  readonly clusterCaCertificate?: string;
  readonly status?: FakeClusterStatus;
  /**
   * Default one `default-pool` of 3 nodes per zone. A pool's `locations` default to the cluster's zone
   * (zonal cluster) or the region's zones b, c and d (regional cluster, as GKE makes them).
   */
  readonly nodePools?: readonly {
    name: string;
    nodeCount: number;
    autoscaling?: boolean;
    locations?: readonly string[];
  }[];
}

export interface GkeFakeOptions {
  /** The access token the API accepts. Default `ya29.gke-test-token`. */
  readonly token?: string;
  /** Polls of an operation that answer RUNNING before DONE. Default 1. */
  readonly operationPolls?: number;
  /** How long an operation runs before it is DONE on its own, polled or not, in ms. Default 1000. */
  readonly operationMs?: number;
  /** The retry delay (seconds) named in injected throttling. Default 1. */
  readonly throttleRetrySeconds?: number;
}

export interface GkeFake {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly requests: RecordedRequest[];
  readonly faults: FaultPlan;
  /** Sees each request before anything else, e.g. to inject a fault at a precise moment. */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  /** Told when a resize has finished, e.g. to register the pool's new nodes with `gkeNodes`. */
  onPoolResized: ((cluster: FakeGkeCluster, pool: FakeNodePool) => void) | undefined;
  /** How long operations started from now run before they are DONE on their own, in ms. */
  operationMs: number;
  addCluster(spec: GkeClusterSpec): FakeGkeCluster;
  cluster(project: string, location: string, name: string): FakeGkeCluster | undefined;
  close(): Promise<void>;
}

const googleError = (
  code: number,
  status: string,
  message: string,
  requestId: string,
  extraDetails: unknown[] = [],
): CloudReply => ({
  status: code,
  body: {
    error: {
      code,
      message,
      status,
      details: [{ "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId }, ...extraDetails],
    },
  },
});

/** A location's region: a zone's (`europe-west1-b` → `europe-west1`), or the region itself. */
const regionOf = (location: string): string => /^(.+[0-9])-[a-z]$/.exec(location)?.[1] ?? location;

/** Eight hex digits standing for GKE's id of a pool's instance group in one zone. */
const groupId = (c: FakeGkeCluster, p: FakeNodePool, zone: string): string =>
  createHash("sha256").update(`${c.project}/${c.name}/${p.name}/${zone}`).digest("hex").slice(0, 8);

/** A DNS endpoint name as GKE makes them, `gke-<cluster uid>-<project number>.<region>.gke.goog`. */
const dnsEndpointName = (project: string, location: string, name: string): string => {
  const digest = createHash("sha256").update(`${project}/${location}/${name}`).digest("hex");
  const projectNumber = BigInt(`0x${digest.slice(32, 42)}`)
    .toString()
    .slice(0, 12);
  return `gke-${digest.slice(0, 32)}-${projectNumber}.${regionOf(location)}.gke.goog`;
};

/** The zones of a cluster's node pools, each once. */
const clusterZones = (c: FakeGkeCluster): string[] => [...new Set(c.nodePools.flatMap((p) => p.locations))];

/**
 * The Kubernetes Nodes a cluster's node pools register, as GKE names and labels them: for each pool
 * and each of its zones, `nodeCount` nodes `gke-<cluster>-<pool>-<group>-<suffix>` labelled
 * `cloud.google.com/gke-nodepool` (https://cloud.google.com/kubernetes-engine/docs/concepts/node-pools)
 * and with the well-known zone and region labels.
 */
export const gkeNodes = (c: FakeGkeCluster): FakeNodeSpec[] =>
  c.nodePools.flatMap((p) =>
    p.locations.flatMap((zone) =>
      Array.from({ length: p.nodeCount }, (_, i) => {
        const name = `gke-${c.name}-${p.name}-${groupId(c, p, zone)}-${i.toString(36).padStart(4, "0")}`;
        return {
          name,
          labels: {
            "cloud.google.com/gke-nodepool": p.name,
            "cloud.google.com/machine-family": "e2",
            "node.kubernetes.io/instance-type": "e2-standard-4",
            "topology.kubernetes.io/region": regionOf(zone),
            "topology.kubernetes.io/zone": zone,
          },
          providerID: `gce://${c.project}/${zone}/${name}`,
        };
      }),
    ),
  );

interface PendingOperation {
  readonly body: Record<string, unknown>;
  pollsLeft: number;
  /** Finishes the operation (once); called by the last poll or by its timer, whichever comes first. */
  readonly complete: () => void;
  readonly timer: NodeJS.Timeout;
  done: boolean;
}

export const startGkeFake = async (options: GkeFakeOptions = {}): Promise<GkeFake> => {
  const token = options.token ?? "ya29.gke-test-token";
  const operationPolls = options.operationPolls ?? 1;
  const clusters: FakeGkeCluster[] = [];
  const operations = new Map<string, PendingOperation>();
  /** The operation running on each cluster; GKE runs one at a time. */
  const running = new Map<FakeGkeCluster, string>();
  let operationIds = 0;

  const numeric = (request: RecordedRequest): boolean =>
    decodeURIComponent(request.rawQuery).includes("$alt=json;enum-encoding=int");
  const enumValue = <T extends Record<string, number>>(
    table: T,
    name: keyof T & string,
    request: RecordedRequest,
  ) => (numeric(request) ? table[name] : name);

  /**
   * The endpoint fields of a Cluster (google/container/v1/cluster_service.proto): output-only strings
   * left out when empty, proto3 `optional` booleans sent whenever set, plain booleans only when true.
   */
  const endpointFields = (c: FakeGkeCluster) => {
    const publicServes = c.ipEndpointsEnabled && c.publicEndpointEnabled;
    const endpoint = publicServes ? c.endpoint : c.privateEndpoint;
    return {
      ...(endpoint ? { endpoint } : {}),
      privateClusterConfig: {
        ...(c.publicEndpointEnabled ? {} : { enablePrivateEndpoint: true }),
        ...(c.privateEndpoint ? { privateEndpoint: c.privateEndpoint } : {}),
        ...(publicServes ? { publicEndpoint: c.endpoint } : {}),
      },
      controlPlaneEndpointsConfig: {
        dnsEndpointConfig: {
          ...(c.dnsEndpoint ? { endpoint: c.dnsEndpoint } : {}),
          allowExternalTraffic: c.dnsAllowExternalTraffic,
        },
        ipEndpointsConfig: {
          enabled: c.ipEndpointsEnabled,
          enablePublicEndpoint: c.publicEndpointEnabled,
          globalAccess: false,
          ...(publicServes ? { publicEndpoint: c.endpoint } : {}),
          ...(c.privateEndpoint ? { privateEndpoint: c.privateEndpoint } : {}),
        },
      },
    };
  };

  const clusterBody = (c: FakeGkeCluster, request: RecordedRequest): unknown => ({
    name: c.name,
    location: c.location,
    selfLink: `https://container.googleapis.com/v1/projects/${c.project}/locations/${c.location}/clusters/${c.name}`,
    ...endpointFields(c),
    status: enumValue(CLUSTER_STATUS, c.status, request),
    currentMasterVersion: "1.33.2-gke.1000",
    currentNodeCount: c.nodePools.reduce((sum, p) => sum + p.nodeCount * p.locations.length, 0),
    locations: clusterZones(c),
    masterAuth: { clusterCaCertificate: c.clusterCaCertificate },
    nodePools: c.nodePools.map((p) => poolBody(c, p, request)),
  });

  const poolBody = (c: FakeGkeCluster, p: FakeNodePool, request: RecordedRequest): unknown => ({
    name: p.name,
    initialNodeCount: p.initialNodeCount,
    status: enumValue(POOL_STATUS, p.status, request),
    selfLink: `https://container.googleapis.com/v1/projects/${c.project}/locations/${c.location}/clusters/${c.name}/nodePools/${p.name}`,
    config: { machineType: "e2-standard-4" },
    locations: p.locations,
    instanceGroupUrls: p.locations.map(
      (zone) =>
        `https://www.googleapis.com/compute/v1/projects/${c.project}/zones/${zone}/instanceGroupManagers/gke-${c.name}-${p.name}-${groupId(c, p, zone)}-grp`,
    ),
    ...(p.autoscaling ? { autoscaling: { enabled: true, minNodeCount: 1, maxNodeCount: 10 } } : {}),
  });

  const operationBody = (
    op: PendingOperation,
    status: keyof typeof OPERATION_STATUS,
    request: RecordedRequest,
  ) => ({
    ...op.body,
    status: enumValue(OPERATION_STATUS, status, request),
    operationType: numeric(request) ? SET_NODE_POOL_SIZE : "SET_NODE_POOL_SIZE",
  });

  const find = (project: string, location: string, name: string): FakeGkeCluster | undefined =>
    clusters.find((c) => c.project === project && c.location === location && c.name === name);

  const route = (request: RecordedRequest): CloudReply => {
    const notFound = (what: string): CloudReply =>
      googleError(404, "NOT_FOUND", `Not found: ${what}.`, request.requestId);
    // /v1/projects/{p}/locations/{l}/...
    const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/(.*)$/.exec(request.path);
    if (!m) return notFound(request.path);
    const [, project = "", location = "", rest = ""] = m;
    const path = `projects/${project}/locations/${location}`;

    if (rest === "clusters" && request.method === "GET") {
      const found = clusters.filter(
        (c) => c.project === project && (location === "-" || c.location === location),
      );
      return { status: 200, body: { clusters: found.map((c) => clusterBody(c, request)) } };
    }
    const opMatch = /^operations\/([^/]+)$/.exec(rest);
    if (opMatch && request.method === "GET") {
      const op = operations.get(opMatch[1] ?? "");
      if (!op) return notFound(`${path}/${rest}`);
      if (!op.done && op.pollsLeft > 0) {
        op.pollsLeft -= 1;
        return { status: 200, body: operationBody(op, "RUNNING", request) };
      }
      op.complete();
      return {
        status: 200,
        body: { ...operationBody(op, "DONE", request), endTime: new Date().toISOString() },
      };
    }
    const clusterMatch = /^clusters\/([^/]+?)(\/nodePools\/([^/:]+)(:setSize)?)?$/.exec(rest);
    if (!clusterMatch) return notFound(`${path}/${rest}`);
    const [, clusterName = "", , poolName, setSize] = clusterMatch;
    const cluster = find(project, location, clusterName);
    if (!cluster) return notFound(`${path}/clusters/${clusterName}`);
    if (!poolName) {
      return request.method === "GET"
        ? { status: 200, body: clusterBody(cluster, request) }
        : googleError(405, "UNIMPLEMENTED", "Method not allowed.", request.requestId);
    }
    const pool = cluster.nodePools.find((p) => p.name === poolName);
    if (!pool) return notFound(`${path}/clusters/${clusterName}/nodePools/${poolName}`);
    if (!setSize && request.method === "GET") return { status: 200, body: poolBody(cluster, pool, request) };
    if (setSize && request.method === "POST") {
      let nodeCount: unknown;
      try {
        nodeCount = (JSON.parse(request.body) as { nodeCount?: unknown }).nodeCount ?? 0;
      } catch {
        return googleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", request.requestId);
      }
      if (typeof nodeCount !== "number" || !Number.isInteger(nodeCount) || nodeCount < 0) {
        return googleError(
          400,
          "INVALID_ARGUMENT",
          `Invalid value for field 'nodeCount': ${String(nodeCount)}.`,
          request.requestId,
        );
      }
      const busy = running.get(cluster);
      if (busy || cluster.status !== "RUNNING") {
        return googleError(
          400,
          "FAILED_PRECONDITION",
          `Cluster is running incompatible operation ${busy ?? "operation-reconcile"}.`,
          request.requestId,
        );
      }
      operationIds += 1;
      const id = `operation-${Date.now()}-${operationIds}`;
      pool.status = "RECONCILING";
      const op: PendingOperation = {
        body: {
          name: id,
          zone: location,
          location,
          selfLink: `https://container.googleapis.com/v1/${path}/operations/${id}`,
          targetLink: `https://container.googleapis.com/v1/${path}/clusters/${clusterName}/nodePools/${poolName}`,
          startTime: new Date().toISOString(),
        },
        pollsLeft: operationPolls,
        done: false,
        complete: () => {
          if (op.done) return;
          op.done = true;
          clearTimeout(op.timer);
          pool.nodeCount = nodeCount as number;
          pool.status = "RUNNING";
          running.delete(cluster);
          fake.onPoolResized?.(cluster, pool);
        },
        timer: setTimeout(() => op.complete(), fake.operationMs).unref(),
      };
      operations.set(id, op);
      running.set(cluster, id);
      return { status: 200, body: operationBody(op, "RUNNING", request) };
    }
    return notFound(`${path}/${rest}`);
  };

  const throttleSeconds = options.throttleRetrySeconds ?? 1;
  const api = await startCloudApi({
    requestIdHeader: "x-fake-request-id",
    isWrite: (r) => r.method === "POST",
    isRead: (r) =>
      r.method === "GET" && /\/(clusters\/[^/]+(\/nodePools\/[^/]+)?|operations\/[^/]+)$/.test(r.path),
    faultReply: (fault, request) => {
      switch (fault) {
        case "throttle":
          return googleError(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' of service 'container.googleapis.com'.",
            request.requestId,
            [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${throttleSeconds}s` }],
          );
        case "server-error":
          return googleError(503, "UNAVAILABLE", "The service is currently unavailable.", request.requestId);
        case "conflict":
          return googleError(
            400,
            "FAILED_PRECONDITION",
            "Cluster is running incompatible operation operation-elsewhere.",
            request.requestId,
          );
        case "eventual-consistency":
          return googleError(
            404,
            "NOT_FOUND",
            `Not found: ${request.path.replace(/^\/v1\//, "")}.`,
            request.requestId,
          );
      }
    },
    handle: (request) => {
      if (request.headers.authorization !== `Bearer ${token}`) {
        return googleError(
          401,
          "UNAUTHENTICATED",
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
          request.requestId,
        );
      }
      return route(request);
    },
    onRequest: (request) => fake.onRequest?.(request),
  });

  const fake: GkeFake = {
    onRequest: undefined,
    onPoolResized: undefined,
    operationMs: options.operationMs ?? 1_000,
    url: api.url,
    port: api.port,
    token,
    requests: api.requests,
    faults: api.faults,
    addCluster(spec) {
      const cluster: FakeGkeCluster = {
        project: spec.project,
        location: spec.location,
        name: spec.name,
        status: spec.status ?? "RUNNING",
        endpoint: spec.endpoint ?? "203.0.113.10",
        privateEndpoint: spec.privateEndpoint === null ? undefined : (spec.privateEndpoint ?? "10.128.0.2"),
        dnsEndpoint:
          spec.dnsEndpoint === null
            ? undefined
            : (spec.dnsEndpoint ?? dnsEndpointName(spec.project, spec.location, spec.name)),
        ipEndpointsEnabled: spec.ipEndpointsEnabled ?? true,
        publicEndpointEnabled: spec.publicEndpointEnabled ?? true,
        dnsAllowExternalTraffic: spec.dnsAllowExternalTraffic ?? false,
        clusterCaCertificate: spec.clusterCaCertificate ?? Buffer.from("not a real CA").toString("base64"),
        nodePools: (spec.nodePools ?? [{ name: "default-pool", nodeCount: 3 }]).map((p) => ({
          name: p.name,
          nodeCount: p.nodeCount,
          locations: [
            ...(p.locations ??
              (regionOf(spec.location) === spec.location
                ? ["b", "c", "d"].map((zone) => `${spec.location}-${zone}`)
                : [spec.location])),
          ],
          initialNodeCount: p.nodeCount,
          status: "RUNNING",
          autoscaling: p.autoscaling ?? false,
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
