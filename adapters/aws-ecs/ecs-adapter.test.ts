import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { AdapterError, type RetryPolicyInput } from "#core";
import {
  ECS_TEST_CREDENTIALS,
  type EcsFake,
  type EcsFakeOptions,
  type FakeService,
  type RecordedEcsRequest,
  startEcsFake,
} from "../../test/fakes/ecs.ts";
import { runAdapterContract } from "../contract.ts";
import type { DeploymentTarget, RevisionSpec } from "../port.ts";
import type { EcsTargetConfig } from "./config.ts";
import { createEcsAdapter, type EcsAdapter } from "./ecs-adapter.ts";
import { ECS_TAGS } from "./requests.ts";

const CLUSTER = "devsim";
const HOME = "eu-west-1";
const OTHER = "us-east-1";

const targetConfig = (region: string): EcsTargetConfig => ({
  region,
  cluster: CLUSTER,
  subnets: ["subnet-0a1b2c3d4e5f60718"],
  securityGroups: ["sg-0a1b2c3d4e5f60718"],
  assignPublicIp: false,
  urlPattern: "https://{workload}-r{revision}.{region}.ecs.example.com",
});

const revision = (over: Partial<RevisionSpec> = {}): RevisionSpec => ({
  number: 4,
  image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:4.0.1",
  port: 8080,
  healthPath: "/healthz",
  sim: null,
  ...over,
});

const adapterFor = (fake: EcsFake, retry: RetryPolicyInput = {}, timeoutMs = 300): EcsAdapter =>
  createEcsAdapter({
    targets: [targetConfig(HOME), targetConfig(OTHER)],
    endpoint: fake.url,
    credentials: ECS_TEST_CREDENTIALS,
    timeoutMs,
    retry: { baseMs: 10, maxMs: 100, ...retry },
  });

const tagOf = (service: FakeService, key: string): string | undefined =>
  service.tags.find((t) => t.key === key)?.value;

/** The cloud's own record of live services, read from the fake, never through the adapter. */
const liveServices = (fake: EcsFake, target: DeploymentTarget): FakeService[] =>
  fake
    .services(target.region)
    .filter((s) => s.status === "ACTIVE" && tagOf(s, ECS_TAGS.workload) === target.workload);

const rawReader = (fake: EcsFake) => ({
  readDeployment: async (target: DeploymentTarget, rev: number) => {
    const service = liveServices(fake, target).find((s) => tagOf(s, ECS_TAGS.revision) === String(rev));
    return service ? { image: service.taskDefinition.image, replicas: service.desiredCount } : null;
  },
  countDeployments: async (target: DeploymentTarget) => liveServices(fake, target).length,
});

