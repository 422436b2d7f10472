import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import { describe, expect, test } from "vitest";
import type { RevisionPlace } from "./manifests.ts";
import { endpointUrl, judgeDeployment } from "./status.ts";

const place: RevisionPlace = { namespace: "devsim-shop", name: "shop-r2", workload: "shop", revision: 2 };
const where = { cluster: "gke-europe-west1", region: "europe-west1" };
const noPattern = { endpointPattern: undefined };

const deployment = (over: {
  generation?: number;
  replicas?: number;
  status?: V1Deployment["status"];
}): V1Deployment => ({
  metadata: { name: "shop-r2", namespace: "devsim-shop", generation: over.generation ?? 1 },
  spec: {
    replicas: over.replicas ?? 3,
    selector: {},
    template: {},
  },
  status: over.status,
});

const service = (spec: V1Service["spec"], status?: V1Service["status"]): V1Service => ({
  metadata: { name: "shop-r2", namespace: "devsim-shop" },
  spec,
  status,
});
const clusterIp = service({ type: "ClusterIP", ports: [{ port: 8080 }] });

describe("judgeDeployment", () => {
  test("a Deployment the controller has not seen yet reports its desired replicas and none ready", () => {
    expect(judgeDeployment(deployment({ replicas: 2 }), null, place, noPattern, where)).toEqual({
      kind: "status",
      status: { desiredReplicas: 2, readyReplicas: 0, url: null },
    });
  });

  test("ready replicas count once the controller has observed the latest generation", () => {
    const observed = deployment({
      generation: 4,
      status: { observedGeneration: 4, readyReplicas: 3, updatedReplicas: 3, replicas: 3 },
    });
    expect(judgeDeployment(observed, clusterIp, place, noPattern, where)).toEqual({
      kind: "status",
      status: {
        desiredReplicas: 3,
        readyReplicas: 3,
        url: "http://shop-r2.devsim-shop.svc.cluster.local:8080",
      },
    });

    const stale = deployment({
      generation: 5,
      status: { observedGeneration: 4, readyReplicas: 3, updatedReplicas: 3, replicas: 3 },
    });
    expect(judgeDeployment(stale, clusterIp, place, noPattern, where)).toMatchObject({
      status: { readyReplicas: 0 },
    });
  });

  test("only ready pods of the current template count, and never more than desired", () => {
    const rolling = deployment({
      replicas: 3,
      status: { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1 },
    });
    expect(judgeDeployment(rolling, null, place, noPattern, where)).toMatchObject({
      status: { readyReplicas: 1 },
    });

    const scalingDown = deployment({
      replicas: 1,
      status: { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 3 },
    });
    expect(judgeDeployment(scalingDown, null, place, noPattern, where)).toMatchObject({
      status: { readyReplicas: 1 },
    });
  });

  test("Progressing False with ProgressDeadlineExceeded is a stalled rollout, with the controller's message", () => {
    const stuck = deployment({
      status: {
        observedGeneration: 1,
        replicas: 3,
        updatedReplicas: 3,
        conditions: [
          { type: "Available", status: "False", reason: "MinimumReplicasUnavailable" },
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: 'ReplicaSet "shop-r2-5d9c" has timed out progressing.',
          },
        ],
      },
    });
    expect(judgeDeployment(stuck, clusterIp, place, noPattern, where)).toEqual({
      kind: "stalled",
      status: {
        desiredReplicas: 3,
        readyReplicas: 0,
        url: "http://shop-r2.devsim-shop.svc.cluster.local:8080",
      },
      message: 'ReplicaSet "shop-r2-5d9c" has timed out progressing.',
    });
  });

  test("a stale ProgressDeadlineExceeded (from before the latest spec) does not count", () => {
    const rescaled = deployment({
      generation: 2,
      status: {
        observedGeneration: 1,
        conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
      },
    });
    expect(judgeDeployment(rescaled, null, place, noPattern, where).kind).toBe("status");
  });

  test("a Progressing condition with another reason is still progressing", () => {
    const progressing = deployment({
      status: {
        observedGeneration: 1,
        conditions: [{ type: "Progressing", status: "True", reason: "ReplicaSetUpdated" }],
      },
    });
    expect(judgeDeployment(progressing, null, place, noPattern, where).kind).toBe("status");
  });
});

describe("endpointUrl", () => {
  test("a ClusterIP Service is reached by its cluster DNS name and port", () => {
    expect(endpointUrl(clusterIp, place, noPattern, where)).toBe(
      "http://shop-r2.devsim-shop.svc.cluster.local:8080",
    );
  });

  test("a LoadBalancer Service has a URL once the cloud has given it an address", () => {
    const pending = service({ type: "LoadBalancer", ports: [{ port: 80 }] }, { loadBalancer: {} });
    expect(endpointUrl(pending, place, noPattern, where)).toBeNull();
    const ip = service(
      { type: "LoadBalancer", ports: [{ port: 80 }] },
      { loadBalancer: { ingress: [{ ip: "203.0.113.9" }] } },
    );
    expect(endpointUrl(ip, place, noPattern, where)).toBe("http://203.0.113.9:80");
    const v6 = service(
      { type: "LoadBalancer", ports: [{ port: 80 }] },
      { loadBalancer: { ingress: [{ ip: "2001:db8::1" }] } },
    );
    expect(endpointUrl(v6, place, noPattern, where)).toBe("http://[2001:db8::1]:80");
    const host = service(
      { type: "LoadBalancer", ports: [{ port: 443 }] },
      { loadBalancer: { ingress: [{ hostname: "lb.example.com" }] } },
    );
    expect(endpointUrl(host, place, noPattern, where)).toBe("http://lb.example.com:443");
  });

  test("an endpoint pattern fills in every placeholder and wins over the Service's address", () => {
    const pattern =
      "https://{service}.{namespace}.{workload}.{revision}.{region}.{cluster}.example.com:{port}/";
    expect(endpointUrl(clusterIp, place, { endpointPattern: pattern }, where)).toBe(
      "https://shop-r2.devsim-shop.shop.2.europe-west1.gke-europe-west1.example.com:8080/",
    );
  });

  test("a Service without ports has no URL", () => {
    expect(endpointUrl(service({ type: "ClusterIP", ports: [] }), place, noPattern, where)).toBeNull();
  });
});
