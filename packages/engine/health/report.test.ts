import { describe, expect, it } from "vitest";
import type { Cloud } from "#core";
import type { ProbeStatus } from "#health";
import type { BackendHealth } from "#store";
import { describeTargetHealth } from "./report.ts";

const backend = (
  cloud: Cloud,
  region: string,
  status: ProbeStatus,
  { revision = 1, url = "http://127.0.0.1:1", lastCheck = null as string | null } = {},
): BackendHealth => ({
  cloud,
  region,
  revision,
  url,
  weight: 0,
  replicas: 1,
  scaledReplicas: null,
  status,
  successes: 0,
  failures: 0,
  lastCheck,
  lastError: null,
});
const routed = (cloud: Cloud, region: string, weight: number, revision = 1) => ({
  cloud,
  region,
  revision,
  weight,
  url: "http://127.0.0.1:1",
});
const targets = [
  { cloud: "aws" as const, region: "us-east-1" },
  { cloud: "gcp" as const, region: "us-central1" },
];

describe("describeTargetHealth", () => {
  it("reports status, share and last check per target, in the workload's order", () => {
    expect(
      describeTargetHealth({
        targets,
        backends: [
          backend("gcp", "us-central1", "healthy", { lastCheck: "2030-01-01T00:00:02.000Z" }),
          backend("aws", "us-east-1", "healthy", { lastCheck: "2030-01-01T00:00:01.000Z" }),
          backend("aws", "us-east-1", "unhealthy", { revision: 2, lastCheck: "2030-01-01T00:00:03.000Z" }),
        ],
        failover: [],
        routed: [
          routed("aws", "us-east-1", 20),
          routed("aws", "us-east-1", 10, 2),
          routed("gcp", "us-central1", 30),
        ],
      }),
    ).toEqual([
      {
        cloud: "aws",
        region: "us-east-1",
        status: "healthy",
        weight: 50,
        lastCheck: "2030-01-01T00:00:03.000Z",
      },
      {
        cloud: "gcp",
        region: "us-central1",
        status: "healthy",
        weight: 50,
        lastCheck: "2030-01-01T00:00:02.000Z",
      },
    ]);
  });

  it("reads failover state first: failed is unhealthy, recovering is recovering", () => {
    const failover = (region: string, status: "failed" | "recovering" | "healthy") => ({
      cloud: (region === "us-east-1" ? "aws" : "gcp") as Cloud,
      region,
      status,
      percent: status === "failed" ? 0 : status === "recovering" ? 25 : 100,
      since: 0,
      nextStepAt: null,
    });
    const backends = [backend("aws", "us-east-1", "healthy"), backend("gcp", "us-central1", "healthy")];
    const statuses = (states: ReturnType<typeof failover>[]) =>
      describeTargetHealth({ targets, backends, failover: states, routed: [] }).map((t) => t.status);
    expect(statuses([failover("us-east-1", "failed")])).toEqual(["unhealthy", "healthy"]);
    expect(statuses([failover("us-east-1", "recovering"), failover("us-central1", "healthy")])).toEqual([
      "recovering",
      "healthy",
    ]);
  });

  it("is unknown where nothing was probed, and 0 % with no traffic at all", () => {
    expect(
      describeTargetHealth({
        targets,
        backends: [backend("aws", "us-east-1", "healthy", { url: "" })],
        failover: [],
        routed: [],
      }),
    ).toEqual([
      { cloud: "aws", region: "us-east-1", status: "unknown", weight: 0, lastCheck: null },
      { cloud: "gcp", region: "us-central1", status: "unknown", weight: 0, lastCheck: null },
    ]);
  });

  it("lists after the workload's targets one a rollout is leaving", () => {
    const report = describeTargetHealth({
      targets: targets.slice(0, 1),
      backends: [backend("azure", "eastus", "unhealthy"), backend("aws", "us-east-1", "healthy")],
      failover: [],
      routed: [routed("aws", "us-east-1", 2), routed("azure", "eastus", 1)],
    });
    expect(report.map((t) => [t.region, t.status, t.weight])).toEqual([
      ["us-east-1", "healthy", 66.67],
      ["eastus", "unhealthy", 33.33],
    ]);
  });
});
