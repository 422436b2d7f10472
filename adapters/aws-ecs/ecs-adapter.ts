import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { z } from "zod";
import { AdapterError, retry } from "#core";
import type { CloudAdapter, DeploymentStatus, DeploymentTarget } from "../port.ts";
import { type AwsCredentials, createEcsApi } from "./client.ts";
import { EcsAdapterConfig, type EcsAdapterConfigInput, type EcsTargetConfig, renderUrl } from "./config.ts";
import { ecsErrorCode } from "./errors.ts";
import { createServiceRequest, ecsNames, taskDefinitionRequest } from "./requests.ts";
import { deploymentStatus, type EcsServiceState, isLive, serviceState } from "./status.ts";

export interface EcsAdapterOptions extends EcsAdapterConfigInput {
  /** Static keys; default the SDK's default credential chain (env, shared files, SSO, instance role). */
  readonly credentials?: AwsCredentials;
}

export interface EcsAdapter extends CloudAdapter {
  /** The service's own account of a deployment (counts, rollout state, events), or null when absent. */
  inspect(target: DeploymentTarget, revision: number): Promise<EcsServiceState | null>;
  /** Closes the adapter's connections. */
  close(): void;
}

const lostRace = (error: unknown): error is AdapterError =>
  error instanceof AdapterError && error.failure === "conflict";

/**
 * The CloudAdapter for AWS: each revision in each region is an ECS service on Fargate, with a task
 * definition of its own. Configuration errors throw here, not at the first call.
 *
 * @example
 * const ecs = createEcsAdapter({
 *   targets: [{ region: "us-east-1", cluster: "devsim", subnets: ["subnet-0a1b2c3d"],
 *     urlPattern: "https://{workload}-r{revision}.use1.example.com" }],
 * });
 * await ecs.deploy({ workload: "shop", cloud: "aws", region: "us-east-1" }, revision, 2);
 */
