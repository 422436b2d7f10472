import { describe, expect, it } from "vitest";
import { RolloutInput } from "./rollout.ts";
import {
  DEFAULT_FAILOVER_POLICY,
  FailoverPolicy,
  HealthCheck,
  healthCheckSettings,
  Image,
  SimProfile,
  WorkloadInput,
  WorkloadName,
  WorkloadUpdate,
} from "./workload.ts";

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

describe("HealthCheck", () => {
  it("reads a check stored with only a path, filling every default", () => {
    expect(healthCheckSettings(HealthCheck.parse({ path: "/healthz" }))).toEqual({
      path: "/healthz",
      intervalSeconds: 10,
      timeoutSeconds: 2,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
  });

  it("keeps what is given", () => {
    const check = {
      path: "/up",
      intervalSeconds: 1,
      timeoutSeconds: 0.5,
      healthyThreshold: 3,
      unhealthyThreshold: 1,
    };
    expect(healthCheckSettings(HealthCheck.parse(check))).toEqual(check);
  });

  it.each([
    [{ intervalSeconds: 0 }, "intervalSeconds"],
    [{ intervalSeconds: 301 }, "intervalSeconds"],
    [{ intervalSeconds: 1.5 }, "intervalSeconds"],
    [{ timeoutSeconds: 0.05 }, "timeoutSeconds"],
    [{ timeoutSeconds: 61, intervalSeconds: 120 }, "timeoutSeconds"],
    [{ healthyThreshold: 0 }, "healthyThreshold"],
    [{ healthyThreshold: 11 }, "healthyThreshold"],
    [{ unhealthyThreshold: 0 }, "unhealthyThreshold"],
    [{ unhealthyThreshold: 2.5 }, "unhealthyThreshold"],
    [{ every: 5 }, ""],
  ])("names the offending field of %j", (fields, field) => {
    expect(firstIssue(HealthCheck.safeParse({ path: "/healthz", ...fields }))).toBe(field);
  });

  it.each([
    [{ intervalSeconds: 5, timeoutSeconds: 5 }, "must be less than intervalSeconds (5)"],
    [{ intervalSeconds: 1, timeoutSeconds: 2 }, "must be less than intervalSeconds (1)"],
    // The default interval (10 s) bounds a timeout given alone.
    [{ timeoutSeconds: 10 }, "must be less than intervalSeconds (10)"],
    // And the default timeout (2 s) an interval given alone.
    [{ intervalSeconds: 2 }, "must be less than intervalSeconds (2)"],
  ])("refuses a timeout not below the interval: %j", (fields, message) => {
    const result = HealthCheck.safeParse({ path: "/healthz", ...fields });
    expect(firstIssue(result)).toBe("timeoutSeconds");
    expect(result.error?.issues[0]?.message).toBe(message);
  });

  it("accepts a timeout just below the interval", () => {
    expect(HealthCheck.safeParse({ path: "/", intervalSeconds: 1, timeoutSeconds: 0.9 }).success).toBe(true);
  });

  it("names the nested field inside a workload", () => {
    const result = WorkloadInput.safeParse({ ...valid, healthCheck: { path: "/h", timeoutSeconds: 30 } });
    expect(firstIssue(result)).toBe("healthCheck.timeoutSeconds");
  });
});

describe("FailoverPolicy", () => {
  it("fills defaults: same cloud first, targets' order, 25/50/100, scale survivors", () => {
    expect(FailoverPolicy.parse({})).toEqual({
      sameCloudFirst: true,
      cloudOrder: [],
      recoverySteps: [25, 50, 100],
      scaleSurvivors: true,
    });
    expect(DEFAULT_FAILOVER_POLICY).toEqual(FailoverPolicy.parse({}));
  });

  it("accepts a full policy", () => {
    const policy = {
      sameCloudFirst: false,
      cloudOrder: ["gcp", "aws"],
      recoverySteps: [10, 100],
      scaleSurvivors: false,
    };
    expect(FailoverPolicy.parse(policy)).toEqual(policy);
    expect(FailoverPolicy.parse({ recoverySteps: [100] }).recoverySteps).toEqual([100]);
  });

  it.each([
    [{ recoverySteps: [25, 50] }, "recoverySteps.1", "the last step must be 100"],
    [{ recoverySteps: [50, 25, 100] }, "recoverySteps.1", "must be greater than the step before (50)"],
    [{ recoverySteps: [50, 50, 100] }, "recoverySteps.1", "must be greater than the step before (50)"],
    [{ recoverySteps: [] }, "recoverySteps", undefined],
    [{ recoverySteps: [0, 100] }, "recoverySteps.0", undefined],
    [{ recoverySteps: [50, 101] }, "recoverySteps.1", undefined],
    [{ cloudOrder: ["aws", "oracle"] }, "cloudOrder.1", undefined],
    [{ cloudOrder: ["aws", "gcp", "aws"] }, "cloudOrder.2", "duplicate cloud aws"],
    [{ sameCloudFirst: "yes" }, "sameCloudFirst", undefined],
    [{ weights: {} }, "", undefined],
  ])("names the offending field of %j", (policy, field, message) => {
    const result = FailoverPolicy.safeParse(policy);
    expect(firstIssue(result)).toBe(field);
    if (message) expect(result.error?.issues[0]?.message).toBe(message);
  });

  it("is optional on a workload and named under failover when wrong", () => {
    expect(WorkloadInput.parse(valid).failover).toBeUndefined();
    expect(WorkloadInput.parse({ ...valid, failover: {} }).failover).toEqual(DEFAULT_FAILOVER_POLICY);
    expect(firstIssue(WorkloadInput.safeParse({ ...valid, failover: { recoverySteps: [10] } }))).toBe(
      "failover.recoverySteps.0",
    );
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
