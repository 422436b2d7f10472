import { z } from "zod";
import { Cloud, DevsimError, SIM_REGIONS } from "#core";
import {
  createSimDeployment,
  type SimDeployment,
  type SimDeploymentInfo,
  type SimDeploymentKey,
  type SimDeploymentStatus,
} from "./deployment.ts";
import {
  parseOrThrow,
  SimDeploySpec,
  type SimDeploySpecInput,
  SimReplicas,
  SimRevision,
  SimWorkload,
} from "./schemas.ts";

export interface SimWorldOptions {
  /** How long a new replica takes to become ready, in ms. Default 300. */
  readonly startupMs?: number;
  /** Requests one replica serves at once; the excess waits in a queue. Default 32. */
  readonly perReplicaConcurrency?: number;
  /** Source of randomness in [0, 1), injected so tests are deterministic. Default Math.random. */
  readonly random?: () => number;
}

export interface SimRegionStatus {
  readonly region: string;
  readonly available: boolean;
}

export interface SimDeployResult {
  /** False when the deployment already existed and nothing changed. */
  readonly created: boolean;
  readonly status: SimDeploymentStatus;
}

/** The simulated clouds: their regions and every deployment running in them. */
export interface SimWorld {
  /** Idempotent by key: deploying an existing one returns its status and changes nothing. */
  deploy(key: SimDeploymentKey, spec: SimDeploySpecInput): Promise<SimDeployResult>;
  /** Sets the replica count; null when there is no such deployment. */
  scale(key: SimDeploymentKey, replicas: number): SimDeploymentStatus | null;
  describe(key: SimDeploymentKey): SimDeploymentInfo | null;
  /** Stops and forgets a deployment; false when there was none. */
  remove(key: SimDeploymentKey): Promise<boolean>;
  list(): SimDeploymentInfo[];
  regions(cloud: Cloud): SimRegionStatus[];
  /** Stops every deployment; the world accepts no deploys afterwards. */
  close(): Promise<void>;
}

const WorldOptions = z.strictObject({
  startupMs: z.int().min(0).max(600_000).default(300),
  perReplicaConcurrency: z.int().min(1).max(10_000).default(32),
  random: z
    .custom<() => number>((v) => typeof v === "function", "must be a function")
    .default(() => Math.random),
});

/** Mutable on purpose: region outages will flip `available` at run time. */
interface RegionState {
  available: boolean;
}

interface Entry {
  readonly deployment: SimDeployment;
  /** Settles once the deployment listens; concurrent deploys of the same key wait on it. */
  readonly started: Promise<void>;
}

export const createSimWorld = (options: SimWorldOptions = {}): SimWorld => {
  const settings = parseOrThrow(WorldOptions, options, "options");
  const regionStates = new Map<Cloud, Map<string, RegionState>>(
    Cloud.options.map((cloud) => [cloud, new Map(SIM_REGIONS[cloud].map((r) => [r, { available: true }]))]),
  );
  const entries = new Map<string, Entry>();
  let closed = false;

  /** Checks a key and gives the string the deployment is stored under. */
  const keyOf = (key: SimDeploymentKey): string => {
    const cloud = Cloud.safeParse(key.cloud);
    if (!cloud.success) {
      throw new DevsimError("not_found", `cloud '${key.cloud}' not found`, {
        resource: "cloud",
        cloud: key.cloud,
      });
    }
    if (!regionStates.get(cloud.data)?.has(key.region)) {
      throw new DevsimError("not_found", `region '${key.region}' not found in cloud '${key.cloud}'`, {
        resource: "region",
        cloud: key.cloud,
        region: key.region,
      });
    }
    parseOrThrow(SimWorkload, key.workload, "workload");
    parseOrThrow(SimRevision, key.revision, "revision");
    return JSON.stringify([key.cloud, key.region, key.workload, key.revision]);
  };

  const removeEntry = async (id: string, entry: Entry): Promise<void> => {
    if (entries.get(id) === entry) entries.delete(id);
    await entry.started.catch(() => undefined);
    await entry.deployment.stop();
  };

  return {
    async deploy(key, input) {
      const id = keyOf(key);
      const spec = parseOrThrow(SimDeploySpec, input, "spec");
      if (closed) throw new DevsimError("unavailable", "the simulated world is closed");
      const existing = entries.get(id);
      if (existing) {
        await existing.started;
        return { created: false, status: existing.deployment.status() };
      }
      const deployment = createSimDeployment(key, spec, settings);
      const entry: Entry = { deployment, started: deployment.start() };
      entries.set(id, entry);
      try {
        await entry.started;
      } catch (error) {
        await removeEntry(id, entry);
        throw new DevsimError("unavailable", "could not start the deployment's server", {}, { cause: error });
      }
      return { created: true, status: deployment.status() };
    },

    scale(key, replicas) {
      const id = keyOf(key);
      const count = parseOrThrow(SimReplicas, replicas, "replicas");
      const entry = entries.get(id);
      if (!entry) return null;
      entry.deployment.scale(count);
      return entry.deployment.status();
    },

    describe(key) {
      return entries.get(keyOf(key))?.deployment.info() ?? null;
    },

    async remove(key) {
      const id = keyOf(key);
      const entry = entries.get(id);
      if (!entry) return false;
      await removeEntry(id, entry);
      return true;
    },

    list() {
      return [...entries.values()].map((e) => e.deployment.info());
    },

    regions(cloud) {
      const states = regionStates.get(cloud);
      if (!states) {
        throw new DevsimError("not_found", `cloud '${cloud}' not found`, { resource: "cloud", cloud });
      }
      return [...states].map(([region, state]) => ({ region, available: state.available }));
    },

    async close() {
      closed = true;
      await Promise.all([...entries].map(([id, entry]) => removeEntry(id, entry)));
    },
  };
};
