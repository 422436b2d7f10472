import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import type { CloudAdapter, DeploymentStatus, DeploymentTarget, RevisionSpec } from "./port.ts";

/** What the cloud itself holds for a deployment, read without going through the adapter under test. */
export interface RawDeployment {
  readonly image: string;
  readonly replicas: number;
}

/** Reads the cloud's own state; the contract trusts these reads, never the adapter's word. */
export interface RawReader {
  readDeployment(target: DeploymentTarget, revision: number): Promise<RawDeployment | null>;
  /** How many deployments of the target's workload exist there; lets the suite catch duplicates. */
  countDeployments?(target: DeploymentTarget): Promise<number>;
}

/**
 * The failure modes real cloud APIs show, which every real adapter must ride out:
 * - `throttle`: the API answers its throttling error (429, or the cloud's own code);
 * - `timeout`: the API does not answer in time;
 * - `server-error`: the API answers 5xx;
 * - `conflict`: a write loses a race (409, or the cloud's own code) against a change made meanwhile;
 * - `eventual-consistency`: a resource just created reads as absent for a while.
 */
export type ContractFault = "throttle" | "timeout" | "server-error" | "conflict" | "eventual-consistency";

/** Injects faults into the cloud's API (a fake's), counted in calls, so tests are deterministic. */
export interface FaultInjector {
  /** Makes the next `calls` calls that can show `fault` show it; writes for conflicts, reads for eventual consistency. */
  inject(fault: ContractFault, calls: number): Promise<void>;
  /** Back to normal. */
  clear(): Promise<void>;
}

export interface AdapterContractFixture {
  readonly adapter: CloudAdapter;
  /**
   * The same adapter with a small retry budget (a few attempts, a few seconds at most), so the
   * suite can check that a fault that never ends surfaces as an AdapterError in good time.
   */
  readonly impatientAdapter?: CloudAdapter;
  /** How to make the cloud's API misbehave; needed when the options name faults. */
  readonly faults?: FaultInjector;
  readonly raw: RawReader;
  /** Where the suite deploys; nothing else of this workload should run there. */
  readonly target: DeploymentTarget;
  readonly revision: RevisionSpec;
  teardown(): Promise<void>;
}

export interface AdapterContractOptions {
  readonly name: string;
  setup(): Promise<AdapterContractFixture>;
  /** How long a deployment may take to become ready, in ms. Default 120 000 (real clouds are slow). */
  readonly readyTimeoutMs?: number;
  /** The faults the fixture's injector can cause; the suite adds a case for each. None by default. */
  readonly faults?: readonly ContractFault[];
}

const POLL_MS = 50;

/** Polls until `done` holds for a value, or fails naming the last value seen. */
const eventually = async <T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await sleep(POLL_MS);
  }
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
};

/**
 * The behaviour every CloudAdapter must show, checked against the cloud's own state. Call it from an
 * adapter's test file; each test starts from no deployment of the fixture's revision.
 */
