// A local Kubernetes API server for the subset devsim uses: namespaces, Deployments (with the scale
// subresource) and Services, written by server-side apply, and Nodes, read only (a test says which
// exist), served over plain http. Shaped after
// https://kubernetes.io/docs/reference/kubernetes-api/ and the API conventions
// (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md).
// Deployment status moves over time as a controller would move it, computed when read.

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { z } from "zod";
import type { ContractFault, FaultInjector } from "../../adapters/contract.ts";
import { closeServer, listenOnLoopback } from "../support/http-servers.ts";
import {
  badRequest,
  canonical,
  causesOf,
  DeleteOptions,
  DeploymentSpec,
  DISCOVERY,
  Envelope,
  type FakeKind,
  fieldSet,
  invalid,
  isObject,
  iso,
  type Json,
  Meta,
  modified,
  notFound,
  RESOURCES,
  Refusal,
  ScaleBody,
  ServiceSpec,
} from "./kubernetes/api-objects.ts";
import { controllerStatus, imageOf } from "./kubernetes/deployment-controller.ts";
import { createFakeNodes, type FakeNodeSpec } from "./kubernetes/nodes.ts";

export type { FakeKind } from "./kubernetes/api-objects.ts";
export type { FakeNodeSpec } from "./kubernetes/nodes.ts";
export { devsimRawReader } from "./kubernetes/raw-reader.ts";

/** One request as it arrived, and what it was answered. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly userAgent: string | undefined;
  /** Parsed JSON, else the raw text, else undefined for an empty body. */
  readonly body: unknown;
  /** The status answered; null while the answer is held back (the timeout fault). */
  readonly status: number | null;
  /** The `Audit-Id` header of the answer. */
  readonly auditId: string;
}

export interface FakeKubernetesOptions {
  /** Bearer tokens accepted; without this option every request is accepted. */
  readonly tokens?: Iterable<string>;
  /** Time before the controller observes a Deployment's new spec (`observedGeneration`). Default 10 ms. */
  readonly observeMs?: number;
  /** Time pods take to become ready after a change. Default 100 ms. */
  readonly readyAfterMs?: number;
  /** Time a foreground deletion waits for the Deployment's pods to go. Default 50 ms. */
  readonly terminationMs?: number;
  /** Time before a LoadBalancer Service gets an ingress address. Default 100 ms. */
  readonly loadBalancerAfterMs?: number;
  /** `Retry-After` of the throttling fault, in seconds. Default 1. */
  readonly retryAfterSeconds?: number;
}

export interface FakeKubernetes {
  /** The API server's base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** How many TCP connections clients have opened so far. */
  readonly connections: () => number;
  /** The contract's faults, counted in calls: throttle, timeout, server-error, conflict, eventual-consistency. */
  readonly faults: FaultInjector;
  /** The accepted bearer tokens, or null when any request is accepted; tests may change it. */
  readonly tokens: Set<string> | null;
  /** Pods of Deployments running `image` never become ready, so their rollouts hit their progress deadline. */
  stall(image: string): void;
  /**
   * Makes the registered Nodes exactly `nodes`: new names register, absent ones go, the others keep
   * their uid and age. A cloud's node pools do this on a real cluster.
   */
  setNodes(nodes: readonly FakeNodeSpec[]): void;
  /** An object as a GET would show it now, status included; faults do not apply. */
  object(kind: FakeKind, namespace: string | null, name: string): Json | undefined;
  /** Every object of a kind, as GETs would show them. */
  objects(kind: FakeKind): Json[];
  close(): Promise<void>;
}

interface Stored {
  readonly kind: FakeKind;
  object: Json;
  readonly createdAtMs: number;
  /** Order of creation, to tell objects made since a fault was injected. */
  readonly createdSeq: number;
  /** When a foreground deletion completes. */
  deleteAtMs: number | null;
  /** When the Deployment's spec last changed, and its status and ready pods just before. */
  changedAtMs: number;
  statusBefore: Json;
  readyBefore: number;
  /** The field manager owning `.spec.replicas` of a Deployment. */
  replicasOwner: string | null;
  /** The address a LoadBalancer Service gets once the cloud has provisioned it. */
  readonly ingressIp: string;
}

