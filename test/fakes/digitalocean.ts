import { randomUUID } from "node:crypto";
import { type CloudReply, type FaultPlan, type RecordedRequest, startCloudApi } from "./cloud-api.ts";

// A fake DigitalOcean API v2 serving the Kubernetes endpoints the DOKS adapter uses, shaped after
// DigitalOcean's OpenAPI description (https://github.com/digitalocean/openapi,
// specification/resources/kubernetes) and API reference (https://docs.digitalocean.com/reference/api/):
// - GET /v2/kubernetes/clusters (paged: `page`, `per_page`, `links.pages.next`, `meta.total`),
// - GET /v2/kubernetes/clusters/{id}, GET …/{id}/credentials?expiry_seconds=,
// - GET and PUT …/{id}/node_pools/{pool_id} (PUT needs `name` and `count`, answers 202): the pool
//   reads at once with the new `count`, its new nodes `provisioning` (or its extra ones `deleting`)
//   until it has been read a few times or, as on DigitalOcean, a while has passed, read or not,
// - `ratelimit-limit` / `ratelimit-remaining` / `ratelimit-reset` on every answer, 429 with
//   Retry-After when throttled (https://docs.digitalocean.com/notes/2023/api-rate-limit),
// - errors as `{ id, message, request_id }` with an `x-request-id` header.

export interface FakeDoNode {
  readonly id: string;
  readonly name: string;
  state: "provisioning" | "running" | "draining" | "deleting";
}

export interface FakeDoNodePool {
  readonly id: string;
  name: string;
  size: string;
  count: number;
  tags: string[];
  labels: Record<string, string> | null;
  taints: unknown[];
  autoScale: boolean;
  readonly nodes: FakeDoNode[];
}

export interface FakeDoCluster {
  readonly id: string;
  readonly name: string;
  region: string;
  state: "running" | "provisioning" | "degraded" | "error" | "deleted" | "upgrading" | "deleting";
  /** What `/credentials` hands out. */
  server: string;
  caData: string;
  token: string | null;
  clientCertificateData: string | null;
  clientKeyData: string | null;
  readonly nodePools: FakeDoNodePool[];
}

export interface DoClusterSpec {
  readonly name: string;
  readonly region: string;
  readonly id?: string;
  readonly state?: FakeDoCluster["state"];
  readonly server?: string;
  readonly caData?: string;
  /** The cluster token `/credentials` hands out; null for a cluster on client certificates. */
  readonly token?: string | null;
  readonly nodePools?: readonly { name: string; count: number; autoScale?: boolean; tags?: string[] }[];
}

export interface DigitalOceanFakeOptions {
  /** The personal access token the API accepts. Default `dop_v1_test`. */
  readonly token?: string;
  /** Reads of a resized node pool before its new nodes run. Default 1. */
  readonly nodePolls?: number;
  /** How long a resized node pool's nodes take to run (or go), read or not, in ms. Default 1000. */
  readonly resizeMs?: number;
  /** Retry-After (seconds) sent with injected throttling. Default 1. */
  readonly throttleRetryAfterSeconds?: number;
  /** The hourly request limit reported in `ratelimit-*`. Default 5000. */
  readonly rateLimit?: number;
}

export interface DigitalOceanFake {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly token: string;
  readonly requests: RecordedRequest[];
  readonly faults: FaultPlan;
  /** Sees each request before anything else, e.g. to inject a fault at a precise moment. */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  /** How long the nodes of pools resized from now take to run (or go), in ms. */
  resizeMs: number;
  addCluster(spec: DoClusterSpec): FakeDoCluster;
  cluster(id: string): FakeDoCluster | undefined;
  /** Reports the rate limit as spent until `resetInSeconds` from now, as the real API would. */
  spendRateLimit(resetInSeconds: number): void;
  close(): Promise<void>;
}

const doError = (status: number, id: string, message: string, request: RecordedRequest): CloudReply => ({
  status,
  body: { id, message, request_id: request.requestId },
});

