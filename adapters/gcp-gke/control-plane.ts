import type { protos } from "@google-cloud/container";
import { AdapterError } from "#core";
import type { ControlPlaneEndpoint } from "./config.ts";
import { CLOUD } from "./errors.ts";

type Cluster = protos.google.container.v1.ICluster;

/** Where one cluster lives in GKE. */
export interface GkeClusterRef {
  readonly project: string;
  readonly location: string;
  readonly name: string;
}

export const clusterPath = (ref: GkeClusterRef): string =>
  `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;

/** The API server to send the Kubernetes layer to, and the CA to verify it by (none: the system's). */
export interface ControlPlaneAddress {
  readonly server: string;
  readonly caData?: string;
}

/**
 * A cluster whose chosen control plane endpoint is absent or disabled: AdapterError `invalid`, whose
 * `problem` and `fix` `check` shows on their own lines.
 */
export class ControlPlaneEndpointError extends AdapterError {
  readonly endpoint: ControlPlaneEndpoint;
  readonly problem: string;
  readonly fix: string;

  constructor(ref: GkeClusterRef, endpoint: ControlPlaneEndpoint, problem: string, fix: string) {
    super("invalid", CLOUD, `gcp-gke: cluster ${clusterPath(ref)}: ${problem}. ${fix}`);
    this.endpoint = endpoint;
    this.problem = problem;
    this.fix = fix;
  }
}

/**
 * The address of the control plane endpoint `choice` of a cluster read by `getCluster`, from the
 * Cluster resource (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters,
 * and `ControlPlaneEndpointsConfig` in google/container/v1/cluster_service.proto):
 * - `public`: `endpoint`, the public IP while `controlPlaneEndpointsConfig.ipEndpointsConfig` has both
 *   `enabled` and `enablePublicEndpoint` (on older clusters, while `privateClusterConfig` has no
 *   `enablePrivateEndpoint`); `ipEndpointsConfig.publicEndpoint` when GKE reports it. Once the public
 *   endpoint is disabled, `endpoint` is the private IP: it is not taken for the public one.
 * - `private`: `ipEndpointsConfig.privateEndpoint`, else the deprecated `privateClusterConfig.privateEndpoint`,
 *   while the IP endpoints are `enabled`.
 * - `dns`: `controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint` (`….gke.goog`), which serves user
 *   traffic only with `allowExternalTraffic`; an unset flag counts as off, as for gcloud
 *   (`_GetClusterEndpoint` in googlecloudsdk/api_lib/container/util.py).
 *
 * The IP endpoints present a certificate of the cluster's own CA (`masterAuth.clusterCaCertificate`),
 * which is pinned. The DNS endpoint is a Google front end with a publicly trusted certificate: the
 * cluster CA did not sign it, so none is pinned and the system's trust store verifies it, as in the
 * kubeconfig `gcloud container clusters get-credentials --dns-endpoint` writes, which has no
 * `certificate-authority-data` (`Cluster` in googlecloudsdk/api_lib/container/kubeconfig.py).
 *
 * An endpoint absent or disabled is ControlPlaneEndpointError (`invalid`) naming the setting or the
 * gcloud flag that fixes it; a cluster still PROVISIONING, with no address yet, is `unavailable`.
 */
export const controlPlaneAddress = (
  cluster: Cluster,
  ref: GkeClusterRef,
  choice: ControlPlaneEndpoint,
): ControlPlaneAddress => {
  const update = `gcloud container clusters update ${ref.name} --location ${ref.location} --project ${ref.project}`;
  const another = (...others: ControlPlaneEndpoint[]): string =>
    `set \`controlPlaneEndpoint\` to ${others.map((o) => `"${o}"`).join(" or ")} (the cluster's own under \`clusters\`, or the default at the top level)`;
  const refuse = (problem: string, fix: string): never => {
    throw new ControlPlaneEndpointError(ref, choice, problem, fix);
  };
  const absent = (what: string, fix: string): never => {
    if (String(cluster.status) === "PROVISIONING") {
      throw new AdapterError(
        "unavailable",
        CLOUD,
        `gcp-gke: cluster ${clusterPath(ref)} has no ${what} yet (status PROVISIONING)`,
      );
    }
    return refuse(`GKE reports no ${what} for it`, fix);
  };

  const endpoints = cluster.controlPlaneEndpointsConfig;
  const ip = endpoints?.ipEndpointsConfig;
  const caData = cluster.masterAuth?.clusterCaCertificate || undefined;
  const pinned = (host: string): ControlPlaneAddress => ({
    server: `https://${host}`,
    ...(caData ? { caData } : {}),
  });
  const ipDisabled = (endpoint: string): never =>
    refuse(
      `its IP endpoints are disabled (controlPlaneEndpointsConfig.ipEndpointsConfig.enabled is false), so it has no ${endpoint}`,
      `Enable them with \`${update} --enable-ip-access\`, or reach it by its DNS endpoint: ${another("dns")}`,
    );

  switch (choice) {
    case "public": {
      if (ip?.enabled === false) return ipDisabled("public endpoint");
      const off =
        ip?.enablePublicEndpoint === false
          ? "controlPlaneEndpointsConfig.ipEndpointsConfig.enablePublicEndpoint is false"
          : cluster.privateClusterConfig?.enablePrivateEndpoint
            ? "privateClusterConfig.enablePrivateEndpoint is true"
            : undefined;
      if (off) {
        return refuse(
          `its public endpoint is disabled (${off})`,
          `Enable it with \`${update} --no-enable-private-endpoint\`, or ${another("dns", "private")} ("private" only from inside the cluster's VPC)`,
        );
      }
      const host = ip?.publicEndpoint || cluster.endpoint;
      return host
        ? pinned(host)
        : absent("public endpoint", `Choose another endpoint: ${another("private", "dns")}`);
    }
    case "private": {
      if (ip?.enabled === false) return ipDisabled("private endpoint");
      const host = ip?.privateEndpoint || cluster.privateClusterConfig?.privateEndpoint;
      return host
        ? pinned(host)
        : absent(
            "private endpoint (ipEndpointsConfig.privateEndpoint, privateClusterConfig.privateEndpoint)",
            `Choose another endpoint: ${another("public", "dns")}`,
          );
    }
    case "dns": {
      const dns = endpoints?.dnsEndpointConfig;
      if (!dns?.endpoint) {
        return absent(
          "DNS endpoint (controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint)",
          `Enable it with \`${update} --enable-dns-access\`, or ${another("public", "private")}`,
        );
      }
      if (dns.allowExternalTraffic !== true) {
        return refuse(
          "its DNS endpoint does not allow external traffic (controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic is not true)",
          `Allow it with \`${update} --enable-dns-access\`, or ${another("public", "private")}`,
        );
      }
      return { server: `https://${dns.endpoint}` };
    }
  }
};