type Route =
  | { readonly nodes: true; readonly name: string | null }
  | {
      readonly kind: FakeKind;
      readonly namespace: string | null;
      readonly name: string;
      readonly scale: boolean;
    }
  | { readonly discovery: Json };

/** Starts the fake on 127.0.0.1 at a free port. */
export const startFakeKubernetes = async (options: FakeKubernetesOptions = {}): Promise<FakeKubernetes> => {
  const observeMs = options.observeMs ?? 10;
  const readyAfterMs = options.readyAfterMs ?? 100;
  const terminationMs = options.terminationMs ?? 50;
  const loadBalancerAfterMs = options.loadBalancerAfterMs ?? 100;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const tokens = options.tokens ? new Set(options.tokens) : null;

  const store = new Map<string, Stored>();
  const requests: RecordedRequest[] = [];
  const stalled = new Set<string>();
  const pending = new Map<ContractFault, number>();
  let created = 0;
  let consistencySince = 0;
  let serverErrors = 0;
  let resourceVersion = 1000;
  let addresses = 0;
  const held = new Set<ServerResponse>();

  const keyOf = (kind: FakeKind, namespace: string | null, name: string): string =>
    `${kind}/${namespace ?? ""}/${name}`;
  const nextVersion = (): string => String(++resourceVersion);
  const nodes = createFakeNodes({ nextVersion, resourceVersion: () => String(resourceVersion) });

  /** Takes one call of a pending fault, if any is left. */
  const take = (fault: ContractFault): boolean => {
    const left = pending.get(fault) ?? 0;
    if (left <= 0) return false;
    pending.set(fault, left - 1);
    return true;
  };

  /** Foreground deletions whose pods have gone complete. */
  const purge = (now: number): void => {
    for (const [key, s] of store) if (s.deleteAtMs !== null && s.deleteAtMs <= now) store.delete(key);
  };

  const deploymentStatus = (s: Stored, now: number): Json =>
    controllerStatus({ ...s, stalled: stalled.has(imageOf(s.object)) }, now, { observeMs, readyAfterMs });

  /** The object as a GET shows it: a copy, with its status. */
  const view = (s: Stored, now: number): Json => {
    const copy = structuredClone(s.object);
    if (s.kind === "Deployment") copy.status = deploymentStatus(s, now);
    if (s.kind === "Namespace") copy.status = { phase: s.deleteAtMs === null ? "Active" : "Terminating" };
    if (s.kind === "Service") {
      const spec = ServiceSpec.safeParse(copy.spec);
      const assigned =
        spec.success && spec.data.type === "LoadBalancer" && now - s.createdAtMs >= loadBalancerAfterMs;
      copy.status = { loadBalancer: assigned ? { ingress: [{ ip: s.ingressIp, ipMode: "VIP" }] } : {} };
    }
    return copy;
  };

  const scaleOf = (s: Stored, now: number): Json => {
    const meta = Meta.parse(s.object.metadata);
    const spec = DeploymentSpec.parse(s.object.spec);
    const status = deploymentStatus(s, now);
    return {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: {
        name: meta.name,
        namespace: meta.namespace,
        uid: isObject(s.object.metadata) ? s.object.metadata.uid : undefined,
        resourceVersion: meta.resourceVersion,
        creationTimestamp: iso(s.createdAtMs),
      },
      spec: { replicas: spec.replicas ?? 1 },
      status: {
        replicas: typeof status.replicas === "number" ? status.replicas : 0,
        selector: Object.entries(spec.selector.matchLabels)
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      },
    };
  };

  /** Marks a change of a Deployment's spec: the controller starts over from the status it had. */
  const restartRollout = (s: Stored, now: number): void => {
    const before = deploymentStatus(s, now);
    s.statusBefore = before;
    s.readyBefore = typeof before.readyReplicas === "number" ? before.readyReplicas : 0;
    s.changedAtMs = now;
  };

  const managedEntry = (
    manager: string,
    operation: string,
    apiVersion: string,
    fields: Json,
    subresource?: string,
  ) => ({
    manager,
    operation,
    apiVersion,
    time: iso(Date.now()),
    fieldsType: "FieldsV1",
    fieldsV1: fields,
    ...(subresource ? { subresource } : {}),
  });

  const setManaged = (s: Stored, entry: Json): void => {
    const meta = s.object.metadata as Json;
    const others = (Array.isArray(meta.managedFields) ? meta.managedFields : []).filter(
      (e: unknown) =>
        !(
          isObject(e) &&
          e.manager === entry.manager &&
          e.operation === entry.operation &&
          e.subresource === entry.subresource
        ),
    );
    meta.managedFields = [...others, entry];
  };

  const requireNamespace = (namespace: string): void => {
    const ns = store.get(keyOf("Namespace", null, namespace));
    if (!ns) throw notFound("Namespace", namespace);
  };

  /** A read of an object made since eventual consistency was injected may miss it, for a counted number of reads. */
  const lagging = (s: Stored): boolean =>
    s.kind === "Deployment" && s.createdSeq > consistencySince && take("eventual-consistency");

  const apply = (
    route: { kind: FakeKind; namespace: string | null; name: string },
    query: Record<string, string>,
    contentType: string | undefined,
    text: string,
    now: number,
  ): { code: number; body: Json } => {
    const { kind, namespace, name } = route;
    if (contentType !== "application/apply-patch+yaml") {
      throw new Refusal(
        415,
        "UnsupportedMediaType",
        `the fake API server supports server-side apply (application/apply-patch+yaml) only, not ${contentType ?? "no content type"}`,
      );
    }
    const manager = query.fieldManager;
    if (!manager) {
      throw new Refusal(
        422,
        "Invalid",
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        {
          group: "meta.k8s.io",
          kind: "PatchOptions",
          causes: [
            {
              reason: "FieldValueRequired",
              message: "Required value: is required for apply patch",
              field: "fieldManager",
            },
          ],
        },
      );
    }
    const force = query.force === "true";
    let body: unknown;
    try {
      // JSON is YAML; the fake reads that subset, which is what clients send.
      body = JSON.parse(text);
    } catch (error) {
      throw badRequest(`error decoding YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
    const envelope = Envelope.safeParse(body);
    if (!envelope.success)
      throw badRequest(
        `Object 'Kind' is missing or the object is malformed: ${z.prettifyError(envelope.error)}`,
      );
    const { apiVersion, metadata } = envelope.data;
    if (envelope.data.kind !== kind || apiVersion !== RESOURCES[kind].apiVersion) {
      throw badRequest(
        `the API version in the data (${apiVersion}) and kind (${envelope.data.kind}) do not match the URL`,
      );
    }
    if (metadata.name !== name) {
      throw badRequest(
        `the name of the object (${metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (namespace !== null && metadata.namespace !== undefined && metadata.namespace !== namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const appliedSpec = isObject(envelope.data.spec) ? envelope.data.spec : {};
    if (kind === "Deployment") {
      const spec = DeploymentSpec.safeParse(appliedSpec);
      if (!spec.success) throw invalid(kind, name, causesOf(spec.error, "spec"));
      const matches = Object.entries(spec.data.selector.matchLabels).every(
        ([k, v]) => spec.data.template.metadata.labels[k] === v,
      );
      if (!matches) {
        throw invalid(kind, name, [
          { field: "spec.template.metadata.labels", message: "`selector` does not match template `labels`" },
        ]);
      }
    }
    if (kind === "Service") {
      const spec = ServiceSpec.safeParse(appliedSpec);
      if (!spec.success) throw invalid(kind, name, causesOf(spec.error, "spec"));
    }
    if (namespace !== null) requireNamespace(namespace);

    const key = keyOf(kind, namespace, name);
    const existing = store.get(key);
    if (kind !== "Namespace" && take("conflict")) {
      // Someone else wrote meanwhile: what the client read is stale now.
      if (existing) (existing.object.metadata as Json).resourceVersion = nextVersion();
      throw modified(kind, name);
    }
    if (
      existing &&
      metadata.resourceVersion !== undefined &&
      metadata.resourceVersion !== Meta.parse(existing.object.metadata).resourceVersion
    ) {
      throw modified(kind, name);
    }

    // Identity fields (name, namespace) are not owned by anyone.
    const { name: _name, namespace: _namespace, resourceVersion: _version, ...owned } = metadata;
    const fields = fieldSet({ metadata: owned, spec: envelope.data.spec });
    const entry = managedEntry(manager, "Apply", apiVersion, fields);

    if (!existing) {
      const spec: Json = { ...appliedSpec };
      if (kind === "Deployment") {
        spec.replicas ??= 1;
        spec.progressDeadlineSeconds ??= 600;
        spec.revisionHistoryLimit ??= 10;
        spec.strategy ??= {
          type: "RollingUpdate",
          rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
        };
      }
      if (kind === "Service") {
        addresses += 1;
        spec.type ??= "ClusterIP";
        spec.clusterIP = `10.96.${Math.floor(addresses / 250)}.${(addresses % 250) + 1}`;
        spec.clusterIPs = [spec.clusterIP];
        spec.sessionAffinity ??= "None";
      }
      if (kind === "Namespace") spec.finalizers = ["kubernetes"];
      const object: Json = {
        apiVersion,
        kind,
        metadata: {
          ...metadata,
          ...(namespace !== null ? { namespace } : {}),
          uid: randomUUID(),
          resourceVersion: nextVersion(),
          creationTimestamp: iso(now),
          ...(kind === "Deployment" ? { generation: 1 } : {}),
          managedFields: [entry],
        },
        spec,
      };
      store.set(key, {
        kind,
        object,
        createdAtMs: now,
        createdSeq: ++created,
        deleteAtMs: null,
        changedAtMs: now,
        statusBefore: {},
        readyBefore: 0,
        replicasOwner: kind === "Deployment" ? manager : null,
        // TEST-NET-3, the range kept for documentation (RFC 5737).
        ingressIp: `203.0.113.${(addresses % 250) + 1}`,
      });
      const stored = store.get(key);
      if (!stored) throw new Error("stored object vanished");
      return { code: 201, body: view(stored, now) };
    }

    const current = existing.object;
    const currentSpec = isObject(current.spec) ? current.spec : {};
    const nextSpec: Json = { ...currentSpec, ...appliedSpec };
    if (kind === "Deployment") {
      const applied = appliedSpec.replicas;
      if (applied === undefined) {
        // A field this manager does not set stays with whoever set it.
        nextSpec.replicas = currentSpec.replicas;
      } else if (
        applied !== currentSpec.replicas &&
        existing.replicasOwner !== null &&
        existing.replicasOwner !== manager &&
        !force
      ) {
        throw new Refusal(
          409,
          "Conflict",
          `Apply failed with 1 conflict: conflict with "${existing.replicasOwner}" using ${apiVersion}: .spec.replicas`,
          {
            causes: [
              {
                reason: "FieldManagerConflict",
                message: `conflict with "${existing.replicasOwner}"`,
                field: ".spec.replicas",
              },
            ],
          },
        );
      } else {
        existing.replicasOwner = manager;
      }
    }
    if (kind === "Service") {
      nextSpec.clusterIP = currentSpec.clusterIP;
      nextSpec.clusterIPs = currentSpec.clusterIPs;
    }
    const meta = current.metadata as Json;
    const nextLabels = metadata.labels ?? meta.labels;
    const specChanged = canonical(nextSpec) !== canonical(currentSpec);
    const labelsChanged = canonical(nextLabels) !== canonical(meta.labels);
    if (kind === "Deployment" && specChanged) restartRollout(existing, now);
    current.spec = nextSpec;
    meta.labels = nextLabels;
    if (specChanged || labelsChanged) {
      meta.resourceVersion = nextVersion();
      if (kind === "Deployment" && specChanged)
        meta.generation = (typeof meta.generation === "number" ? meta.generation : 1) + 1;
    }
    setManaged(existing, entry);
    return { code: 200, body: view(existing, now) };
  };

  const replaceScale = (
    s: Stored,
    name: string,
    query: Record<string, string>,
    userAgent: string | undefined,
    text: string,
    now: number,
  ): Json => {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw badRequest(`error decoding JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    const scale = ScaleBody.safeParse(body);
    if (!scale.success) {
      const envelopeOk = isObject(body) && body.kind === "Scale" && body.apiVersion === "autoscaling/v1";
      if (!envelopeOk) throw badRequest("expected a Scale of autoscaling/v1");
      throw new Refusal(
        422,
        "Invalid",
        `Scale.autoscaling "${name}" is invalid: ${z.prettifyError(scale.error)}`,
        {
          name,
          group: "autoscaling",
          kind: "Scale",
          causes: causesOf(scale.error, "").map((c) => ({ ...c, field: c.field.replace(/^\./, "") })),
        },
      );
    }
    if (scale.data.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${scale.data.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const meta = s.object.metadata as Json;
    if (take("conflict")) {
      meta.resourceVersion = nextVersion();
      throw modified("Deployment", name);
    }
    const wanted = scale.data.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== meta.resourceVersion) throw modified("Deployment", name);
    const spec = s.object.spec as Json;
    const manager = query.fieldManager ?? userAgent?.split("/")[0] ?? "unknown";
    if (spec.replicas !== scale.data.spec.replicas) {
      restartRollout(s, now);
      spec.replicas = scale.data.spec.replicas;
      meta.generation = (typeof meta.generation === "number" ? meta.generation : 1) + 1;
      meta.resourceVersion = nextVersion();
    }
    s.replicasOwner = manager;
    setManaged(s, managedEntry(manager, "Update", "apps/v1", { "f:spec": { "f:replicas": {} } }, "scale"));
    return scaleOf(s, now);
  };

  const remove = (s: Stored, key: string, query: Record<string, string>, text: string, now: number): Json => {
    let options: unknown = {};
    if (text !== "") {
      try {
        options = JSON.parse(text);
      } catch (error) {
        throw badRequest(
          `error decoding DeleteOptions: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    const parsed = DeleteOptions.safeParse({ ...(isObject(options) ? options : {}), ...query });
    if (!parsed.success) throw badRequest(`DeleteOptions: ${z.prettifyError(parsed.error)}`);
    const meta = s.object.metadata as Json;
    // Foreground deletion of a Deployment waits for its pods; nothing else here has blocking dependents
    // (https://kubernetes.io/docs/concepts/architecture/garbage-collection/#foreground-deletion).
    if (s.kind === "Deployment" && parsed.data.propagationPolicy === "Foreground") {
      if (s.deleteAtMs === null) {
        s.deleteAtMs = now + terminationMs;
        meta.deletionTimestamp = iso(now);
        meta.deletionGracePeriodSeconds = 0;
        meta.finalizers = [...(Array.isArray(meta.finalizers) ? meta.finalizers : []), "foregroundDeletion"];
        meta.resourceVersion = nextVersion();
      }
      return view(s, now);
    }
    store.delete(key);
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name: meta.name,
        group: RESOURCES[s.kind].group,
        kind: RESOURCES[s.kind].plural,
        uid: meta.uid,
      },
    };
  };

  const routeOf = (path: string): Route | undefined => {
    const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
    const known = DISCOVERY[trimmed];
    if (known) return { discovery: known };
    const d = decodeURIComponent;
    if (trimmed === "/api/v1/nodes") return { nodes: true, name: null };
    let m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(trimmed);
    if (m?.[1]) return { nodes: true, name: d(m[1]) };
    m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(trimmed);
    if (m?.[1]) return { kind: "Namespace", namespace: null, name: d(m[1]), scale: false };
    m = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)$/.exec(trimmed);
    if (m?.[1] && m[2]) return { kind: "Service", namespace: d(m[1]), name: d(m[2]), scale: false };
    m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/.exec(trimmed);
    if (m?.[1] && m[2])
      return { kind: "Deployment", namespace: d(m[1]), name: d(m[2]), scale: m[3] !== undefined };
    return undefined;
  };

  /** The answer to one request; a Refusal becomes a Status object. */
  const handle = (
    method: string,
    route: Route | undefined,
    query: Record<string, string>,
    contentType: string | undefined,
    userAgent: string | undefined,
    text: string,
    now: number,
  ): { code: number; body: Json } => {
    if (!route) throw new Refusal(404, "NotFound", "the server could not find the requested resource");
    if ("discovery" in route || "nodes" in route) {
      if (method !== "GET")
        throw new Refusal(
          405,
          "MethodNotAllowed",
          "the server does not allow this method on the requested resource",
        );
      if ("discovery" in route) return { code: 200, body: route.discovery };
      return { code: 200, body: route.name === null ? nodes.list(query) : nodes.get(route.name) };
    }
    const key = keyOf(route.kind, route.namespace, route.name);
    const found = store.get(key);
    const existing = found && !(method === "GET" && lagging(found)) ? found : undefined;
    if (method === "PATCH" && !route.scale) return apply(route, query, contentType, text, now);
    if (!existing) throw notFound(route.kind, route.name);
    if (method === "GET")
      return { code: 200, body: route.scale ? scaleOf(existing, now) : view(existing, now) };
    if (method === "PUT" && route.scale)
      return { code: 200, body: replaceScale(existing, route.name, query, userAgent, text, now) };
    if (method === "DELETE" && !route.scale && route.kind !== "Namespace") {
      return { code: 200, body: remove(existing, key, query, text, now) };
    }
    throw new Refusal(
      405,
      "MethodNotAllowed",
      "the server does not allow this method on the requested resource",
    );
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    const contentType = req.headers["content-type"]?.split(";")[0]?.trim();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const record = {
      method: req.method ?? "GET",
      path: url.pathname,
      query,
      contentType,
      authorization: req.headers.authorization,
      userAgent: req.headers["user-agent"],
      body,
      status: null as number | null,
      auditId: randomUUID(),
    };
    requests.push(record);
    const answer = (code: number, payload: Json, headers: Record<string, string> = {}): void => {
      record.status = code;
      res.writeHead(code, { "content-type": "application/json", "audit-id": record.auditId, ...headers });
      res.end(JSON.stringify(payload));
    };

    const now = Date.now();
    purge(now);
    try {
      if (tokens !== null) {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        if (token === undefined || !tokens.has(token)) throw new Refusal(401, "Unauthorized", "Unauthorized");
      }
      if (take("throttle")) {
        throw new Refusal(
          429,
          "TooManyRequests",
          "the server has received too many requests and has asked us to try again later",
          { retryAfterSeconds },
          { "retry-after": String(retryAfterSeconds) },
        );
      }
      if (take("timeout")) {
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      }
      if (take("server-error")) {
        serverErrors += 1;
        throw serverErrors % 2 === 1
          ? new Refusal(
              500,
              "InternalError",
              "Internal error occurred: the fake API server failed on purpose",
            )
          : new Refusal(503, "ServiceUnavailable", "the server is currently unable to handle the request");
      }
      const { code, body: payload } = handle(
        record.method,
        routeOf(url.pathname),
        query,
        contentType,
        record.userAgent,
        text,
        now,
      );
      answer(code, payload);
    } catch (error) {
      if (error instanceof Refusal) answer(error.code, error.status, error.headers);
      else answer(500, new Refusal(500, "InternalError", String(error)).status);
    }
  });

  let connections = 0;
  server.on("connection", () => {
    connections += 1;
  });
  const port = await listenOnLoopback(server);

  const releaseHeld = (): void => {
    for (const res of held) res.destroy();
    held.clear();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    tokens,
    faults: {
      async inject(fault, calls) {
        pending.set(fault, calls);
        if (fault === "eventual-consistency") consistencySince = created;
      },
      async clear() {
        pending.clear();
        releaseHeld();
      },
    },
    stall(image) {
      stalled.add(image);
    },
    setNodes(specs) {
      nodes.set(specs);
    },
    object(kind, namespace, name) {
      if (kind === "Node") return nodes.all().find((n) => isObject(n.metadata) && n.metadata.name === name);
      const now = Date.now();
      purge(now);
      const s = store.get(keyOf(kind, namespace, name));
      return s && view(s, now);
    },
    objects(kind) {
      if (kind === "Node") return nodes.all();
      const now = Date.now();
      purge(now);
      return [...store.values()].filter((s) => s.kind === kind).map((s) => view(s, now));
    },
    close: () => {
      releaseHeld();
      return closeServer(server);
    },
  };
};
