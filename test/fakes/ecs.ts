import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { ContractFault, FaultInjector } from "../../adapters/contract.ts";
import { closeServer, listen } from "../support/http-servers.ts";

/*
 * A local Amazon ECS endpoint speaking the subset of the ECS API the aws-ecs adapter uses, in the
 * real wire format: AWS JSON 1.1 (`POST /`, `content-type: application/x-amz-json-1.1`,
 * `x-amz-target: AmazonEC2ContainerServiceV20141113.<Operation>`), SigV4-signed requests, errors as
 * `{"__type", "message"}` with the `x-amzn-requestid` header. Shapes follow the API reference:
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Operations.html
 * Signatures: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * Throttling (`ThrottlingException`, HTTP 400, "Rate exceeded"):
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
 * Service lifecycle (ACTIVE → DRAINING → INACTIVE; no second service of a name that is ACTIVE or
 * DRAINING): https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html
 */

const TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";
const JSON_11 = "application/x-amz-json-1.1";
/** How far a request's x-amz-date may stray from the server's clock before its signature expires. */
const SKEW_MS = 5 * 60_000;

/** Keys the fake accepts; sign with these (any region). */
export const ECS_TEST_CREDENTIALS = {
  accessKeyId: "AKIDECSFAKE00000001",
  secretAccessKey: "ecs-fake-secret/0000000000000000000000000",
} as const;

export const ECS_FAKE_ACCOUNT = "123456789012";

export type EcsOperation =
  | "RegisterTaskDefinition"
  | "CreateService"
  | "UpdateService"
  | "DescribeServices"
  | "DeleteService"
  | "DescribeClusters";

const OPERATIONS: readonly EcsOperation[] = [
  "RegisterTaskDefinition",
  "CreateService",
  "UpdateService",
  "DescribeServices",
  "DeleteService",
  "DescribeClusters",
];

/** One request as it arrived, with how it was answered. */
export interface RecordedEcsRequest {
  readonly operation: string;
  /** From the signature's credential scope; null when the request was not signed properly. */
  region: string | null;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  readonly requestId: string;
  /** HTTP status sent, or null while held by a timeout fault. */
  status: number | null;
  /** `__type` of the error answered, if any. */
  errorType: string | null;
}

export interface FakeTag {
  readonly key: string;
  readonly value: string;
}

export interface FakeTaskDefinition {
  readonly arn: string;
  readonly family: string;
  readonly revision: number;
  /** The request body it was registered with. */
  readonly request: Readonly<Record<string, unknown>>;
  readonly image: string;
  readonly tags: readonly FakeTag[];
  readonly registeredAt: number;
}

interface Task {
  readonly id: string;
  readonly readyAt: number;
  stopAt: number | null;
}

interface ServiceEventRecord {
  readonly id: string;
  readonly createdAt: number;
  readonly message: string;
}

interface ServiceRecord {
  readonly arn: string;
  readonly name: string;
  readonly cluster: string;
  readonly region: string;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  desiredCount: number;
  readonly taskDefinition: FakeTaskDefinition;
  readonly request: Readonly<Record<string, unknown>>;
  readonly tags: readonly FakeTag[];
  readonly createdAt: number;
  readonly deploymentId: string;
  updatedAt: number;
  tasks: Task[];
  events: ServiceEventRecord[];
  steady: boolean;
  /** DescribeServices calls still to answer MISSING (eventual consistency). */
  hiddenReads: number;
}

/** A copy of the fake's own record of a service, for raw reads. */
export interface FakeService {
  readonly arn: string;
  readonly name: string;
  readonly cluster: string;
  readonly region: string;
  readonly status: "ACTIVE" | "DRAINING" | "INACTIVE";
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  readonly taskDefinition: FakeTaskDefinition;
  /** The CreateService request body. */
  readonly request: Readonly<Record<string, unknown>>;
  readonly tags: readonly FakeTag[];
}

interface ClusterRecord {
  readonly arn: string;
  readonly name: string;
  status: "ACTIVE" | "INACTIVE";
}

interface RegionState {
  readonly clusters: Map<string, ClusterRecord>;
  /** By `${cluster}/${service}`. */
  readonly services: Map<string, ServiceRecord>;
  readonly families: Map<string, FakeTaskDefinition[]>;
}

