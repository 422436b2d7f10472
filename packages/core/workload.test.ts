import { describe, expect, it } from "vitest";
import { RolloutInput } from "./rollout.ts";
import { Image, SimProfile, WorkloadInput, WorkloadName, WorkloadUpdate } from "./workload.ts";

const valid = {
  name: "shop",
  image: "registry.example.com/shop/web:1.2.3",
  port: 8080,
  healthCheck: { path: "/healthz" },
  targets: [{ cloud: "aws", region: "us-east-1", replicas: 2 }],
};

const firstIssue = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  result.error?.issues[0]?.path.join(".");

describe("WorkloadName", () => {
  it.each(["a", "hello", "shop-2", "a1", "x".repeat(40)])("accepts the DNS label %s", (name) => {
    expect(WorkloadName.safeParse(name).success).toBe(true);
  });
  it.each(["", "Hello", "-a", "a-", "a_b", "a.b", "1abc", "x".repeat(41), "héllo"])("refuses %j", (name) => {
    expect(WorkloadName.safeParse(name).success).toBe(false);
  });
});

describe("Image", () => {
  it.each([
    "nginx",
    "nginx:1.27",
    "library/nginx:latest",
    "registry.example.com:5000/team/app:v1.2.3-rc.1",
    `ghcr.io/org/app@sha256:${"a".repeat(64)}`,
    `app:1@sha256:${"0".repeat(64)}`,
  ])("accepts %s", (image) => {
    expect(Image.safeParse(image).success).toBe(true);
  });
  it.each(["", "Nginx", "app:", "app::1", "has space:1", "app@sha256:short", `app:${"t".repeat(129)}`])(
    "refuses %j",
    (image) => {
      expect(Image.safeParse(image).success).toBe(false);
    },
  );
});

describe("SimProfile", () => {
  it("fills defaults: healthy, fast, ready", () => {
    expect(SimProfile.parse({})).toEqual({ errorRate: 0, latencyMs: 0, ready: true });
  });
  it.each([
    { errorRate: -0.1 },
    { errorRate: 1.5 },
    { latencyMs: -1 },
    { latencyMs: 60_001 },
    { colour: "red" },
  ])("refuses %j", (profile) => {
    expect(SimProfile.safeParse(profile).success).toBe(false);
  });
});

describe("WorkloadInput", () => {
  it("accepts a minimal workload and fills the project and strategy", () => {
    expect(WorkloadInput.parse(valid)).toMatchObject({ project: "default", strategy: { type: "rolling" } });
  });

  it.each([
    [{ ...valid, port: 0 }, "port"],
    [{ ...valid, port: 65_536 }, "port"],
    [{ ...valid, port: 80.5 }, "port"],
    [{ ...valid, healthCheck: { path: "no-slash" } }, "healthCheck.path"],
    [{ ...valid, targets: [] }, "targets"],
    [{ ...valid, targets: [{ cloud: "oracle", region: "x", replicas: 1 }] }, "targets.0.cloud"],
    [{ ...valid, targets: [{ cloud: "aws", region: "us-east-1", replicas: 101 }] }, "targets.0.replicas"],
    [{ ...valid, targets: [valid.targets[0], { ...valid.targets[0], replicas: 5 }] }, "targets.1"],
    [{ ...valid, strategy: { type: "yolo" } }, "strategy.type"],
    [{ ...valid, extra: true }, ""],
  ])("names the offending field of %j", (input, field) => {
    const result = WorkloadInput.safeParse(input);
    expect(result.success).toBe(false);
    expect(firstIssue(result)).toBe(field);
  });

  it("takes no name or project on update", () => {
    const { name: _, ...update } = valid;
    expect(WorkloadUpdate.safeParse(update).success).toBe(true);
    expect(WorkloadUpdate.safeParse(valid).success).toBe(false);
  });
});

describe("RolloutInput", () => {
  it("needs an image and allows a sim profile", () => {
    expect(RolloutInput.safeParse({ image: "app:2", sim: { errorRate: 0.05 } }).success).toBe(true);
    expect(firstIssue(RolloutInput.safeParse({}))).toBe("image");
    expect(firstIssue(RolloutInput.safeParse({ image: "app:2", sim: { errorRate: 2 } }))).toBe(
      "sim.errorRate",
    );
  });
});
