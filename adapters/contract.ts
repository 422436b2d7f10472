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

export interface AdapterContractFixture {
  readonly adapter: CloudAdapter;
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
}

const POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  });
};
