import { z } from "zod";

// The API objects of the fake Kubernetes API server: Status answers, the shapes it accepts, and
// the discovery documents, after https://kubernetes.io/docs/reference/kubernetes-api/.

export type Json = Record<string, unknown>;
export type FakeKind = "Namespace" | "Deployment" | "Service" | "Node";

/** A timestamp as the API server writes it, to the second. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** An answer other than success, as a Status object. */
export class Refusal extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Json;
  readonly headers: Record<string, string>;

  constructor(
    code: number,
    reason: string,
    message: string,
    details: Json = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers;
  }

  get status(): Json {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

export const RESOURCES: Record<FakeKind, { group: string; plural: string; apiVersion: string }> = {
  Namespace: { group: "", plural: "namespaces", apiVersion: "v1" },
  Deployment: { group: "apps", plural: "deployments", apiVersion: "apps/v1" },
  Service: { group: "", plural: "services", apiVersion: "v1" },
  Node: { group: "", plural: "nodes", apiVersion: "v1" },
};

export const qualified = (kind: FakeKind): string => {
  const { group, plural } = RESOURCES[kind];
  return group ? `${plural}.${group}` : plural;
};

export const notFound = (kind: FakeKind, name: string): Refusal =>
  new Refusal(404, "NotFound", `${qualified(kind)} "${name}" not found`, {
    name,
    group: RESOURCES[kind].group,
    kind: RESOURCES[kind].plural,
  });

export const modified = (kind: FakeKind, name: string): Refusal =>
  new Refusal(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: RESOURCES[kind].group, kind: RESOURCES[kind].plural },
  );

export const badRequest = (message: string): Refusal => new Refusal(400, "BadRequest", message);

export const invalid = (
  kind: FakeKind,
  name: string,
  causes: readonly { field: string; message: string }[],
): Refusal =>
  new Refusal(
    422,
    "Invalid",
    `${kind}${RESOURCES[kind].group ? `.${RESOURCES[kind].group}` : ""} "${name}" is invalid: ${causes
      .map((c) => `${c.field}: Invalid value: ${c.message}`)
      .join(", ")}`,
    {
      name,
      group: RESOURCES[kind].group,
      kind,
      causes: causes.map((c) => ({
        reason: "FieldValueInvalid",
        message: `Invalid value: ${c.message}`,
        field: c.field,
      })),
    },
  );

export const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** JSON with object keys sorted, so equal values compare equal. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );

/** The managed-fields set of an applied object: every map key it names, lists as leaves. */
export const fieldSet = (value: unknown): Json =>
  isObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [`f:${k}`, fieldSet(v)])) : {};

/** Drops zero counts, as the API server's `omitempty` does. */
export const omitZero = (status: Json): Json =>
  Object.fromEntries(Object.entries(status).filter(([, v]) => v !== 0));

export const Labels = z.record(z.string(), z.string());
export const Meta = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  labels: Labels.optional(),
  resourceVersion: z.string().optional(),
});
export const Envelope = z.looseObject({ apiVersion: z.string(), kind: z.string(), metadata: Meta });

export const DeploymentSpec = z.looseObject({
  replicas: z.int().min(0, "must be greater than or equal to 0").optional(),
  progressDeadlineSeconds: z.int().min(1).optional(),
  selector: z.looseObject({ matchLabels: Labels }),
  template: z.looseObject({
    metadata: z.looseObject({ labels: Labels }),
    spec: z.looseObject({
      containers: z
        .array(
          z.looseObject({
            name: z.string().min(1),
            image: z.string().min(1),
            ports: z.array(z.looseObject({ containerPort: z.int().min(1).max(65_535) })).optional(),
          }),
        )
        .min(1),
    }),
  }),
});

export const ServiceSpec = z.looseObject({
  type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).optional(),
  selector: Labels.optional(),
  ports: z
    .array(
      z.looseObject({
        port: z.int().min(1).max(65_535),
        targetPort: z.union([z.int().min(1).max(65_535), z.string().min(1)]).optional(),
      }),
    )
    .min(1),
});

export const ScaleBody = z.looseObject({
  apiVersion: z.literal("autoscaling/v1"),
  kind: z.literal("Scale"),
  metadata: Meta,
  spec: z.looseObject({ replicas: z.int().min(0, "must be greater than or equal to 0") }),
});

export const DeleteOptions = z.looseObject({
  propagationPolicy: z.enum(["Foreground", "Background", "Orphan"]).optional(),
});

/** The causes of a failed validation, with Kubernetes-style field paths. */
export const causesOf = (error: z.ZodError, prefix: string): { field: string; message: string }[] =>
  error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))]
      .join(".")
      .replace(/\.\[/g, "["),
    message: issue.message,
  }));

/** The discovery documents clients may ask for, by path. */
export const DISCOVERY: Readonly<Record<string, Json>> = {
  "/version": {
    major: "1",
    minor: "31",
    gitVersion: "v1.31.0-devsim-fake",
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.22.0",
    compiler: "gc",
    platform: "linux/amd64",
  },
  "/api": { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] },
  "/apis": {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [
      {
        name: "apps",
        versions: [{ groupVersion: "apps/v1", version: "v1" }],
        preferredVersion: { groupVersion: "apps/v1", version: "v1" },
      },
    ],
  },
  "/api/v1": {
    kind: "APIResourceList",
    groupVersion: "v1",
    resources: [
      {
        name: "namespaces",
        singularName: "namespace",
        namespaced: false,
        kind: "Namespace",
        verbs: ["get", "patch"],
      },
      {
        name: "nodes",
        singularName: "node",
        namespaced: false,
        kind: "Node",
        verbs: ["get", "list"],
      },
      {
        name: "services",
        singularName: "service",
        namespaced: true,
        kind: "Service",
        verbs: ["delete", "get", "patch"],
      },
    ],
  },
  "/apis/apps/v1": {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: "apps/v1",
    resources: [
      {
        name: "deployments",
        singularName: "deployment",
        namespaced: true,
        kind: "Deployment",
        verbs: ["delete", "get", "patch"],
      },
      {
        name: "deployments/scale",
        singularName: "",
        namespaced: true,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "update"],
      },
    ],
  },
};
