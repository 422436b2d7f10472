import { describe, expect, test } from "vitest";
import type { RevisionSpec } from "../port.ts";
import {
  deploymentManifest,
  namespaceManifest,
  type RevisionPlace,
  revisionLabels,
  revisionPlace,
  serviceManifest,
} from "./manifests.ts";
import { KubernetesSettings } from "./settings.ts";

const revision: RevisionSpec = {
  number: 7,
  image: "registry.example.com/shop/web:7",
  port: 9000,
  healthPath: "/ready",
  sim: null,
};
const place: RevisionPlace = { namespace: "devsim-shop", name: "shop-r7", workload: "shop", revision: 7 };
const settings = KubernetesSettings.parse({});

describe("revisionPlace", () => {
  test("names the namespace after the workload and the objects after workload and revision", () => {
    expect(revisionPlace("devsim-", "shop", 7)).toEqual(place);
    expect(revisionPlace("", "shop", 0)).toEqual({
      namespace: "shop",
      name: "shop-r0",
      workload: "shop",
      revision: 0,
    });
  });

  test("refuses names Kubernetes would refuse", () => {
    expect(revisionPlace("devsim-", "a".repeat(62), 1)).toEqual({
      problem: expect.stringContaining("is not a DNS label of at most 63 characters"),
    });
    expect(revisionPlace("devsim-", "Shop", 1)).toMatchObject({
      problem: expect.stringContaining("namespace"),
    });
    expect(revisionPlace("devsim-", "shop", -1)).toMatchObject({
      problem: expect.stringContaining("revision"),
    });
    expect(revisionPlace("devsim-", "shop", 1.5)).toMatchObject({
      problem: expect.stringContaining("revision"),
    });
  });

  test("a 40-character workload (the longest allowed) fits with the default prefix", () => {
    expect(revisionPlace("devsim-", "w".repeat(40), 123_456_789)).not.toHaveProperty("problem");
  });
});

describe("manifests", () => {
  test("every object carries the workload and revision labels", () => {
    expect(revisionLabels(place)).toEqual({
      "app.kubernetes.io/name": "shop",
      "app.kubernetes.io/managed-by": "devsim",
      "devsim.dev/revision": "7",
    });
    expect(namespaceManifest(place)).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "devsim-shop",
        labels: { "app.kubernetes.io/name": "shop", "app.kubernetes.io/managed-by": "devsim" },
      },
    });
  });

  test("the Deployment runs the image on its port, probed on the health path, with the resources", () => {
    const d = deploymentManifest(place, revision, 4, settings);
    expect(d.metadata).toEqual({ name: "shop-r7", namespace: "devsim-shop", labels: revisionLabels(place) });
    expect(d.spec?.replicas).toBe(4);
    expect(d.spec?.progressDeadlineSeconds).toBe(600);
    expect(d.spec?.selector).toEqual({
      matchLabels: { "app.kubernetes.io/name": "shop", "devsim.dev/revision": "7" },
    });
    expect(d.spec?.template.metadata?.labels).toEqual(revisionLabels(place));
    const [container, ...others] = d.spec?.template.spec?.containers ?? [];
    expect(others).toEqual([]);
    expect(container).toMatchObject({
      image: "registry.example.com/shop/web:7",
      ports: [{ name: "http", containerPort: 9000, protocol: "TCP" }],
      readinessProbe: { httpGet: { path: "/ready", port: "http" } },
      livenessProbe: { httpGet: { path: "/ready", port: "http" }, initialDelaySeconds: 10 },
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    });
  });

  test("the selector's labels are all on the pod template, or the API server would refuse the Deployment", () => {
    const d = deploymentManifest(place, revision, 1, settings);
    const labels = d.spec?.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(d.spec?.selector.matchLabels ?? {})) expect(labels[k]).toBe(v);
  });

  test("resources and the progress deadline come from the settings", () => {
    const custom = KubernetesSettings.parse({
      resources: { requests: { cpu: "1" }, limits: { cpu: "2", memory: "1Gi" } },
      progressDeadlineSeconds: 30,
    });
    const d = deploymentManifest(place, revision, 1, custom);
    expect(d.spec?.template.spec?.containers[0]?.resources).toEqual({
      requests: { cpu: "1" },
      limits: { cpu: "2", memory: "1Gi" },
    });
    expect(d.spec?.progressDeadlineSeconds).toBe(30);
  });

  test("the Service selects the revision's pods on the revision's port", () => {
    expect(serviceManifest(place, revision, settings)).toEqual({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "shop-r7", namespace: "devsim-shop", labels: revisionLabels(place) },
      spec: {
        type: "ClusterIP",
        selector: { "app.kubernetes.io/name": "shop", "devsim.dev/revision": "7" },
        ports: [{ name: "http", port: 9000, targetPort: "http", protocol: "TCP" }],
      },
    });
    expect(serviceManifest(place, revision, { serviceType: "LoadBalancer" }).spec?.type).toBe("LoadBalancer");
  });
});