export const startDigitalOceanFake = async (
  options: DigitalOceanFakeOptions = {},
): Promise<DigitalOceanFake> => {
  const token = options.token ?? "dop_v1_test";
  const nodePolls = options.nodePolls ?? 1;
  const hourly = options.rateLimit ?? 5000;
  const clusters: FakeDoCluster[] = [];
  /** Per node pool being resized: reads left before its nodes settle, and the timer that settles them. */
  const settling = new Map<FakeDoNodePool, { reads: number; readonly timer: NodeJS.Timeout }>();
  let used = 0;
  let spentUntil = 0;
  let nodeNames = 0;

  const newNode = (pool: FakeDoNodePool, state: FakeDoNode["state"]): FakeDoNode => {
    nodeNames += 1;
    return { id: randomUUID(), name: `${pool.name}-${nodeNames.toString(36)}`, state };
  };

  const poolBody = (c: FakeDoCluster, p: FakeDoNodePool): unknown => ({
    id: p.id,
    name: p.name,
    size: p.size,
    count: p.count,
    tags: ["k8s", `k8s:${c.id}`, "k8s-worker", ...p.tags],
    labels: p.labels,
    taints: p.taints,
    auto_scale: p.autoScale,
    min_nodes: p.autoScale ? 1 : 0,
    max_nodes: p.autoScale ? 10 : 0,
    nodes: p.nodes.map((n) => ({
      id: n.id,
      name: n.name,
      status: { state: n.state },
      droplet_id: String(100_000 + nodeNames),
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
    })),
  });

  const clusterBody = (c: FakeDoCluster): unknown => ({
    id: c.id,
    name: c.name,
    region: c.region,
    version: "1.33.1-do.0",
    cluster_subnet: "10.244.0.0/16",
    service_subnet: "10.245.0.0/16",
    ipv4: "203.0.113.20",
    endpoint: `https://${c.id}.k8s.ondigitalocean.com`,
    tags: ["k8s", `k8s:${c.id}`],
    node_pools: c.nodePools.map((p) => poolBody(c, p)),
    auto_upgrade: false,
    status: { state: c.state },
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    surge_upgrade: true,
  });

  /** A resized pool's nodes run (or go), as its droplets are made (or removed). */
  const settle = (pool: FakeDoNodePool): void => {
    const resizing = settling.get(pool);
    if (!resizing) return;
    clearTimeout(resizing.timer);
    settling.delete(pool);
    pool.nodes.splice(pool.count);
    for (const node of pool.nodes) node.state = "running";
  };
  /** Each read brings a resized pool closer: it settles on the read after the last one left. */
  const read = (pool: FakeDoNodePool): void => {
    const resizing = settling.get(pool);
    if (resizing && resizing.reads > 0) resizing.reads -= 1;
    else settle(pool);
  };

  const route = (request: RecordedRequest): CloudReply => {
    const notFound = (): CloudReply =>
      doError(404, "not_found", "The resource you were accessing could not be found.", request);
    if (request.path === "/v2/kubernetes/clusters" && request.method === "GET") {
      const perPage = Math.min(200, Math.max(1, Number(request.query.per_page ?? "20")));
      const page = Math.max(1, Number(request.query.page ?? "1"));
      const slice = clusters.slice((page - 1) * perPage, page * perPage);
      const last = Math.max(1, Math.ceil(clusters.length / perPage));
      const link = (n: number): string =>
        `https://api.digitalocean.com/v2/kubernetes/clusters?page=${n}&per_page=${perPage}`;
      const pages = {
        ...(page > 1 ? { first: link(1), prev: link(page - 1) } : {}),
        ...(page < last ? { next: link(page + 1), last: link(last) } : {}),
      };
      return {
        status: 200,
        body: {
          kubernetes_clusters: slice.map(clusterBody),
          links: { pages },
          meta: { total: clusters.length },
        },
      };
    }
    const m = /^\/v2\/kubernetes\/clusters\/([^/]+)(?:\/(credentials|node_pools\/([^/]+)))?$/.exec(
      request.path,
    );
    if (!m) return notFound();
    const cluster = clusters.find((c) => c.id === m[1]);
    if (!cluster) return notFound();
    if (!m[2] && request.method === "GET")
      return { status: 200, body: { kubernetes_cluster: clusterBody(cluster) } };
    if (m[2] === "credentials" && request.method === "GET") {
      const seconds = Number(request.query.expiry_seconds ?? "0") || 7 * 24 * 3600;
      return {
        status: 200,
        body: {
          server: cluster.server,
          certificate_authority_data: cluster.caData,
          client_certificate_data: cluster.clientCertificateData,
          client_key_data: cluster.clientKeyData,
          ...(cluster.token ? { token: cluster.token } : {}),
          expires_at: new Date(Date.now() + seconds * 1000).toISOString(),
        },
      };
    }
    const pool = cluster.nodePools.find((p) => p.id === m[3]);
    if (!pool) return notFound();
    if (request.method === "GET") {
      read(pool);
      return { status: 200, body: { node_pool: poolBody(cluster, pool) } };
    }
    if (request.method === "PUT") {
      let body: { name?: unknown; count?: unknown; tags?: unknown; labels?: unknown; taints?: unknown };
      try {
        body = JSON.parse(request.body) as typeof body;
      } catch {
        return doError(400, "bad_request", "error parsing request body", request);
      }
      if (
        typeof body.name !== "string" ||
        typeof body.count !== "number" ||
        !Number.isInteger(body.count) ||
        body.count < 0
      ) {
        return doError(
          422,
          "unprocessable_entity",
          "name and count are required; count must be a whole number",
          request,
        );
      }
      pool.name = body.name;
      pool.count = body.count;
      if (Array.isArray(body.tags)) pool.tags = body.tags.filter((t): t is string => typeof t === "string");
      while (pool.nodes.length < pool.count) pool.nodes.push(newNode(pool, "provisioning"));
      for (const node of pool.nodes.slice(pool.count)) node.state = "deleting";
      clearTimeout(settling.get(pool)?.timer);
      settling.set(pool, { reads: nodePolls, timer: setTimeout(() => settle(pool), fake.resizeMs).unref() });
      return { status: 202, body: { node_pool: poolBody(cluster, pool) } };
    }
    return doError(405, "method_not_allowed", "Method not allowed.", request);
  };

  const rateHeaders = (): Record<string, string> => {
    const now = Date.now();
    const spent = spentUntil > now;
    return {
      "ratelimit-limit": String(hourly),
      "ratelimit-remaining": String(spent ? 0 : Math.max(0, hourly - used)),
      "ratelimit-reset": String(Math.ceil((spent ? spentUntil : now + 3_600_000) / 1000)),
    };
  };
  const withRate = (reply: CloudReply): CloudReply => ({
    ...reply,
    headers: { ...rateHeaders(), ...reply.headers },
  });

  const throttleAfter = String(options.throttleRetryAfterSeconds ?? 1);
  const api = await startCloudApi({
    requestIdHeader: "x-request-id",
    isWrite: (r) => r.method === "PUT" || r.method === "POST" || r.method === "DELETE",
    isRead: (r) =>
      r.method === "GET" && /^\/v2\/kubernetes\/clusters\/[^/]+(\/node_pools\/[^/]+)?$/.test(r.path),
    faultReply: (fault, request) => {
      switch (fault) {
        case "throttle":
          return withRate({
            ...doError(429, "too_many_requests", "API Rate limit exceeded.", request),
            headers: { "retry-after": throttleAfter },
          });
        case "server-error":
          return withRate(doError(500, "server_error", "Unexpected server-side error", request));
        case "conflict":
          return withRate(
            doError(409, "conflict", "The node pool is being updated; try again later.", request),
          );
        case "eventual-consistency":
          return withRate(
            doError(404, "not_found", "The resource you were accessing could not be found.", request),
          );
      }
    },
    handle: (request) => {
      used += 1;
      if (request.headers.authorization !== `Bearer ${token}`) {
        return withRate(doError(401, "unauthorized", "Unable to authenticate you.", request));
      }
      if (spentUntil > Date.now()) {
        return withRate({
          ...doError(429, "too_many_requests", "API Rate limit exceeded.", request),
          headers: { "retry-after": String(Math.ceil((spentUntil - Date.now()) / 1000)) },
        });
      }
      return withRate(route(request));
    },
    onRequest: (request) => fake.onRequest?.(request),
  });

  const fake: DigitalOceanFake = {
    onRequest: undefined,
    resizeMs: options.resizeMs ?? 1_000,
    url: api.url,
    token,
    requests: api.requests,
    faults: api.faults,
    addCluster(spec) {
      const cluster: FakeDoCluster = {
        id: spec.id ?? randomUUID(),
        name: spec.name,
        region: spec.region,
        state: spec.state ?? "running",
        server: spec.server ?? "https://203.0.113.20",
        caData: spec.caData ?? Buffer.from("not a real CA").toString("base64"),
        token: spec.token === undefined ? "doks-cluster-token" : spec.token,
        clientCertificateData: spec.token === null ? Buffer.from("client cert").toString("base64") : null,
        clientKeyData: spec.token === null ? Buffer.from("client key").toString("base64") : null,
        nodePools: [],
      };
      for (const p of spec.nodePools ?? [{ name: "pool-1", count: 2 }]) {
        const pool: FakeDoNodePool = {
          id: randomUUID(),
          name: p.name,
          size: "s-2vcpu-4gb",
          count: p.count,
          tags: p.tags ?? [],
          labels: null,
          taints: [],
          autoScale: p.autoScale ?? false,
          nodes: [],
        };
        for (let i = 0; i < p.count; i += 1) pool.nodes.push(newNode(pool, "running"));
        cluster.nodePools.push(pool);
      }
      clusters.push(cluster);
      return cluster;
    },
    cluster: (id) => clusters.find((c) => c.id === id),
    spendRateLimit(resetInSeconds) {
      spentUntil = Date.now() + resetInSeconds * 1000;
    },
    close: async () => {
      for (const { timer } of settling.values()) clearTimeout(timer);
      await api.close();
    },
  };
  return fake;
};