export interface EcsFakeOptions {
  /** Clusters that exist, ACTIVE, by region. */
  readonly clusters: Readonly<Record<string, readonly string[]>>;
  /** Time from a task being placed to running. Default 50 ms. */
  readonly startupMs?: number;
  /** Time a task takes to stop. Default 20 ms. */
  readonly stopMs?: number;
  /** How long an answer is held by a `timeout` fault when the client does not hang up. Default 10 s. */
  readonly holdMs?: number;
  readonly credentials?: readonly { readonly accessKeyId: string; readonly secretAccessKey: string }[];
}

export interface EcsFaultOptions {
  /** Only calls of these operations show the fault. Default any that can. */
  readonly operations?: readonly EcsOperation[];
  /** A Retry-After header (seconds) on throttling answers. */
  readonly retryAfterSeconds?: number;
}

export interface EcsFake extends FaultInjector {
  /** Endpoint to give the SDK (`endpoint` option). */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedEcsRequest[];
  /**
   * Makes the next `calls` calls that can show `fault` show it. `throttle` (ThrottlingException, 400), `server-error` (ServerException, 500) and
   * `timeout` (the call is carried out but its answer held back) hit any call; `conflict` hits
   * UpdateService, which answers ServiceNotActiveException, as ECS does when a write races a
   * service's change of state; `eventual-consistency` makes the next service created read as
   * MISSING in DescribeServices for `calls` reads.
   */
  inject(fault: ContractFault, calls: number, options?: EcsFaultOptions): Promise<void>;
  /** Answers AccessDeniedException to these operations, as an IAM policy lacking them would. */
  deny(operations: readonly EcsOperation[]): void;
  service(region: string, cluster: string, name: string): FakeService | undefined;
  services(region: string): FakeService[];
  taskDefinitions(region: string, family: string): readonly FakeTaskDefinition[];
  setClusterStatus(region: string, cluster: string, status: "ACTIVE" | "INACTIVE"): void;
  close(): Promise<void>;
}

class EcsApiError extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const invalid = (message: string): EcsApiError => new EcsApiError("InvalidParameterException", message);
const clientError = (message: string): EcsApiError => new EcsApiError("ClientException", message);

// Request shapes, loose: only the fields the fake acts on are checked.
const Tag = z.object({ key: z.string().min(1).max(128), value: z.string().max(256) });
const RegisterTaskDefinitionRequest = z.looseObject({
  family: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
  containerDefinitions: z
    .array(
      z.looseObject({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
        image: z.string().min(1),
        portMappings: z.array(z.looseObject({ containerPort: z.int().min(1).max(65535) })).optional(),
      }),
    )
    .min(1),
  networkMode: z.enum(["bridge", "host", "awsvpc", "none"]).optional(),
  requiresCompatibilities: z.array(z.enum(["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"])).optional(),
  cpu: z.string().optional(),
  memory: z.string().optional(),
  tags: z.array(Tag).max(50).optional(),
});
const CreateServiceRequest = z.looseObject({
  cluster: z.string().optional(),
  serviceName: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
  taskDefinition: z.string().min(1),
  desiredCount: z.int().optional(),
  launchType: z.enum(["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"]).optional(),
  networkConfiguration: z
    .looseObject({
      awsvpcConfiguration: z.looseObject({
        subnets: z.array(z.string()),
        securityGroups: z.array(z.string()).optional(),
        assignPublicIp: z.enum(["ENABLED", "DISABLED"]).optional(),
      }),
    })
    .optional(),
  tags: z.array(Tag).max(50).optional(),
});
const UpdateServiceRequest = z.looseObject({
  cluster: z.string().optional(),
  service: z.string().min(1),
  desiredCount: z.int().optional(),
});
const DeleteServiceRequest = z.looseObject({
  cluster: z.string().optional(),
  service: z.string().min(1),
  force: z.boolean().optional(),
});
const DescribeServicesRequest = z.looseObject({
  cluster: z.string().optional(),
  services: z.array(z.string().min(1)).min(1).max(10),
});
const DescribeClustersRequest = z.looseObject({ clusters: z.array(z.string().min(1)).max(100).optional() });

const parseRequest = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new EcsApiError(
    "InvalidParameterException",
    `Invalid parameter at '${issue?.path.join(".") ?? ""}': ${issue?.message ?? "invalid"}`,
  );
};

