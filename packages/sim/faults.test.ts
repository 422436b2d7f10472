import { describe, expect, it } from "vitest";
import {
  apiFaultFor,
  createFaultRegistry,
  deploymentFaults,
  regionIsOut,
  type SimFault,
  SimFaultInput,
  survivingReplicas,
} from "./faults.ts";

const issues = (input: unknown): { field: string; message: string }[] => {
  const result = SimFaultInput.safeParse(input);
  return result.success
    ? []
    : result.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
};

const fields = (input: unknown): string[] => issues(input).map((i) => i.field);

let next = 0;
const fault = (over: Partial<SimFault> & Pick<SimFault, "type">): SimFault => {
  next += 1;
  return {
    id: `f${next}`,
    cloud: "aws",
    region: null,
    revision: null,
    value: null,
    durationSeconds: null,
    createdAt: "2026-03-01T12:00:00.000Z",
    expiresAt: null,
    ...over,
  };
};

describe("SimFaultInput", () => {
  it.each([
    { type: "region-outage", cloud: "aws", region: "us-east-1" },
    { type: "region-outage", cloud: "aws", region: "us-east-1", durationSeconds: 60 },
    { type: "latency", cloud: "gcp", value: 250 },
    { type: "latency", cloud: "gcp", region: "us-central1", revision: 3, value: 0.5 },
    { type: "errors", cloud: "azure", value: 0 },
    { type: "errors", cloud: "azure", value: 1, durationSeconds: 0.25 },
    { type: "capacity", cloud: "digitalocean", region: "fra1" },
    { type: "capacity", cloud: "digitalocean", value: 0.5 },
    { type: "api-throttle", cloud: "aws" },
    { type: "api-throttle", cloud: "aws", region: "eu-west-1", value: 0 },
    { type: "api-timeout", cloud: "gcp", region: "europe-west1" },
    // The cloud is checked against the world later, so an unknown one can be a 404.
    { type: "api-timeout", cloud: "ibm" },
  ])("accepts %j", (input) => {
    expect(issues(input)).toEqual([]);
  });

  it.each([
    [{ type: "region-outage", cloud: "aws" }, "region", "required for region-outage"],
    [{ type: "region-outage", cloud: "aws", region: "us-east-1", revision: 1 }, "revision", "not used"],
    [{ type: "region-outage", cloud: "aws", region: "us-east-1", value: 1 }, "value", "not used"],
    [{ type: "latency", cloud: "aws" }, "value", "required for latency"],
    [{ type: "latency", cloud: "aws", value: -1 }, "value", "from 0 to 60000"],
    [{ type: "latency", cloud: "aws", value: 60_001 }, "value", "from 0 to 60000"],
    [{ type: "errors", cloud: "aws" }, "value", "required for errors"],
    [{ type: "errors", cloud: "aws", value: 1.5 }, "value", "from 0 to 1"],
    [{ type: "capacity", cloud: "aws", value: -0.1 }, "value", "from 0 to 1"],
    [{ type: "api-throttle", cloud: "aws", value: 1.5 }, "value", "an integer"],
    [{ type: "api-throttle", cloud: "aws", value: 3601 }, "value", "from 0 to 3600"],
    [{ type: "api-throttle", cloud: "aws", revision: 2 }, "revision", "not used"],
    [{ type: "api-timeout", cloud: "aws", value: 5 }, "value", "not used"],
    [{ type: "api-timeout", cloud: "aws", revision: 2 }, "revision", "not used"],
  ])("refuses %j at %s", (input, field, message) => {
    expect(issues(input)).toEqual([{ field, message: expect.stringContaining(message) }]);
  });

  it("checks the fields every type shares", () => {
    expect(fields({ type: "meteor", cloud: "aws" })).toEqual(["type"]);
    expect(fields({ type: "api-timeout" })).toEqual(["cloud"]);
    expect(fields({ type: "api-timeout", cloud: "" })).toEqual(["cloud"]);
    expect(fields({ type: "api-timeout", cloud: "aws", region: "" })).toEqual(["region"]);
    expect(fields({ type: "latency", cloud: "aws", value: 1, revision: -1 })).toEqual(["revision"]);
    expect(fields({ type: "latency", cloud: "aws", value: "1" })).toEqual(["value"]);
    expect(fields({ type: "api-timeout", cloud: "aws", durationSeconds: 0 })).toEqual(["durationSeconds"]);
    expect(fields({ type: "api-timeout", cloud: "aws", durationSeconds: 700_000 })).toEqual([
      "durationSeconds",
    ]);
    expect(fields({ type: "api-timeout", cloud: "aws", colour: "red" })).toEqual([""]);
  });
});

