import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import type { DeploymentStatus } from "../port.ts";
import type { RevisionPlace } from "./manifests.ts";
import { type EndpointPlaceholder, fillEndpointPattern, type KubernetesSettings } from "./settings.ts";

/** The reason the Deployment controller gives a rollout that stopped making progress. */
export const PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded";

/** What a Deployment's status says, judged the way `kubectl rollout status` judges it. */
export type DeploymentReading =
  | { readonly kind: "status"; readonly status: DeploymentStatus }
  /** The controller gave up on the rollout; it will not become ready without a change. */
  | { readonly kind: "stalled"; readonly status: DeploymentStatus; readonly message: string };

/** Where a URL is built for: the cluster's name and the target's region, for endpoint patterns. */
export interface EndpointContext {
  readonly cluster: string;
  readonly region: string;
}

/**
 * Ready replicas count only once the controller has seen the latest spec (`observedGeneration` at
 * least `metadata.generation`), and only those of the current template (`updatedReplicas`); a
 * `Progressing` condition with reason `ProgressDeadlineExceeded` means the rollout failed
 * (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment).
 */
export const judgeDeployment = (
  deployment: V1Deployment,
  service: V1Service | null,
  place: RevisionPlace,
  settings: Pick<KubernetesSettings, "endpointPattern">,
  where: EndpointContext,
): DeploymentReading => {
  const desiredReplicas = deployment.spec?.replicas ?? 1;
  const generation = deployment.metadata?.generation ?? 0;
  const observed = (deployment.status?.observedGeneration ?? 0) >= generation;
  const ready = Math.min(deployment.status?.readyReplicas ?? 0, deployment.status?.updatedReplicas ?? 0);
  const status: DeploymentStatus = {
    desiredReplicas,
    readyReplicas: observed ? Math.min(ready, desiredReplicas) : 0,
    url: service ? endpointUrl(service, place, settings, where) : null,
  };
  const progressing = deployment.status?.conditions?.find((c) => c.type === "Progressing");
  if (observed && progressing?.status === "False" && progressing.reason === PROGRESS_DEADLINE_EXCEEDED) {
    return { kind: "stalled", status, message: progressing.message ?? PROGRESS_DEADLINE_EXCEEDED };
  }
  return { kind: "status", status };
};

/** Brackets an IPv6 address so it can stand as a URL host. */
const urlHost = (host: string): string => (host.includes(":") ? `[${host}]` : host);

/**
 * The revision's base URL: the endpoint pattern when one is configured; else a LoadBalancer
 * Service's first ingress address once the cloud has assigned one; else the Service's cluster DNS
 * name, `http://<service>.<namespace>.svc.cluster.local:<port>`.
 */
export const endpointUrl = (
  service: V1Service,
  place: RevisionPlace,
  settings: Pick<KubernetesSettings, "endpointPattern">,
  where: EndpointContext,
): string | null => {
  const port = service.spec?.ports?.[0]?.port;
  if (port === undefined) return null;
  if (settings.endpointPattern !== undefined) {
    const values: Record<EndpointPlaceholder, string> = {
      service: place.name,
      namespace: place.namespace,
      port: String(port),
      workload: place.workload,
      revision: String(place.revision),
      region: where.region,
      cluster: where.cluster,
    };
    return fillEndpointPattern(settings.endpointPattern, values);
  }
  if (service.spec?.type === "LoadBalancer") {
    const ingress = service.status?.loadBalancer?.ingress?.[0];
    const host = ingress?.ip ?? ingress?.hostname;
    return host ? `http://${urlHost(host)}:${port}` : null;
  }
  return `http://${place.name}.${place.namespace}.svc.cluster.local:${port}`;
};
