import type { V1Deployment, V1Namespace, V1Service } from "@kubernetes/client-node";
import type { RevisionSpec } from "../port.ts";
import type { KubernetesSettings } from "./settings.ts";

/** Label keys devsim puts on everything it creates. */
export const LABELS = {
  workload: "app.kubernetes.io/name",
  managedBy: "app.kubernetes.io/managed-by",
  revision: "devsim.dev/revision",
} as const;

/** Where one revision of one workload lives in a cluster. */
export interface RevisionPlace {
  readonly namespace: string;
  /** Name of both the Deployment and the Service. */
  readonly name: string;
  readonly workload: string;
  readonly revision: number;
}

/** A DNS-1035 label (Service names must be one), at most 63 characters. */
const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The namespace `<prefix><workload>` and the name `<workload>-r<revision>`, or a reason why they
 * would not be valid Kubernetes names.
 */
export const revisionPlace = (
  namespacePrefix: string,
  workload: string,
  revision: number,
): RevisionPlace | { readonly problem: string } => {
  if (!Number.isSafeInteger(revision) || revision < 0) {
    return { problem: `revision must be a non-negative integer, got ${revision}` };
  }
  const namespace = `${namespacePrefix}${workload}`;
  const name = `${workload}-r${revision}`;
  for (const [what, value] of [
    ["namespace", namespace],
    ["name", name],
  ] as const) {
    if (!DNS_LABEL.test(value))
      return { problem: `${what} '${value}' is not a DNS label of at most 63 characters` };
  }
  return { namespace, name, workload, revision };
};

/** Labels of every object of the revision; the selector uses the two that identify it. */
export const revisionLabels = (place: RevisionPlace): Record<string, string> => ({
  [LABELS.workload]: place.workload,
  [LABELS.managedBy]: "devsim",
  [LABELS.revision]: String(place.revision),
});

const selector = (place: RevisionPlace): Record<string, string> => ({
  [LABELS.workload]: place.workload,
  [LABELS.revision]: String(place.revision),
});

/** The named container port the probes and the Service point at. */
const PORT_NAME = "http";

export const namespaceManifest = (place: RevisionPlace): V1Namespace => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: {
    name: place.namespace,
    labels: { [LABELS.workload]: place.workload, [LABELS.managedBy]: "devsim" },
  },
});

/**
 * The Deployment of one revision: one container with the revision's image and port, readiness and
 * liveness probes on its health path, and the configured resources.
 */
export const deploymentManifest = (
  place: RevisionPlace,
  revision: RevisionSpec,
  replicas: number,
  settings: Pick<KubernetesSettings, "resources" | "progressDeadlineSeconds">,
): V1Deployment => {
  const probe = { httpGet: { path: revision.healthPath, port: PORT_NAME }, timeoutSeconds: 2 };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: place.name, namespace: place.namespace, labels: revisionLabels(place) },
    spec: {
      replicas,
      progressDeadlineSeconds: settings.progressDeadlineSeconds,
      selector: { matchLabels: selector(place) },
      template: {
        metadata: { labels: revisionLabels(place) },
        spec: {
          containers: [
            {
              name: "app",
              image: revision.image,
              ports: [{ name: PORT_NAME, containerPort: revision.port, protocol: "TCP" }],
              readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
              // Later and more lenient than readiness: a slow start must not become a restart loop.
              livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
              resources: {
                requests: { ...settings.resources.requests },
                limits: { ...settings.resources.limits },
              },
            },
          ],
        },
      },
    },
  };
};

/** The Service in front of one revision's pods, on the revision's own port. */
export const serviceManifest = (
  place: RevisionPlace,
  revision: RevisionSpec,
  settings: Pick<KubernetesSettings, "serviceType">,
): V1Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: place.name, namespace: place.namespace, labels: revisionLabels(place) },
  spec: {
    type: settings.serviceType,
    selector: selector(place),
    ports: [{ name: PORT_NAME, port: revision.port, targetPort: PORT_NAME, protocol: "TCP" }],
  },
});