export const runAdapterContract = (options: AdapterContractOptions): void => {
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;

  describe(`CloudAdapter contract: ${options.name}`, () => {
    let current: AdapterContractFixture | undefined;
    const fixture = (): AdapterContractFixture => {
      if (!current) throw new Error("the contract fixture failed to set up");
      return current;
    };

    beforeAll(async () => {
      current = await options.setup();
    });

    afterAll(async () => {
      await current?.teardown();
    });

    afterEach(async () => {
      const fx = current;
      if (!fx) return;
      await fx.faults?.clear();
      await fx.adapter.remove(fx.target, fx.revision.number);
      expect(await fx.raw.readDeployment(fx.target, fx.revision.number)).toBeNull();
    });

    test("deploy creates exactly one deployment with the right image and replicas", async () => {
      const { adapter, raw, target, revision } = fixture();
      expect(await raw.readDeployment(target, revision.number)).toBeNull();

      await adapter.deploy(target, revision, 2);

      expect(await raw.readDeployment(target, revision.number)).toEqual({
        image: revision.image,
        replicas: 2,
      });
      if (raw.countDeployments) expect(await raw.countDeployments(target)).toBe(1);
    });

    test("deploying again is idempotent: no second deployment, nothing changed", async () => {
      const { adapter, raw, target, revision } = fixture();
      await adapter.deploy(target, revision, 1);

      const again = await adapter.deploy(target, revision, 3);

      expect(again.desiredReplicas).toBe(1);
      expect(await raw.readDeployment(target, revision.number)).toEqual({
        image: revision.image,
        replicas: 1,
      });
      if (raw.countDeployments) expect(await raw.countDeployments(target)).toBe(1);
    });

    test(
      "describe reports desired replicas, then ready replicas and a URL",
      async () => {
        const { adapter, target, revision } = fixture();
        await adapter.deploy(target, revision, 2);

        const first = await adapter.describe(target, revision.number);
        expect(first?.desiredReplicas).toBe(2);

        const ready = await eventually<DeploymentStatus | null>(
          () => adapter.describe(target, revision.number),
          (s) => s !== null && s.readyReplicas === 2 && s.url !== null,
          readyTimeoutMs,
        );
        expect(ready).toMatchObject({ desiredReplicas: 2, readyReplicas: 2 });
        expect(() => new URL(ready?.url ?? "")).not.toThrow();
      },
      readyTimeoutMs + 30_000,
    );

    test("scale changes the replica count the cloud holds", async () => {
      const { adapter, raw, target, revision } = fixture();
      await adapter.deploy(target, revision, 1);

      await adapter.scale(target, revision.number, 3);
      expect((await raw.readDeployment(target, revision.number))?.replicas).toBe(3);

      await adapter.scale(target, revision.number, 2);
      expect((await raw.readDeployment(target, revision.number))?.replicas).toBe(2);
    });

    test("scale of a missing deployment throws AdapterError not_found", async () => {
      const { adapter, target, revision } = fixture();
      const error = await rejection(adapter.scale(target, revision.number, 2));
      expect(error).toBeInstanceOf(AdapterError);
      expect(error).toMatchObject({ failure: "not_found", cloud: adapter.cloud });
    });

    test("remove deletes the deployment, and removing again succeeds", async () => {
      const { adapter, raw, target, revision } = fixture();
      await adapter.deploy(target, revision, 1);
      expect(await raw.readDeployment(target, revision.number)).not.toBeNull();

      await adapter.remove(target, revision.number);
      expect(await raw.readDeployment(target, revision.number)).toBeNull();

      await expect(adapter.remove(target, revision.number)).resolves.toBeUndefined();
    });

    test("describe of a missing deployment is null", async () => {
      const { adapter, target, revision } = fixture();
      expect(await adapter.describe(target, revision.number)).toBeNull();
    });

    test("regions() is non-empty and includes the target's region", async () => {
      const { adapter, target } = fixture();
      const regions = await adapter.regions();
      expect(regions.length).toBeGreaterThan(0);
      expect(regions.map((r) => r.region)).toContain(target.region);
      for (const r of regions) expect(typeof r.available).toBe("boolean");
    });

    test("a request the cloud rejects fails with an AdapterError", async () => {
      const { adapter, raw, target, revision } = fixture();
      const error = await rejection(adapter.deploy(target, revision, -1));
      expect(error).toBeInstanceOf(AdapterError);
      expect(error).toMatchObject({ failure: "invalid", cloud: adapter.cloud });
      expect(await raw.readDeployment(target, revision.number)).toBeNull();
    });

    const faults = new Set(options.faults ?? []);
    /** A case for a fault, registered only for clouds whose fakes can cause it. */
    const faultTest = (fault: ContractFault, name: string, body: () => Promise<void>): void => {
      if (faults.has(fault)) test(name, body, readyTimeoutMs + 30_000);
    };
    const injector = (): FaultInjector => {
      const faults = fixture().faults;
      if (!faults) throw new Error("the fixture has no fault injector");
      return faults;
    };

    if (faults.size > 0)
      describe("when the cloud API misbehaves", () => {
        faultTest(
          "throttle",
          "a deploy during throttling succeeds after retries, with one deployment",
          async () => {
            const { adapter, raw, target, revision } = fixture();
            await injector().inject("throttle", 2);
            await adapter.deploy(target, revision, 1);
            expect(await raw.readDeployment(target, revision.number)).toEqual({
              image: revision.image,
              replicas: 1,
            });
            if (raw.countDeployments) expect(await raw.countDeployments(target)).toBe(1);
          },
        );

        faultTest("throttle", "throttling that does not end surfaces as AdapterError throttled", async () => {
          const { impatientAdapter, target, revision } = fixture();
          if (!impatientAdapter) throw new Error("a fixture that throttles must give an impatientAdapter");
          await injector().inject("throttle", 1_000);
          const error = await rejection(impatientAdapter.scale(target, revision.number, 2));
          expect(error).toBeInstanceOf(AdapterError);
          expect(error).toMatchObject({ failure: "throttled", cloud: impatientAdapter.cloud });
        });

        faultTest("timeout", "a call that times out is retried", async () => {
          const { adapter, raw, target, revision } = fixture();
          await injector().inject("timeout", 1);
          await adapter.deploy(target, revision, 2);
          expect((await raw.readDeployment(target, revision.number))?.replicas).toBe(2);
          if (raw.countDeployments) expect(await raw.countDeployments(target)).toBe(1);
        });

        faultTest("server-error", "5xx answers are retried", async () => {
          const { adapter, raw, target, revision } = fixture();
          await adapter.deploy(target, revision, 1);
          await injector().inject("server-error", 2);
          await adapter.scale(target, revision.number, 3);
          expect((await raw.readDeployment(target, revision.number))?.replicas).toBe(3);
        });

        faultTest("conflict", "a write that loses a race is re-read and retried", async () => {
          const { adapter, raw, target, revision } = fixture();
          await adapter.deploy(target, revision, 1);
          await injector().inject("conflict", 1);
          await adapter.scale(target, revision.number, 2);
          expect((await raw.readDeployment(target, revision.number))?.replicas).toBe(2);
        });

        faultTest(
          "eventual-consistency",
          "a deployment that reads as absent just after creation is not created twice",
          async () => {
            const { adapter, raw, target, revision } = fixture();
            await injector().inject("eventual-consistency", 3);
            await adapter.deploy(target, revision, 1);
            await adapter.deploy(target, revision, 1);
            await eventually(
              () => adapter.describe(target, revision.number),
              (s) => s !== null,
              readyTimeoutMs,
            );
            if (raw.countDeployments) expect(await raw.countDeployments(target)).toBe(1);
            expect(await raw.readDeployment(target, revision.number)).toEqual({
              image: revision.image,
              replicas: 1,
            });
          },
        );
      });
  });
};
