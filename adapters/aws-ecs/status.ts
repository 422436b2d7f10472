import type { Service } from "@aws-sdk/client-ecs";
import type { DeploymentStatus } from "../port.ts";

/** What ECS says about one deployment's service, beyond the port's counts. */
export interface EcsServiceState {
  readonly serviceArn: string | null;
  readonly status: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  /** The primary deployment's rollout: IN_PROGRESS, COMPLETED or FAILED (circuit breaker). */
  readonly rolloutState: string | null;
  readonly rolloutStateReason: string | null;
  /** Newest first, as ECS lists them. */
  readonly events: readonly { readonly at: Date | null; readonly message: string }[];
}

/**
 * Whether a described service counts as a deployment: a DRAINING service is being deleted and an
 * INACTIVE one is gone, though ECS still describes both for a while.
 */
export const isLive = (service: Service): boolean => service.status === "ACTIVE";

const primaryDeployment = (service: Service) => service.deployments?.find((d) => d.status === "PRIMARY");

/** Ready means running in the primary deployment: tasks of a deployment being replaced do not count. */
export const readyReplicas = (service: Service): number =>
  primaryDeployment(service)?.runningCount ?? service.runningCount ?? 0;

export const deploymentStatus = (service: Service, url: string): DeploymentStatus => ({
  desiredReplicas: service.desiredCount ?? 0,
  readyReplicas: readyReplicas(service),
  url,
});

/** The events ECS keeps for a service, limited to the newest `limit`. */
export const serviceState = (service: Service, limit = 10): EcsServiceState => {
  const primary = primaryDeployment(service);
  return {
    serviceArn: service.serviceArn ?? null,
    status: service.status ?? "UNKNOWN",
    desiredCount: service.desiredCount ?? 0,
    runningCount: readyReplicas(service),
    pendingCount: primary?.pendingCount ?? service.pendingCount ?? 0,
    rolloutState: primary?.rolloutState ?? null,
    rolloutStateReason: primary?.rolloutStateReason ?? null,
    events: (service.events ?? [])
      .slice(0, limit)
      .map((e) => ({ at: e.createdAt ?? null, message: e.message ?? "" })),
  };
};