describe("deploymentFaults", () => {
  const here = { cloud: "aws", region: "us-east-1", revision: 2 };

  it("is no fault at all when nothing reaches the deployment", () => {
    const elsewhere = [
      fault({ type: "region-outage", region: "eu-west-1" }),
      fault({ type: "latency", cloud: "gcp", value: 100 }),
      fault({ type: "errors", revision: 3, value: 1 }),
      fault({ type: "capacity", region: "eu-west-1", value: 1 }),
      fault({ type: "api-timeout" }),
    ];
    expect(deploymentFaults(elsewhere, here)).toEqual({
      outage: false,
      latencyMs: 0,
      errorRate: 0,
      capacityLost: 0,
    });
  });

  it("matches by cloud, then region and revision when the fault names them", () => {
    expect(deploymentFaults([fault({ type: "latency", value: 10 })], here).latencyMs).toBe(10);
    expect(
      deploymentFaults([fault({ type: "latency", region: "us-east-1", value: 10 })], here).latencyMs,
    ).toBe(10);
    expect(deploymentFaults([fault({ type: "latency", revision: 2, value: 10 })], here).latencyMs).toBe(10);
    expect(deploymentFaults([fault({ type: "region-outage", region: "us-east-1" })], here).outage).toBe(true);
  });

  it("adds latencies and combines error rates and capacity losses as independent chances", () => {
    const all = [
      fault({ type: "latency", value: 100 }),
      fault({ type: "latency", region: "us-east-1", value: 50 }),
      fault({ type: "errors", value: 0.5 }),
      fault({ type: "errors", revision: 2, value: 0.5 }),
      fault({ type: "capacity", value: 0.5 }),
      fault({ type: "capacity", value: 0.5 }),
    ];
    expect(deploymentFaults(all, here)).toEqual({
      outage: false,
      latencyMs: 150,
      errorRate: 0.75,
      capacityLost: 0.75,
    });
  });
});

describe("regionIsOut", () => {
  it("holds only for the region an outage names, in its cloud", () => {
    const faults = [
      fault({ type: "region-outage", region: "us-east-1" }),
      fault({ type: "capacity", value: 1 }),
    ];
    expect(regionIsOut(faults, "aws", "us-east-1")).toBe(true);
    expect(regionIsOut(faults, "aws", "eu-west-1")).toBe(false);
    expect(regionIsOut(faults, "gcp", "us-east-1")).toBe(false);
    expect(regionIsOut([], "aws", "us-east-1")).toBe(false);
  });
});