/** ECS takes a short name or a full ARN wherever it names a cluster or service. */
const shortName = (nameOrArn: string): string => nameOrArn.split("/").at(-1) ?? nameOrArn;

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
};

/** Checks a request's SigV4 signature; gives the region of its credential scope. */
const verifySignature = (
  req: IncomingMessage,
  body: Buffer,
  secrets: ReadonlyMap<string, string>,
  now: number,
): string => {
  const authorization = headerValue(req.headers, "authorization");
  const amzDate = headerValue(req.headers, "x-amz-date");
  if (!authorization)
    throw new EcsApiError("MissingAuthenticationTokenException", "Missing Authentication Token");
  const match = AUTHORIZATION.exec(authorization);
  if (!match || !amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw new EcsApiError(
      "IncompleteSignatureException",
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature', and an 'X-Amz-Date' header.",
    );
  }
  const [, accessKeyId = "", date = "", region = "", service = "", signedHeaders = "", signature = ""] =
    match;
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) {
    throw new EcsApiError(
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
    );
  }
  if (service !== "ecs") {
    throw new EcsApiError(
      "InvalidSignatureException",
      "Credential should be scoped to correct service: 'ecs'.",
    );
  }
  if (!amzDate.startsWith(date)) {
    throw new EcsApiError(
      "InvalidSignatureException",
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.",
    );
  }
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs(now - signedAt) > SKEW_MS) {
    throw new EcsApiError(
      "InvalidSignatureException",
      `Signature expired: ${amzDate} is now earlier or later than the allowed skew.`,
    );
  }
  const names = signedHeaders.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) {
    throw new EcsApiError("InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed.");
  }
  const canonicalHeaders = names
    .map((name) => `${name}:${(headerValue(req.headers, name) ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const [path = "/", query = ""] = (req.url ?? "/").split("?");
  const canonicalRequest = [
    req.method ?? "POST",
    path,
    query,
    canonicalHeaders,
    signedHeaders,
    headerValue(req.headers, "x-amz-content-sha256") ?? sha256(body),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
  const expected = Buffer.from(hmac(key, stringToSign).toString("hex"));
  if (!timingSafeEqual(expected, Buffer.from(signature))) {
    throw new EcsApiError(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
  return region;
};

const epochSeconds = (ms: number): number => ms / 1000;

/** Starts the fake on a free loopback port. */
export const startEcsFake = async (options: EcsFakeOptions): Promise<EcsFake> => {
  const startupMs = options.startupMs ?? 50;
  const stopMs = options.stopMs ?? 20;
  const holdMs = options.holdMs ?? 10_000;
  const secrets = new Map(
    (options.credentials ?? [ECS_TEST_CREDENTIALS]).map((c) => [c.accessKeyId, c.secretAccessKey]),
  );
  const regions = new Map<string, RegionState>();
  const requests: RecordedEcsRequest[] = [];
  const denied = new Set<EcsOperation>();
  const held = new Set<NodeJS.Timeout>();
  const faults = new Map<ContractFault, { calls: number; options: EcsFaultOptions }>();
  /** How many DescribeServices calls the next service created reads as MISSING. */
  let consistencyLag = 0;

  const arn = (region: string, resource: string): string =>
    `arn:aws:ecs:${region}:${ECS_FAKE_ACCOUNT}:${resource}`;

  const regionState = (region: string): RegionState => {
    let state = regions.get(region);
    if (!state) {
      state = { clusters: new Map(), services: new Map(), families: new Map() };
      for (const name of options.clusters[region] ?? []) {
        state.clusters.set(name, { arn: arn(region, `cluster/${name}`), name, status: "ACTIVE" });
      }
      regions.set(region, state);
    }
    return state;
  };

  /** Takes one call of `fault` if one is armed for this operation. */
  const takeFault = (fault: ContractFault, operation: string): EcsFaultOptions | null => {
    const armed = faults.get(fault);
    if (!armed || armed.calls <= 0) return null;
    const { operations } = armed.options;
    if (operations && !operations.some((op) => op === operation)) return null;
    armed.calls -= 1;
    return armed.options;
  };

  const addEvent = (service: ServiceRecord, now: number, message: string): void => {
    service.events.unshift({
      id: randomUUID(),
      createdAt: now,
      message: `(service ${service.name}) ${message}`,
    });
  };

  /** Moves a service's tasks along the clock: placed tasks start, stopping tasks stop. */
  const settle = (service: ServiceRecord, now: number): void => {
    const before = service.tasks.length;
    service.tasks = service.tasks.filter((t) => t.stopAt === null || t.stopAt > now);
    if (service.tasks.length < before) service.updatedAt = now;
    if (service.status === "DRAINING" && service.tasks.length === 0) service.status = "INACTIVE";
    const running = service.tasks.filter((t) => t.stopAt === null && t.readyAt <= now).length;
    if (service.status === "ACTIVE" && running === service.desiredCount && service.tasks.length === running) {
      if (!service.steady) addEvent(service, now, "has reached a steady state.");
      service.steady = true;
    }
  };

  /** Starts or stops tasks so that as many are live as desired. */
  const reconcile = (service: ServiceRecord, now: number): void => {
    const live = service.tasks.filter((t) => t.stopAt === null);
    if (live.length < service.desiredCount) {
      const started = Array.from({ length: service.desiredCount - live.length }, () => ({
        id: randomUUID().replaceAll("-", ""),
        readyAt: now + startupMs,
        stopAt: null,
      }));
      service.tasks.push(...started);
      addEvent(
        service,
        now,
        `has started ${started.length} tasks: ${started.map((t) => `(task ${t.id})`).join(" ")}.`,
      );
    } else if (live.length > service.desiredCount) {
      // Tasks not yet running go first, then the newest.
      const victims = [...live]
        .sort((a, b) => b.readyAt - a.readyAt)
        .slice(0, live.length - service.desiredCount);
      for (const task of victims) task.stopAt = now + stopMs;
      addEvent(
        service,
        now,
        `has stopped ${victims.length} running tasks: ${victims.map((t) => `(task ${t.id})`).join(" ")}.`,
      );
    }
    service.steady = false;
    service.updatedAt = now;
  };

  const counts = (service: ServiceRecord, now: number): { running: number; pending: number } => {
    const live = service.tasks.filter((t) => t.stopAt === null);
    const running = live.filter((t) => t.readyAt <= now).length;
    return { running, pending: live.length - running };
  };

  const serviceShape = (service: ServiceRecord, now: number): Record<string, unknown> => {
    const { running, pending } = counts(service, now);
    const request = service.request;
    return {
      serviceArn: service.arn,
      serviceName: service.name,
      clusterArn: arn(service.region, `cluster/${service.cluster}`),
      loadBalancers: [],
      serviceRegistries: [],
      status: service.status,
      desiredCount: service.desiredCount,
      runningCount: running,
      pendingCount: pending,
      launchType: request.launchType ?? "EC2",
      platformVersion: request.launchType === "FARGATE" ? "LATEST" : undefined,
      platformFamily: request.launchType === "FARGATE" ? "Linux" : undefined,
      taskDefinition: service.taskDefinition.arn,
      deploymentConfiguration: request.deploymentConfiguration ?? {
        maximumPercent: 200,
        minimumHealthyPercent: 100,
      },
      deployments: [
        {
          id: service.deploymentId,
          status: "PRIMARY",
          taskDefinition: service.taskDefinition.arn,
          desiredCount: service.desiredCount,
          pendingCount: pending,
          runningCount: running,
          failedTasks: 0,
          createdAt: epochSeconds(service.createdAt),
          updatedAt: epochSeconds(service.updatedAt),
          launchType: request.launchType ?? "EC2",
          networkConfiguration: request.networkConfiguration,
          rolloutState: running === service.desiredCount && pending === 0 ? "COMPLETED" : "IN_PROGRESS",
          rolloutStateReason:
            running === service.desiredCount && pending === 0
              ? "ECS deployment ecs-svc completed."
              : "ECS deployment ecs-svc in progress.",
        },
      ],
      events: service.events.slice(0, 100).map((e) => ({
        id: e.id,
        createdAt: epochSeconds(e.createdAt),
        message: e.message,
      })),
      createdAt: epochSeconds(service.createdAt),
      networkConfiguration: request.networkConfiguration,
      schedulingStrategy: "REPLICA",
      deploymentController: { type: "ECS" },
      tags: service.tags,
      createdBy: `arn:aws:iam::${ECS_FAKE_ACCOUNT}:user/devsim`,
      enableECSManagedTags: request.enableECSManagedTags ?? false,
      propagateTags: request.propagateTags ?? "NONE",
      enableExecuteCommand: false,
    };
  };

  const clusterOf = (state: RegionState, name: string | undefined): ClusterRecord => {
    const cluster = state.clusters.get(shortName(name ?? "default"));
    if (cluster?.status !== "ACTIVE") {
      throw new EcsApiError("ClusterNotFoundException", "Cluster not found.");
    }
    return cluster;
  };

  const taskDefinitionShape = (td: FakeTaskDefinition): Record<string, unknown> => ({
    ...td.request,
    taskDefinitionArn: td.arn,
    revision: td.revision,
    status: "ACTIVE",
    compatibilities: ["EC2", "FARGATE"],
    registeredAt: epochSeconds(td.registeredAt),
    registeredBy: `arn:aws:iam::${ECS_FAKE_ACCOUNT}:user/devsim`,
  });

  const resolveTaskDefinition = (state: RegionState, ref: string): FakeTaskDefinition => {
    const [family = "", revision] = shortName(ref).split(":");
    const revisions = state.families.get(family) ?? [];
    const found =
      revision === undefined ? revisions.at(-1) : revisions.find((t) => String(t.revision) === revision);
    if (!found) throw clientError("TaskDefinition not found.");
    return found;
  };

  type Handler = (region: string, body: unknown, now: number) => Record<string, unknown>;

  const handlers: Record<EcsOperation, Handler> = {
    RegisterTaskDefinition(region, body, now) {
      const request = parseRequest(RegisterTaskDefinitionRequest, body);
      const fargate = request.requiresCompatibilities?.includes("FARGATE") ?? false;
      if (fargate && request.networkMode !== "awsvpc") {
        throw clientError("Fargate only supports network mode 'awsvpc'.");
      }
      if (fargate && (!request.cpu || !request.memory)) {
        throw clientError("Fargate requires that 'cpu' and 'memory' be defined at the task level.");
      }
      const state = regionState(region);
      const revisions = state.families.get(request.family) ?? [];
      const revision = (revisions.at(-1)?.revision ?? 0) + 1;
      const { tags = [], ...rest } = request;
      const td: FakeTaskDefinition = {
        arn: arn(region, `task-definition/${request.family}:${revision}`),
        family: request.family,
        revision,
        request: rest,
        image: request.containerDefinitions[0]?.image ?? "",
        tags,
        registeredAt: now,
      };
      state.families.set(request.family, [...revisions, td]);
      return { taskDefinition: taskDefinitionShape(td), tags };
    },

    CreateService(region, body, now) {
      const request = parseRequest(CreateServiceRequest, body);
      const state = regionState(region);
      const cluster = clusterOf(state, request.cluster);
      const desiredCount = request.desiredCount ?? 0;
      if (desiredCount < 0) throw invalid("desiredCount can't be less than 0.");
      const td = resolveTaskDefinition(state, request.taskDefinition);
      if (td.request.networkMode === "awsvpc" && !request.networkConfiguration) {
        throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
      }
      if (
        request.networkConfiguration &&
        request.networkConfiguration.awsvpcConfiguration.subnets.length === 0
      ) {
        throw invalid("subnets can not be empty.");
      }
      const key = `${cluster.name}/${request.serviceName}`;
      const existing = state.services.get(key);
      if (existing) settle(existing, now);
      if (existing?.status === "DRAINING") throw invalid("Unable to Start a service that is still Draining.");
      if (existing?.status === "ACTIVE") {
        // The same request again gives back the service; anything else is refused.
        if (existing.taskDefinition.arn === td.arn && existing.desiredCount === desiredCount) {
          return { service: serviceShape(existing, now) };
        }
        throw invalid("Creation of service was not idempotent.");
      }
      const service: ServiceRecord = {
        arn: arn(region, `service/${cluster.name}/${request.serviceName}`),
        name: request.serviceName,
        cluster: cluster.name,
        region,
        status: "ACTIVE",
        desiredCount,
        taskDefinition: td,
        request,
        tags: request.tags ?? [],
        createdAt: now,
        deploymentId: `ecs-svc/${randomUUID().replaceAll("-", "").slice(0, 19)}`,
        updatedAt: now,
        tasks: [],
        events: [],
        steady: false,
        hiddenReads: consistencyLag,
      };
      consistencyLag = 0;
      state.services.set(key, service);
      reconcile(service, now);
      settle(service, now);
      return { service: serviceShape(service, now) };
    },

    UpdateService(region, body, now) {
      const request = parseRequest(UpdateServiceRequest, body);
      const state = regionState(region);
      const cluster = clusterOf(state, request.cluster);
      const service = state.services.get(`${cluster.name}/${shortName(request.service)}`);
      if (!service) throw new EcsApiError("ServiceNotFoundException", "Service not found.");
      settle(service, now);
      if (service.status !== "ACTIVE" || takeFault("conflict", "UpdateService") !== null) {
        throw new EcsApiError("ServiceNotActiveException", "Service was not ACTIVE.");
      }
      if (request.desiredCount !== undefined) {
        if (request.desiredCount < 0) throw invalid("desiredCount can't be less than 0.");
        if (request.desiredCount !== service.desiredCount) {
          service.desiredCount = request.desiredCount;
          reconcile(service, now);
        }
      }
      return { service: serviceShape(service, now) };
    },

    DescribeServices(region, body, now) {
      const request = parseRequest(DescribeServicesRequest, body);
      const state = regionState(region);
      const cluster = clusterOf(state, request.cluster);
      const services: Record<string, unknown>[] = [];
      const failures: Record<string, unknown>[] = [];
      for (const ref of request.services) {
        const name = shortName(ref);
        const service = state.services.get(`${cluster.name}/${name}`);
        if (service && service.hiddenReads > 0) service.hiddenReads -= 1;
        else if (service) {
          settle(service, now);
          services.push(serviceShape(service, now));
          continue;
        }
        failures.push({ arn: arn(region, `service/${cluster.name}/${name}`), reason: "MISSING" });
      }
      return { services, failures };
    },

    DeleteService(region, body, now) {
      const request = parseRequest(DeleteServiceRequest, body);
      const state = regionState(region);
      const cluster = clusterOf(state, request.cluster);
      const service = state.services.get(`${cluster.name}/${shortName(request.service)}`);
      if (service) settle(service, now);
      if (!service || service.status === "INACTIVE") {
        throw new EcsApiError("ServiceNotFoundException", "Service not found.");
      }
      if (service.status === "ACTIVE") {
        if (service.desiredCount > 0 && request.force !== true) {
          throw invalid("The service cannot be stopped while it is scaled above 0.");
        }
        service.desiredCount = 0;
        reconcile(service, now);
        service.status = "DRAINING";
        settle(service, now);
      }
      return { service: serviceShape(service, now) };
    },

    DescribeClusters(region, body) {
      const request = parseRequest(DescribeClustersRequest, body);
      const state = regionState(region);
      const clusters: Record<string, unknown>[] = [];
      const failures: Record<string, unknown>[] = [];
      for (const ref of request.clusters ?? ["default"]) {
        const cluster = state.clusters.get(shortName(ref));
        if (!cluster) {
          failures.push({ arn: arn(region, `cluster/${shortName(ref)}`), reason: "MISSING" });
          continue;
        }
        const live = [...state.services.values()].filter(
          (s) => s.cluster === cluster.name && s.status === "ACTIVE",
        );
        clusters.push({
          clusterArn: cluster.arn,
          clusterName: cluster.name,
          status: cluster.status,
          registeredContainerInstancesCount: 0,
          runningTasksCount: live.reduce((n, s) => n + counts(s, Date.now()).running, 0),
          pendingTasksCount: live.reduce((n, s) => n + counts(s, Date.now()).pending, 0),
          activeServicesCount: live.length,
          statistics: [],
          tags: [],
          settings: [{ name: "containerInsights", value: "disabled" }],
          capacityProviders: ["FARGATE", "FARGATE_SPOT"],
          defaultCapacityProviderStrategy: [],
        });
      }
      return { clusters, failures };
    },
  };

  const isOperation = (name: string): name is EcsOperation => OPERATIONS.some((op) => op === name);

  const answer = (res: ServerResponse, record: RecordedEcsRequest, status: number, body: unknown): void => {
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(body);
    record.status = status;
    res.writeHead(status, {
      "content-type": JSON_11,
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": record.requestId,
    });
    res.end(text);
  };

  const fail = (res: ServerResponse, record: RecordedEcsRequest, error: EcsApiError): void => {
    record.errorType = error.type;
    answer(res, record, error.status, { __type: error.type, message: error.message });
  };

  const server = await listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const now = Date.now();
    const target = headerValue(req.headers, "x-amz-target") ?? "";
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    let body: unknown;
    try {
      body = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"));
    } catch {
      body = undefined;
    }
    const record: RecordedEcsRequest = {
      operation,
      region: null,
      headers: req.headers,
      body,
      requestId: randomUUID(),
      status: null,
      errorType: null,
    };
    requests.push(record);
    try {
      if (req.method !== "POST" || (req.url ?? "/").split("?")[0] !== "/") {
        throw new EcsApiError("UnknownOperationException", "Only POST / is served.", 404);
      }
      const region = verifySignature(req, raw, secrets, now);
      record.region = region;
      if (headerValue(req.headers, "content-type") !== JSON_11) {
        throw new EcsApiError("SerializationException", `Expected content-type ${JSON_11}.`);
      }
      if (!target.startsWith(TARGET_PREFIX) || !isOperation(operation)) {
        throw new EcsApiError("UnknownOperationException", `Unknown operation ${target}.`);
      }
      if (body === undefined || typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new EcsApiError("SerializationException", "Body is not a JSON object.");
      }
      if (denied.has(operation)) {
        throw new EcsApiError(
          "AccessDeniedException",
          `User: arn:aws:iam::${ECS_FAKE_ACCOUNT}:user/devsim is not authorized to perform: ecs:${operation} because no identity-based policy allows the ecs:${operation} action`,
        );
      }
      const throttled = takeFault("throttle", operation);
      if (throttled) {
        const seconds = throttled.retryAfterSeconds;
        if (seconds !== undefined) res.setHeader("retry-after", String(seconds));
        throw new EcsApiError("ThrottlingException", "Rate exceeded");
      }
      if (takeFault("server-error", operation) !== null) {
        throw new EcsApiError("ServerException", "Service Unavailable. Please try again later.", 500);
      }
      const timedOut = takeFault("timeout", operation) !== null;
      const result = handlers[operation](region, body, now);
      if (timedOut) {
        // The call took effect; only its answer is late, as when a real answer is lost.
        const timer = setTimeout(() => {
          held.delete(timer);
          answer(res, record, 200, result);
        }, holdMs);
        held.add(timer);
        res.on("close", () => {
          clearTimeout(timer);
          held.delete(timer);
        });
        return;
      }
      answer(res, record, 200, result);
    } catch (error) {
      if (error instanceof EcsApiError) fail(res, record, error);
      else fail(res, record, new EcsApiError("ServerException", String(error), 500));
    }
  });

  const copy = (service: ServiceRecord): FakeService => {
    const now = Date.now();
    settle(service, now);
    const { running, pending } = counts(service, now);
    return {
      arn: service.arn,
      name: service.name,
      cluster: service.cluster,
      region: service.region,
      status: service.status,
      desiredCount: service.desiredCount,
      runningCount: running,
      pendingCount: pending,
      taskDefinition: service.taskDefinition,
      request: service.request,
      tags: service.tags,
    };
  };

  return {
    url: server.url,
    requests,

    async inject(fault, calls, faultOptions = {}) {
      // Counted in reads of the next service created, not in calls of any kind.
      if (fault === "eventual-consistency") consistencyLag = calls;
      else faults.set(fault, { calls, options: faultOptions });
    },

    async clear() {
      faults.clear();
      consistencyLag = 0;
    },

    deny(operations) {
      for (const op of operations) denied.add(op);
    },

    service(region, cluster, name) {
      const service = regionState(region).services.get(`${cluster}/${name}`);
      return service && copy(service);
    },

    services(region) {
      return [...regionState(region).services.values()].map(copy);
    },

    taskDefinitions(region, family) {
      return regionState(region).families.get(family) ?? [];
    },

    setClusterStatus(region, cluster, status) {
      const state = regionState(region);
      const existing = state.clusters.get(cluster);
      if (existing) existing.status = status;
      else state.clusters.set(cluster, { arn: arn(region, `cluster/${cluster}`), name: cluster, status });
    },

    async close() {
      for (const timer of held) clearTimeout(timer);
      held.clear();
      await closeServer(server.server);
    },
  };
};
