import { createHash } from "node:crypto";
import { canonical, DeploymentSpec, isObject, iso, type Json, Meta, omitZero } from "./api-objects.ts";

/** What the controller knows of one Deployment's rollout. */
export interface Rollout {
  /** The Deployment as stored: metadata and spec. */
  readonly object: Json;
  /** When its spec last changed, and its status and ready pods just before. */
  readonly changedAtMs: number;
  readonly statusBefore: Json;
  readonly readyBefore: number;
  /** Whether its pods never become ready. */
  readonly stalled: boolean;
}

export interface ControllerTiming {
  readonly observeMs: number;
  readonly readyAfterMs: number;
}

/** The image of a Deployment's first container. */
export const imageOf = (deployment: Json): string => {
  const parsed = DeploymentSpec.safeParse(deployment.spec);
  return parsed.success ? (parsed.data.template.spec.containers[0]?.image ?? "") : "";
};

/**
 * The status the Deployment controller would have written by `now`: it sees a new spec after
 * `observeMs`, its pods are ready `readyAfterMs` after the change (never, when stalled), and a
 * rollout without progress for `progressDeadlineSeconds` gets `ProgressDeadlineExceeded`
 * (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status).
 */
export const controllerStatus = (
  s: Rollout,
  now: number,
  { observeMs, readyAfterMs }: ControllerTiming,
): Json => {
  const elapsed = now - s.changedAtMs;
  if (elapsed < observeMs) return s.statusBefore;
  const spec = DeploymentSpec.parse(s.object.spec);
  const meta = Meta.parse(s.object.metadata);
  const replicas = spec.replicas ?? 1;
  const ready = s.stalled ? 0 : elapsed >= readyAfterMs ? replicas : Math.min(s.readyBefore, replicas);
  const replicaSet = `${meta.name}-${createHash("sha256").update(canonical(spec.template)).digest("hex").slice(0, 10)}`;
  const deadlineMs = (spec.progressDeadlineSeconds ?? 600) * 1000;
  const progressing =
    ready >= replicas
      ? {
          status: "True",
          reason: "NewReplicaSetAvailable",
          message: `ReplicaSet "${replicaSet}" has successfully progressed.`,
        }
      : elapsed > deadlineMs
        ? {
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: `ReplicaSet "${replicaSet}" has timed out progressing.`,
          }
        : {
            status: "True",
            reason: "ReplicaSetUpdated",
            message: `ReplicaSet "${replicaSet}" is progressing.`,
          };
  const available =
    ready >= replicas - Math.floor(replicas / 4)
      ? {
          status: "True",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
        }
      : {
          status: "False",
          reason: "MinimumReplicasUnavailable",
          message: "Deployment does not have minimum availability.",
        };
  const at = iso(s.changedAtMs);
  return omitZero({
    observedGeneration: s.object.metadata && isObject(s.object.metadata) ? s.object.metadata.generation : 1,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: ready,
    availableReplicas: ready,
    unavailableReplicas: replicas - ready,
    conditions: [
      { type: "Available", ...available, lastUpdateTime: at, lastTransitionTime: at },
      { type: "Progressing", ...progressing, lastUpdateTime: at, lastTransitionTime: at },
    ],
  });
};
