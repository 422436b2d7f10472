import { randomUUID } from "node:crypto";
import { iso, type Json, notFound, Refusal } from "./api-objects.ts";
import { labelSelector } from "./label-selector.ts";

// The Nodes of the fake cluster. Nothing here creates them: a test says which exist, as a cloud's
// node pools would register them. Read as the API server serves them
// (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/), listed in name
// order, filtered by `labelSelector`, and paged by `limit` and `continue`
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks).

/** One node a test says is registered. */
export interface FakeNodeSpec {
  readonly name: string;
  /** Its labels, besides the `kubernetes.io/hostname`, `/os` and `/arch` every kubelet sets. */
  readonly labels?: Readonly<Record<string, string>>;
  /** `spec.providerID`, e.g. `gce://<project>/<zone>/<instance>`. */
  readonly providerID?: string;
  /** Whether its kubelet reports Ready. Default true. */
  readonly ready?: boolean;
}

interface NodeRecord {
  spec: FakeNodeSpec;
  readonly uid: string;
  readonly createdAtMs: number;
  readonly podCidr: string;
  resourceVersion: string;
}

export interface FakeNodes {
  /**
   * Makes the registered nodes exactly `specs`: new names register, absent ones go, and the others
   * keep their uid and age but take the new labels and readiness.
   */
  set(specs: readonly FakeNodeSpec[]): void;
  /** A node as `GET /api/v1/nodes/{name}` shows it; a 404 Refusal when there is none. */
  get(name: string): Json;
  /** Every node, as GETs show them, in name order. */
  all(): Json[];
  /** The `NodeList` that `GET /api/v1/nodes` answers for `query`; a 400 Refusal for a bad one. */
  list(query: Readonly<Record<string, string>>): Json;
}

/** The continue token: like the API server's, base64 of where the next page starts. */
const encodeContinue = (resourceVersion: string, after: string): string =>
  Buffer.from(
    JSON.stringify({ v: "meta.k8s.io/v1", rv: Number(resourceVersion), start: `${after}\u0000` }),
  ).toString("base64");

const decodeContinue = (token: string): string => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "start" in parsed &&
      typeof parsed.start === "string"
    ) {
      return parsed.start;
    }
  } catch {
    // Falls through to the refusal.
  }
  throw new Refusal(400, "BadRequest", "continue key is not valid: invalid continue token");
};

/** `resourceVersion()` is the cluster's current one; `nextVersion()` moves it on. */
export const createFakeNodes = (versions: {
  readonly nextVersion: () => string;
  readonly resourceVersion: () => string;
}): FakeNodes => {
  const nodes = new Map<string, NodeRecord>();
  let cidrs = 0;

  const view = (r: NodeRecord): Json => {
    const ready = r.spec.ready ?? true;
    const created = iso(r.createdAtMs);
    return {
      metadata: {
        name: r.spec.name,
        uid: r.uid,
        resourceVersion: r.resourceVersion,
        creationTimestamp: created,
        labels: {
          "kubernetes.io/arch": "amd64",
          "kubernetes.io/hostname": r.spec.name,
          "kubernetes.io/os": "linux",
          ...r.spec.labels,
        },
      },
      spec: {
        podCIDR: r.podCidr,
        podCIDRs: [r.podCidr],
        ...(r.spec.providerID ? { providerID: r.spec.providerID } : {}),
      },
      status: {
        capacity: { cpu: "4", "ephemeral-storage": "98831908Ki", memory: "16393900Ki", pods: "110" },
        allocatable: { cpu: "3920m", "ephemeral-storage": "47060071478", memory: "13283500Ki", pods: "110" },
        conditions: [
          {
            type: "Ready",
            status: ready ? "True" : "False",
            lastHeartbeatTime: iso(Date.now()),
            lastTransitionTime: created,
            reason: ready ? "KubeletReady" : "KubeletNotReady",
            message: ready ? "kubelet is posting ready status" : "container runtime network not ready",
          },
        ],
        addresses: [
          { type: "InternalIP", address: `10.128.0.${(Number(r.podCidr.split(".")[2]) % 250) + 2}` },
          { type: "Hostname", address: r.spec.name },
        ],
        nodeInfo: {
          machineID: r.uid.replace(/-/g, ""),
          systemUUID: r.uid,
          bootID: r.uid,
          kernelVersion: "6.6.56+",
          osImage: "Container-Optimized OS from Google",
          containerRuntimeVersion: "containerd://1.7.24",
          kubeletVersion: "v1.31.0",
          kubeProxyVersion: "v1.31.0",
          operatingSystem: "linux",
          architecture: "amd64",
        },
      },
    };
  };

  const sorted = (): NodeRecord[] =>
    [...nodes.values()].sort((a, b) => (a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0));

  return {
    set(specs) {
      const wanted = new Set(specs.map((s) => s.name));
      for (const name of nodes.keys()) if (!wanted.has(name)) nodes.delete(name);
      for (const spec of specs) {
        const known = nodes.get(spec.name);
        if (known) {
          if (JSON.stringify(known.spec) !== JSON.stringify(spec)) {
            known.spec = spec;
            known.resourceVersion = versions.nextVersion();
          }
          continue;
        }
        cidrs += 1;
        nodes.set(spec.name, {
          spec,
          uid: randomUUID(),
          createdAtMs: Date.now(),
          podCidr: `10.244.${cidrs % 256}.0/24`,
          resourceVersion: versions.nextVersion(),
        });
      }
    },
    get(name) {
      const r = nodes.get(name);
      if (!r) throw notFound("Node", name);
      return { kind: "Node", apiVersion: "v1", ...view(r) };
    },
    all: () => sorted().map(view),
    list(query) {
      if (query.fieldSelector) {
        throw new Refusal(400, "BadRequest", "the fake API server supports no fieldSelector on nodes");
      }
      const selected = labelSelector(query.labelSelector ?? "");
      const limit = query.limit === undefined ? 0 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 0) {
        throw new Refusal(
          400,
          "BadRequest",
          `limit: Invalid value: "${query.limit}": must be a non-negative integer`,
        );
      }
      const start = query.continue ? decodeContinue(query.continue) : "";
      const matching = sorted()
        .map(view)
        .filter((n) => {
          const meta = n.metadata as { name: string; labels: Record<string, string> };
          return meta.name >= start && selected(meta.labels);
        });
      const page = limit > 0 ? matching.slice(0, limit) : matching;
      const remaining = matching.length - page.length;
      const last = page.at(-1)?.metadata as { name: string } | undefined;
      const resourceVersion = versions.resourceVersion();
      return {
        kind: "NodeList",
        apiVersion: "v1",
        metadata: {
          resourceVersion,
          ...(remaining > 0 && last
            ? { continue: encodeContinue(resourceVersion, last.name), remainingItemCount: remaining }
            : {}),
        },
        items: page,
      };
    },
  };
};