runAdapterContract({
  name: "aws-ecs",
  readyTimeoutMs: 5_000,
  faults: ["throttle", "timeout", "server-error", "conflict", "eventual-consistency"],
  setup: async () => {
    const fake = await startEcsFake({ clusters: { [HOME]: [CLUSTER] }, startupMs: 50, stopMs: 20 });
    // Enough attempts to outlast a removed revision's 20 ms drain when the next case deploys it again.
    const adapter = adapterFor(fake, { attempts: 10 });
    const impatientAdapter = adapterFor(fake, { attempts: 3, budgetMs: 1_000, baseMs: 10, maxMs: 50 });
    return {
      adapter,
      impatientAdapter,
      faults: fake,
      raw: rawReader(fake),
      target: { workload: "contract", cloud: "aws", region: HOME },
      revision: revision(),
      teardown: async () => {
        adapter.close();
        impatientAdapter.close();
        await fake.close();
      },
    };
  },
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("aws-ecs adapter on the wire", () => {
  let fake: EcsFake;
  let adapter: EcsAdapter;
  const target: DeploymentTarget = { workload: "shop", cloud: "aws", region: HOME };

  const startFake = async (options: Partial<EcsFakeOptions> = {}): Promise<void> => {
    fake = await startEcsFake({ clusters: { [HOME]: [CLUSTER] }, startupMs: 100, stopMs: 10, ...options });
    adapter = adapterFor(fake, { attempts: 10 });
  };
  const stopFake = async (): Promise<void> => {
    adapter?.close();
    await fake?.close();
  };

  /** Requests recorded from the index `from` on. */
  const since = (from: number): RecordedEcsRequest[] => fake.requests.slice(from);
  const operations = (requests: readonly RecordedEcsRequest[]): string[] => requests.map((r) => r.operation);
  const bodyOf = (requests: readonly RecordedEcsRequest[], operation: string): Record<string, unknown> => {
    const found = requests.find((r) => r.operation === operation);
    if (!found) throw new Error(`no ${operation} request`);
    return found.body as Record<string, unknown>;
  };

  describe("against one fake", () => {
    beforeAll(() => startFake());
    afterAll(stopFake);
    afterEach(async () => {
      await fake.clear();
      for (const s of fake.services(HOME)) {
        if (s.status === "ACTIVE") await adapter.remove(target, Number(tagOf(s, ECS_TAGS.revision)));
      }
    });

    test("every call is a SigV4-signed AWS JSON 1.1 POST naming its operation in X-Amz-Target", async () => {
      const from = fake.requests.length;
      await adapter.deploy(target, revision(), 1);
      const sent = since(from);
      expect(operations(sent)).toEqual(["DescribeServices", "RegisterTaskDefinition", "CreateService"]);
      for (const request of sent) {
        expect(request.headers["content-type"]).toBe("application/x-amz-json-1.1");
        expect(request.headers["x-amz-target"]).toBe(
          `AmazonEC2ContainerServiceV20141113.${request.operation}`,
        );
        expect(request.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
        const authorization = String(request.headers.authorization);
        expect(authorization).toMatch(
          new RegExp(
            `^AWS4-HMAC-SHA256 Credential=${ECS_TEST_CREDENTIALS.accessKeyId}/\\d{8}/${HOME}/ecs/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
          ),
        );
        const signed = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(";") ?? [];
        expect(signed).toEqual(
          expect.arrayContaining(["host", "x-amz-date", "x-amz-target", "content-type"]),
        );
        // The fake checked the signature with the secret: a wrong one would have been refused.
        expect(request).toMatchObject({ region: HOME, status: 200, errorType: null });
      }
    });

    test("the task definition is a Fargate task with the image, port, health check, size and tags", async () => {
      const from = fake.requests.length;
      await adapter.deploy(target, revision(), 1);
      expect(bodyOf(since(from), "RegisterTaskDefinition")).toEqual({
        family: "devsim-shop-r4",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          {
            name: "app",
            image: revision().image,
            essential: true,
            portMappings: [{ containerPort: 8080, protocol: "tcp", name: "http", appProtocol: "http" }],
            healthCheck: {
              command: ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://localhost:8080/healthz"],
              interval: 10,
              timeout: 5,
              retries: 3,
              startPeriod: 15,
            },
          },
        ],
        tags: [
          { key: "devsim:workload", value: "shop" },
          { key: "devsim:revision", value: "4" },
          { key: "devsim:managed-by", value: "devsim" },
        ],
      });
    });

    test("the service has the desired count, the circuit breaker on, the cluster's network and tags", async () => {
      const from = fake.requests.length;
      const status = await adapter.deploy(target, revision(), 3);
      expect(bodyOf(since(from), "CreateService")).toEqual({
        cluster: CLUSTER,
        serviceName: "devsim-shop-r4",
        taskDefinition: "devsim-shop-r4",
        desiredCount: 3,
        launchType: "FARGATE",
        schedulingStrategy: "REPLICA",
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: ["subnet-0a1b2c3d4e5f60718"],
            securityGroups: ["sg-0a1b2c3d4e5f60718"],
            assignPublicIp: "DISABLED",
          },
        },
        deploymentConfiguration: {
          deploymentCircuitBreaker: { enable: true, rollback: true },
          maximumPercent: 200,
          minimumHealthyPercent: 100,
        },
        enableECSManagedTags: true,
        propagateTags: "SERVICE",
        tags: [
          { key: "devsim:workload", value: "shop" },
          { key: "devsim:revision", value: "4" },
          { key: "devsim:managed-by", value: "devsim" },
        ],
      });
      expect(status).toEqual({
        desiredReplicas: 3,
        readyReplicas: 0,
        url: "https://shop-r4.eu-west-1.ecs.example.com",
      });
      // Named by family, the service runs the revision just registered.
      const registered = fake.taskDefinitions(HOME, "devsim-shop-r4").at(-1)?.arn;
      expect(registered).toMatch(/^arn:aws:ecs:eu-west-1:123456789012:task-definition\/devsim-shop-r4:\d+$/);
      expect(fake.service(HOME, CLUSTER, "devsim-shop-r4")?.taskDefinition.arn).toBe(registered);
    });

    test("a deployment that exists is only described, not registered or created again", async () => {
      await adapter.deploy(target, revision(), 2);
      const from = fake.requests.length;
      expect(await adapter.deploy(target, revision(), 5)).toMatchObject({ desiredReplicas: 2 });
      expect(operations(since(from))).toEqual(["DescribeServices"]);
    });

    test("scale is one UpdateService with the new desired count", async () => {
      await adapter.deploy(target, revision(), 1);
      const from = fake.requests.length;
      await adapter.scale(target, 4, 3);
      expect(operations(since(from))).toEqual(["UpdateService"]);
      expect(bodyOf(since(from), "UpdateService")).toEqual({
        cluster: CLUSTER,
        service: "devsim-shop-r4",
        desiredCount: 3,
      });
    });

    test("remove scales to zero before deleting, and the service drains to INACTIVE", async () => {
      await adapter.deploy(target, revision(), 2);
      const from = fake.requests.length;
      await adapter.remove(target, 4);
      const sent = since(from);
      expect(operations(sent)).toEqual(["UpdateService", "DeleteService"]);
      expect(bodyOf(sent, "UpdateService")).toMatchObject({ service: "devsim-shop-r4", desiredCount: 0 });
      expect(bodyOf(sent, "DeleteService")).toEqual({
        cluster: CLUSTER,
        service: "devsim-shop-r4",
        force: true,
      });
      expect(fake.service(HOME, CLUSTER, "devsim-shop-r4")).toMatchObject({ desiredCount: 0 });
      await sleep(50);
      expect(fake.service(HOME, CLUSTER, "devsim-shop-r4")?.status).toBe("INACTIVE");
      expect(await adapter.describe(target, 4)).toBeNull();
    });

    test("removing what does not exist sends no DeleteService", async () => {
      const from = fake.requests.length;
      await adapter.remove(target, 99);
      expect(operations(since(from))).toEqual(["UpdateService"]);
      expect(since(from)[0]?.errorType).toBe("ServiceNotFoundException");
    });

    test("readiness is the primary deployment's running count; inspect gives rollout state and events", async () => {
      await adapter.deploy(target, revision(), 2);
      expect(await adapter.inspect(target, 4)).toMatchObject({
        desiredCount: 2,
        runningCount: 0,
        pendingCount: 2,
        rolloutState: "IN_PROGRESS",
      });
      await sleep(150);
      expect(await adapter.describe(target, 4)).toMatchObject({ desiredReplicas: 2, readyReplicas: 2 });
      const state = await adapter.inspect(target, 4);
      expect(state).toMatchObject({
        status: "ACTIVE",
        runningCount: 2,
        pendingCount: 0,
        rolloutState: "COMPLETED",
      });
      expect(state?.serviceArn).toBe("arn:aws:ecs:eu-west-1:123456789012:service/devsim/devsim-shop-r4");
      expect(state?.events.map((e) => e.message)).toEqual([
        "(service devsim-shop-r4) has reached a steady state.",
        expect.stringMatching(
          /^\(service devsim-shop-r4\) has started 2 tasks: \(task [0-9a-f]+\) \(task [0-9a-f]+\)\.$/,
        ),
      ]);
      expect(state?.events[0]?.at).toBeInstanceOf(Date);
      expect(await adapter.inspect(target, 98)).toBeNull();
    });

    test("each region is signed and kept apart; regions() checks each configured cluster", async () => {
      expect(await adapter.regions()).toEqual([
        { region: HOME, available: true },
        { region: OTHER, available: false },
      ]);
      fake.setClusterStatus(OTHER, CLUSTER, "ACTIVE");
      const east = { ...target, region: OTHER };
      const from = fake.requests.length;
      await adapter.deploy(east, revision(), 1);
      expect(since(from).every((r) => r.region === OTHER)).toBe(true);
      expect(fake.service(OTHER, CLUSTER, "devsim-shop-r4")?.desiredCount).toBe(1);
      expect(liveServices(fake, target)).toEqual([]);
      expect(await adapter.regions()).toEqual([
        { region: HOME, available: true },
        { region: OTHER, available: true },
      ]);
      await adapter.remove(east, 4);
      fake.setClusterStatus(OTHER, CLUSTER, "INACTIVE");
      expect((await adapter.regions())[1]).toEqual({ region: OTHER, available: false });
    });

    test("a target of another cloud or an unconfigured region fails before any call", async () => {
      const from = fake.requests.length;
      await expect(adapter.deploy({ ...target, cloud: "gcp" }, revision(), 1)).rejects.toMatchObject({
        failure: "invalid",
        cloud: "aws",
      });
      await expect(adapter.describe({ ...target, region: "ap-south-1" }, 4)).rejects.toMatchObject({
        failure: "not_found",
        message: expect.stringContaining("eu-west-1, us-east-1"),
      });
      await expect(adapter.scale(target, 4, 1.5)).rejects.toMatchObject({ failure: "invalid" });
      expect(fake.requests.length).toBe(from);
    });

    test("throttling is retried with one SDK attempt per call, and the request id is kept", async () => {
      await fake.inject("throttle", 1_000);
      const from = fake.requests.length;
      const error = await adapterFor(fake, { attempts: 3, baseMs: 1, maxMs: 5 })
        .describe(target, 4)
        .catch((e: unknown) => e);
      const sent = since(from);
      expect(sent).toHaveLength(3);
      expect(error).toBeInstanceOf(AdapterError);
      expect(error).toMatchObject({ failure: "throttled", cloud: "aws", requestId: sent.at(-1)?.requestId });
      expect((error as Error).message).toMatch(
        /^aws ecs eu-west-1: DescribeServices failed: ThrottlingException: Rate exceeded \(HTTP 400, request id [0-9a-f-]+\) \(gave up after 3 attempts in \d+ ms\)$/,
      );
      expect((error as Error).cause).toMatchObject({
        name: "ThrottlingException",
        $metadata: { attempts: 1 },
      });
    });

    test("a Retry-After on a throttling answer sets the wait before the next attempt", async () => {
      await fake.inject("throttle", 1, { retryAfterSeconds: 1 });
      const started = performance.now();
      expect(await adapter.describe(target, 4)).toBeNull();
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    });

    test("5xx that does not end surfaces as unavailable once the attempts are spent", async () => {
      await fake.inject("server-error", 1_000);
      // regions() reports a region whose API keeps failing as unavailable rather than failing itself.
      expect(await adapterFor(fake, { attempts: 2 }).regions()).toEqual([
        { region: HOME, available: false },
        { region: OTHER, available: false },
      ]);
      const scaled = await adapterFor(fake, { attempts: 2 })
        .scale(target, 4, 1)
        .catch((e: unknown) => e);
      expect(scaled).toMatchObject({ failure: "unavailable" });
      expect((scaled as Error).message).toContain("ServerException");
      expect((scaled as Error).message).toContain("HTTP 500");
    });

    test("a CreateService whose answer is lost is sent again and gives one service", async () => {
      await fake.inject("timeout", 1, { operations: ["CreateService"] });
      const from = fake.requests.length;
      const status = await adapter.deploy(target, revision(), 2);
      expect(status.desiredReplicas).toBe(2);
      expect(operations(since(from))).toEqual([
        "DescribeServices",
        "RegisterTaskDefinition",
        "CreateService",
        "CreateService",
      ]);
      expect(liveServices(fake, target)).toHaveLength(1);
    });

    test("a call that never answers is a timeout, promptly", async () => {
      await fake.inject("timeout", 1);
      const started = performance.now();
      const error = await adapterFor(fake, { attempts: 1 }, 100)
        .describe(target, 4)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ failure: "timeout", cloud: "aws" });
      expect((error as Error).cause).toMatchObject({ name: "TimeoutError" });
      expect(performance.now() - started).toBeLessThan(2_000);
    });

    test("a create refused as 'not idempotent' while the service reads as absent is re-read, never duplicated", async () => {
      await fake.inject("eventual-consistency", 4);
      await adapter.deploy(target, revision(), 1);
      const from = fake.requests.length;
      // Differs from the service created, so ECS refuses the second create rather than echoing it.
      const status = await adapter.deploy(target, revision(), 2);
      expect(status.desiredReplicas).toBe(1);
      const refused = since(from).filter((r) => r.operation === "CreateService");
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.every((r) => r.errorType === "InvalidParameterException")).toBe(true);
      expect(liveServices(fake, target)).toHaveLength(1);
      expect(fake.service(HOME, CLUSTER, "devsim-shop-r4")?.desiredCount).toBe(1);
    });

    test("scale of a service being deleted is not_found after a re-read", async () => {
      await adapter.deploy(target, revision(), 1);
      await adapter.remove(target, 4);
      const from = fake.requests.length;
      await expect(adapter.scale(target, 4, 2)).rejects.toMatchObject({ failure: "not_found" });
      expect(operations(since(from))).toEqual(["UpdateService", "DescribeServices"]);
      expect(since(from)[0]?.errorType).toBe("ServiceNotActiveException");
    });

    test("credentials the cloud does not accept are unauthorized, not retried", async () => {
      const wrong = createEcsAdapter({
        targets: [targetConfig(HOME)],
        endpoint: fake.url,
        credentials: { ...ECS_TEST_CREDENTIALS, secretAccessKey: "not-the-secret" },
        timeoutMs: 300,
      });
      const from = fake.requests.length;
      const error = await wrong.describe(target, 4).catch((e: unknown) => e);
      wrong.close();
      expect(error).toMatchObject({ failure: "unauthorized", cloud: "aws" });
      expect((error as Error).message).toContain("InvalidSignatureException");
      expect(since(from)).toHaveLength(1);
    });

    test("an IAM policy without an action is unauthorized", async () => {
      fake.deny(["RegisterTaskDefinition"]);
      const error = await adapter.deploy(target, revision({ number: 7 }), 1).catch((e: unknown) => e);
      expect(error).toMatchObject({ failure: "unauthorized" });
      expect((error as Error).message).toContain("not authorized to perform: ecs:RegisterTaskDefinition");
      expect(fake.service(HOME, CLUSTER, "devsim-shop-r7")).toBeUndefined();
    });
  });

  describe("against a fake whose tasks stop slowly", () => {
    beforeAll(() => startFake({ stopMs: 300 }));
    afterAll(stopFake);

    test("redeploying a revision whose service still drains waits for it, then creates it", async () => {
      await adapter.deploy(target, revision(), 1);
      await sleep(150);
      await adapter.remove(target, 4);
      expect(fake.service(HOME, CLUSTER, "devsim-shop-r4")?.status).toBe("DRAINING");
      const from = fake.requests.length;
      // Forty-nine waits drawn from [0, 50) ms sum to about 1.2 s: far past the 300 ms drain.
      const status = await adapterFor(fake, { attempts: 50, baseMs: 50, maxMs: 50 }).deploy(
        target,
        revision(),
        2,
      );
      expect(status.desiredReplicas).toBe(2);
      const creates = since(from).filter((r) => r.operation === "CreateService");
      expect(creates[0]?.errorType).toBe("InvalidParameterException");
      expect(creates.at(-1)?.status).toBe(200);
      expect(fake.service(HOME, CLUSTER, "devsim-shop-r4")).toMatchObject({
        status: "ACTIVE",
        desiredCount: 2,
      });
    });
  });

  test("bad options are an AdapterError naming the field", () => {
    const base = { targets: [targetConfig(HOME)], credentials: ECS_TEST_CREDENTIALS };
    expect(() => createEcsAdapter({ ...base, cpu: 300 })).toThrow(/cpu/);
    expect(() => createEcsAdapter({ ...base, targets: [] })).toThrow(AdapterError);
    expect(() =>
      createEcsAdapter({
        ...base,
        targets: [{ ...targetConfig(HOME), urlPattern: "https://static.example.com" }],
      }),
    ).toThrow(/\{workload\}/);
  });
});
