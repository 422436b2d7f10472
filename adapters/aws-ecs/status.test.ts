import type { Service } from "@aws-sdk/client-ecs";
import { describe, expect, test } from "vitest";
import { deploymentStatus, isLive, readyReplicas, serviceState } from "./status.ts";

const service = (over: Partial<Service> = {}): Service => ({
  serviceArn: "arn:aws:ecs:eu-west-1:123456789012:service/devsim/devsim-shop-r2",
  serviceName: "devsim-shop-r2",
  status: "ACTIVE",
  desiredCount: 3,
  runningCount: 4,
  pendingCount: 1,
  deployments: [
    { status: "ACTIVE", runningCount: 2, pendingCount: 0, rolloutState: "COMPLETED" },
    {
      status: "PRIMARY",
      runningCount: 2,
      pendingCount: 1,
      rolloutState: "IN_PROGRESS",
      rolloutStateReason: "in progress",
    },
  ],
  events: [
    { createdAt: new Date(3_000), message: "three" },
    { createdAt: new Date(2_000), message: "two" },
    { message: "one" },
  ],
  ...over,
});

describe("ECS service status", () => {
  test("only an ACTIVE service is a deployment", () => {
    expect(isLive(service())).toBe(true);
    expect(isLive(service({ status: "DRAINING" }))).toBe(false);
    expect(isLive(service({ status: "INACTIVE" }))).toBe(false);
  });

  test("ready replicas are the primary deployment's running tasks, not the old deployment's", () => {
    expect(readyReplicas(service())).toBe(2);
    expect(readyReplicas(service({ deployments: [] }))).toBe(4);
    expect(readyReplicas({})).toBe(0);
  });

  test("the port's status: desired, ready and the URL given", () => {
    expect(deploymentStatus(service(), "https://shop-r2.example.com")).toEqual({
      desiredReplicas: 3,
      readyReplicas: 2,
      url: "https://shop-r2.example.com",
    });
  });

  test("the service state has the primary rollout and the newest events", () => {
    expect(serviceState(service(), 2)).toEqual({
      serviceArn: "arn:aws:ecs:eu-west-1:123456789012:service/devsim/devsim-shop-r2",
      status: "ACTIVE",
      desiredCount: 3,
      runningCount: 2,
      pendingCount: 1,
      rolloutState: "IN_PROGRESS",
      rolloutStateReason: "in progress",
      events: [
        { at: new Date(3_000), message: "three" },
        { at: new Date(2_000), message: "two" },
      ],
    });
    expect(serviceState({})).toMatchObject({
      serviceArn: null,
      status: "UNKNOWN",
      rolloutState: null,
      events: [],
    });
    expect(serviceState(service()).events[2]).toEqual({ at: null, message: "one" });
  });
});