describe("apiFaultFor", () => {
  it("finds a cloud-wide API fault for every call to that cloud", () => {
    const throttle = fault({ type: "api-throttle", value: 1 });
    expect(apiFaultFor([throttle], "aws", "us-east-1")).toBe(throttle);
    expect(apiFaultFor([throttle], "aws", null)).toBe(throttle);
    expect(apiFaultFor([throttle], "gcp", null)).toBeUndefined();
  });

  it("a regional API fault spares other regions and calls that name no region", () => {
    const timeout = fault({ type: "api-timeout", region: "eu-west-1" });
    expect(apiFaultFor([timeout], "aws", "eu-west-1")).toBe(timeout);
    expect(apiFaultFor([timeout], "aws", "us-east-1")).toBeUndefined();
    expect(apiFaultFor([timeout], "aws", null)).toBeUndefined();
  });

  it("ignores faults on deployments and picks the oldest API fault", () => {
    const older = fault({ type: "api-timeout" });
    const newer = fault({ type: "api-throttle", value: 1 });
    expect(apiFaultFor([fault({ type: "region-outage", region: "us-east-1" })], "aws", "us-east-1")).toBe(
      undefined,
    );
    expect(apiFaultFor([older, newer], "aws", null)).toBe(older);
  });
});

describe("survivingReplicas", () => {
  it.each([
    [4, 0, 4],
    [4, 0.5, 2],
    [4, 1, 0],
    [3, 0.5, 1],
    [10, 0.25, 7],
    [1, 0.4, 1],
    [1, 0.5, 0],
    [0, 0.5, 0],
  ])("%d ready losing %d keep %d", (ready, lost, kept) => {
    expect(survivingReplicas(ready, lost)).toBe(kept);
  });
});

describe("createFaultRegistry", () => {
  const now = () => Date.parse("2026-03-01T12:00:00Z");

  it("gives each fault an id and its times, and fills defaults", () => {
    const registry = createFaultRegistry({ now });
    const capacity = registry.add({ type: "capacity", cloud: "aws" });
    const throttle = registry.add({
      type: "api-throttle",
      cloud: "aws",
      region: "us-east-1",
      durationSeconds: 90,
    });
    const outage = registry.add({ type: "region-outage", cloud: "gcp", region: "us-central1" });
    expect(capacity).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: "capacity",
      cloud: "aws",
      region: null,
      revision: null,
      value: 1,
      durationSeconds: null,
      createdAt: "2026-03-01T12:00:00.000Z",
      expiresAt: null,
    });
    expect(throttle).toMatchObject({ value: 1, durationSeconds: 90, expiresAt: "2026-03-01T12:01:30.000Z" });
    expect(outage.value).toBeNull();
    expect(new Set([capacity.id, throttle.id, outage.id]).size).toBe(3);
    expect(registry.list()).toEqual([capacity, throttle, outage]);
    registry.clear();
  });

  it("remove ends a fault once and settles its ended promise", async () => {
    const registry = createFaultRegistry();
    const f = registry.add({ type: "api-timeout", cloud: "aws" });
    let ended = false;
    const waiting = registry.ended(f.id).then(() => {
      ended = true;
    });
    await Promise.resolve();
    expect(ended).toBe(false);
    expect(registry.remove(f.id)).toEqual(f);
    await waiting;
    expect(ended).toBe(true);
    expect(registry.remove(f.id)).toBeUndefined();
    expect(registry.list()).toEqual([]);
    await expect(registry.ended(f.id)).resolves.toBeUndefined();
  });

  it("a fault with a duration ends by itself and is reported", async () => {
    const expired: SimFault[] = [];
    const registry = createFaultRegistry({ onExpire: (f) => expired.push(f) });
    const short = registry.add({ type: "errors", cloud: "aws", value: 1, durationSeconds: 0.05 });
    const lasting = registry.add({ type: "errors", cloud: "aws", value: 1 });
    await registry.ended(short.id);
    expect(expired).toEqual([short]);
    expect(registry.list()).toEqual([lasting]);
    registry.clear();
  });

  it("clear ends every fault without reporting expiries, and cancels their timers", async () => {
    const expired: SimFault[] = [];
    const registry = createFaultRegistry({ onExpire: (f) => expired.push(f) });
    const f = registry.add({ type: "api-timeout", cloud: "aws", durationSeconds: 0.05 });
    const ended = registry.ended(f.id);
    registry.clear();
    await ended;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(registry.list()).toEqual([]);
    expect(expired).toEqual([]);
  });
});
