import { z } from "zod";
import { type Cloud, DevsimError, SIM_REGIONS } from "#core";
import {
  createSimDeployment,
  type SimDeployment,
  type SimDeploymentInfo,
  type SimDeploymentKey,
  type SimDeploymentStatus,
} from "./deployment.ts";
import {
  apiFaultFor,
  createFaultRegistry,
  deploymentFaults,
  regionIsOut,
  type SimFault,
  SimFaultInput,
} from "./faults.ts";
import {
  checkKnownRegion,
  knownCloud,
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
  /** A region is unavailable while a region-outage fault covers it. */
  regions(cloud: Cloud): SimRegionStatus[];
  /**
   * Puts a fault in force and applies it to every deployment it reaches; resolves once it has taken
   * effect (for an outage: the servers no longer listen). Unknown clouds and regions are not_found.
   */
  addFault(input: SimFaultInput): Promise<SimFault>;
  /** Ends a fault and undoes its effects (servers listen again); false when there was none. */
  removeFault(id: string): Promise<boolean>;
  /** The faults in force, oldest first. */
  faults(): SimFault[];
  /** The API fault (api-throttle or api-timeout) that hits a control API call about this place. */
  apiFault(cloud: string, region: string | null): SimFault | undefined;
  /** Settles once the fault is no longer in force: removed, expired, or the world closed. */
  faultEnded(id: string): Promise<void>;
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

interface Entry {
  readonly key: SimDeploymentKey;
  readonly deployment: SimDeployment;
  /** Settles once the deployment listens; concurrent deploys of the same key wait on it. */
  readonly started: Promise<void>;
}

export const createSimWorld = (options: SimWorldOptions = {}): SimWorld => {
  const settings = parseOrThrow(WorldOptions, options, "options");
  const entries = new Map<string, Entry>();
  let closed = false;

  /** Applies the faults in force to every deployment; resolves once servers listen or not as they must. */
  const applyFaults = async (): Promise<void> => {
    const active = registry.list();
    await Promise.all(
      [...entries.values()].map((e) => e.deployment.setFaults(deploymentFaults(active, e.key))),
    );
  };
  const registry = createFaultRegistry({
    onExpire: () => void applyFaults(),
  });

  /** Control calls that change what runs in a region fail while it is out, as on a real cloud. */
  const checkRegionUp = (key: SimDeploymentKey): void => {
    if (regionIsOut(registry.list(), key.cloud, key.region)) {
      throw new DevsimError("unavailable", `region '${key.region}' of cloud '${key.cloud}' is unavailable`, {
        resource: "region",
        cloud: key.cloud,
        region: key.region,
      });
    }
  };

  /** Checks a key and gives the string the deployment is stored under. */
  const keyOf = (key: SimDeploymentKey): string => {
    checkKnownRegion(knownCloud(key.cloud), key.region);
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
      checkRegionUp(key);
      const existing = entries.get(id);
      if (existing) {
        await existing.started;
        return { created: false, status: existing.deployment.status() };
      }
      const deployment = createSimDeployment(key, spec, settings);
      // Faults apply before it first listens; a region that goes out meanwhile closes it straight after.
      void deployment.setFaults(deploymentFaults(registry.list(), key));
      const entry: Entry = { key: { ...key }, deployment, started: deployment.start() };
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
      checkRegionUp(key);
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
      const known = knownCloud(cloud);
      const active = registry.list();
      return SIM_REGIONS[known].map((region) => ({ region, available: !regionIsOut(active, known, region) }));
    },

    async addFault(input) {
      const fault = parseOrThrow(SimFaultInput, input, "fault");
      if (closed) throw new DevsimError("unavailable", "the simulated world is closed");
      const cloud = knownCloud(fault.cloud);
      if (fault.region !== undefined) checkKnownRegion(cloud, fault.region);
      const added = registry.add({ ...fault, cloud });
      await applyFaults();
      return added;
    },

    async removeFault(id) {
      if (!registry.remove(id)) return false;
      await applyFaults();
      return true;
    },

    faults: () => registry.list(),
    apiFault: (cloud, region) => apiFaultFor(registry.list(), cloud, region),
    faultEnded: (id) => registry.ended(id),

    async close() {
      closed = true;
      registry.clear();
      await Promise.all([...entries].map(([id, entry]) => removeEntry(id, entry)));
    },
  };
};