export const createEcsAdapter = (options: EcsAdapterOptions): EcsAdapter => {
  const { credentials, ...input } = options;
  const parsed = EcsAdapterConfig.safeParse(input);
  if (!parsed.success) {
    throw new AdapterError("invalid", "aws", `aws ecs: bad options: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const config = parsed.data;
  const api = createEcsApi({
    endpoint: config.endpoint,
    profile: config.profile,
    credentials,
    timeoutMs: config.timeoutMs,
    retry: config.retry,
  });
  const targets = new Map(config.targets.map((t) => [t.region, t]));

  /** The configured region a target lives in. */
  const regionOf = (op: string, target: DeploymentTarget): EcsTargetConfig => {
    if (target.cloud !== "aws") {
      throw new AdapterError("invalid", "aws", `aws ecs: ${op}: target is in cloud '${target.cloud}'`);
    }
    const found = targets.get(target.region);
    if (!found) {
      const known = [...targets.keys()].join(", ");
      throw new AdapterError(
        "not_found",
        "aws",
        `aws ecs: ${op}: region '${target.region}' is not configured (configured: ${known})`,
      );
    }
    return found;
  };

  const checkReplicas = (op: string, replicas: number): void => {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new AdapterError(
        "invalid",
        "aws",
        `aws ecs: ${op}: replicas must be a whole number ≥ 0, got ${replicas}`,
      );
    }
  };

  /** Re-runs `attempt` while it loses races (conflicts), within the same retry policy as calls. */
  const untilSettled = <T>(attempt: () => Promise<T>): Promise<T> =>
    retry(attempt, { ...config.retry, retryable: (error) => ({ retry: lostRace(error) }) });

  /** The live service of that name, or null when there is none (absent, draining or inactive). */
  const readService = async (where: EcsTargetConfig, name: string): Promise<Service | null> => {
    const out = await api.call(where.region, "DescribeServices", (client) =>
      client.send(
        new DescribeServicesCommand({ cluster: where.cluster, services: [name], include: ["TAGS"] }),
      ),
    );
    const service = out.services?.find((s) => s.serviceName === name);
    if (service) return isLive(service) ? service : null;
    const failure = out.failures?.find((f) => f.arn?.endsWith(`/${name}`));
    if (!failure || failure.reason === "MISSING") return null;
    throw new AdapterError(
      "unavailable",
      "aws",
      `aws ecs ${where.region}: DescribeServices could not describe ${name}: ${failure.reason ?? "?"} ${failure.detail ?? ""}`.trim(),
    );
  };

  const statusOf = (
    where: EcsTargetConfig,
    workload: string,
    revision: number,
    service: Service,
  ): DeploymentStatus =>
    deploymentStatus(
      service,
      renderUrl(where.urlPattern, {
        workload,
        revision: String(revision),
        region: where.region,
        cluster: where.cluster,
        service: ecsNames(workload, revision).service,
      }),
    );

  /** Sets a service's desired count; false when the service does not exist (or no longer does). */
  const setDesiredCount = (where: EcsTargetConfig, name: string, desiredCount: number): Promise<boolean> =>
    untilSettled(async () => {
      try {
        await api.call(where.region, "UpdateService", (client) =>
          client.send(new UpdateServiceCommand({ cluster: where.cluster, service: name, desiredCount })),
        );
        return true;
      } catch (error) {
        if (error instanceof AdapterError && ecsErrorCode(error) === "ServiceNotFoundException") return false;
        if (!lostRace(error)) throw error;
        // ServiceNotActiveException: re-read; a service still there gets the write again.
        if (!(await readService(where, name))) return false;
        throw error;
      }
    });

  return {
    cloud: "aws",
    // URLs come from the configured pattern; the load balancer or DNS behind it is set up outside.
    capabilities: { directEndpoints: false },

    async deploy(target, revision, replicas) {
      const where = regionOf("deploy", target);
      checkReplicas("deploy", replicas);
      const name = ecsNames(target.workload, revision.number).service;
      const existing = await readService(where, name);
      if (existing) return statusOf(where, target.workload, revision.number, existing);

      await api.call(where.region, "RegisterTaskDefinition", (client) =>
        client.send(
          new RegisterTaskDefinitionCommand(taskDefinitionRequest(config, where, target.workload, revision)),
        ),
      );
      return untilSettled(async () => {
        try {
          const out = await api.call(where.region, "CreateService", (client) =>
            client.send(
              new CreateServiceCommand(
                createServiceRequest(where, target.workload, revision.number, replicas),
              ),
            ),
          );
          if (!out.service) {
            throw new AdapterError(
              "unavailable",
              "aws",
              `aws ecs ${where.region}: CreateService answered no service`,
            );
          }
          return statusOf(where, target.workload, revision.number, out.service);
        } catch (error) {
          if (!lostRace(error)) throw error;
          // The name is taken: by this very deployment (created by an attempt whose answer was lost,
          // or not yet readable), or by its predecessor still draining. Service names are unique per
          // cluster, so reading again, never creating under another name, is what keeps it single.
          const now = await readService(where, name);
          if (now) return statusOf(where, target.workload, revision.number, now);
          throw error;
        }
      });
    },

    async scale(target, revision, replicas) {
      const where = regionOf("scale", target);
      checkReplicas("scale", replicas);
      const name = ecsNames(target.workload, revision).service;
      if (!(await setDesiredCount(where, name, replicas))) {
        throw new AdapterError(
          "not_found",
          "aws",
          `aws ecs ${where.region}: scale: no active service ${name}`,
        );
      }
    },

    async describe(target, revision) {
      const where = regionOf("describe", target);
      const service = await readService(where, ecsNames(target.workload, revision).service);
      return service && statusOf(where, target.workload, revision, service);
    },

    async remove(target, revision) {
      const where = regionOf("remove", target);
      const name = ecsNames(target.workload, revision).service;
      // Scale to zero first, so ECS stops the tasks the way it does on any scale-in (load balancer
      // deregistration included), then delete; the service drains and turns INACTIVE on its own.
      if (!(await setDesiredCount(where, name, 0))) return;
      try {
        await api.call(where.region, "DeleteService", (client) =>
          client.send(new DeleteServiceCommand({ cluster: where.cluster, service: name, force: true })),
        );
      } catch (error) {
        if (error instanceof AdapterError && ecsErrorCode(error) === "ServiceNotFoundException") return;
        throw error;
      }
    },

    async regions() {
      return Promise.all(
        config.targets.map(async (where) => {
          try {
            const out = await api.call(where.region, "DescribeClusters", (client) =>
              client.send(new DescribeClustersCommand({ clusters: [where.cluster] })),
            );
            const cluster = out.clusters?.find((c) => c.clusterName === where.cluster);
            return { region: where.region, available: cluster?.status === "ACTIVE" };
          } catch (error) {
            // A region whose API cannot be reached is not one to deploy to; bad credentials are a
            // configuration error and surface as such.
            if (error instanceof AdapterError && (error.retryable || error.failure === "not_found")) {
              return { region: where.region, available: false };
            }
            throw error;
          }
        }),
      );
    },

    async inspect(target, revision) {
      const where = regionOf("inspect", target);
      const service = await readService(where, ecsNames(target.workload, revision).service);
      return service && serviceState(service);
    },

    close() {
      api.destroy();
    },
  };
};
