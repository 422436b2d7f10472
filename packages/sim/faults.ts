import { randomUUID } from "node:crypto";
import { z } from "zod";
import { Cloud } from "#core";
import { SimRevision } from "./schemas.ts";

export const SIM_FAULT_TYPES = [
  "region-outage",
  "latency",
  "errors",
  "capacity",
  "api-throttle",
  "api-timeout",
] as const;
export const SimFaultType = z.enum(SIM_FAULT_TYPES);
export type SimFaultType = z.infer<typeof SimFaultType>;

/** Longest a fault may be told to last by itself: one week. */
export const MAX_FAULT_SECONDS = 7 * 24 * 3600;

interface ValueRule {
  readonly min: number;
  readonly max: number;
  readonly int: boolean;
  /** Absent: the value is required. */
  readonly fallback?: number;
  readonly meaning: string;
}

interface FaultRule {
  readonly needsRegion: boolean;
  /** Whether the fault may be narrowed to one revision: only faults on deployments can. */
  readonly byRevision: boolean;
  /** Null: the type takes no value. */
  readonly value: ValueRule | null;
}

/** What each fault type needs; the docs (docs/chaos.md) describe the same table. */
const RULES: Readonly<Record<SimFaultType, FaultRule>> = {
  "region-outage": { needsRegion: true, byRevision: false, value: null },
  latency: {
    needsRegion: false,
    byRevision: true,
    value: { min: 0, max: 60_000, int: false, meaning: "the delay added to each response, in ms" },
  },
  errors: {
    needsRegion: false,
    byRevision: true,
    value: { min: 0, max: 1, int: false, meaning: "the share of responses that fail, 0 to 1" },
  },
  capacity: {
    needsRegion: false,
    byRevision: true,
    value: { min: 0, max: 1, int: false, fallback: 1, meaning: "the share of ready replicas lost, 0 to 1" },
  },
  "api-throttle": {
    needsRegion: false,
    byRevision: false,
    value: { min: 0, max: 3600, int: true, fallback: 1, meaning: "the Retry-After it answers, in seconds" },
  },
  "api-timeout": { needsRegion: false, byRevision: false, value: null },
};

/** A fault as callers write it: the body of `POST /v1/sim/faults`. */
export const SimFaultInput = z
  .strictObject({
    type: SimFaultType,
    /** Checked against the world's clouds separately: an unknown cloud is a 404, as elsewhere. */
    cloud: z.string().min(1).max(64),
    region: z.string().min(1).max(64).optional(),
    revision: SimRevision.optional(),
    value: z.number().optional(),
    durationSeconds: z.number().positive().max(MAX_FAULT_SECONDS).optional(),
  })
  .superRefine((fault, ctx) => {
    const rule = RULES[fault.type];
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (rule.needsRegion && fault.region === undefined) issue("region", `required for ${fault.type}`);
    if (!rule.byRevision && fault.revision !== undefined) issue("revision", `not used by ${fault.type}`);
    const v = rule.value;
    if (!v) {
      if (fault.value !== undefined) issue("value", `not used by ${fault.type}`);
      return;
    }
    if (fault.value === undefined) {
      if (v.fallback === undefined) issue("value", `required for ${fault.type}: ${v.meaning}`);
      return;
    }
    if (fault.value < v.min || fault.value > v.max || (v.int && !Number.isInteger(fault.value))) {
      const kind = v.int ? "an integer" : "a number";
      issue("value", `must be ${kind} from ${v.min} to ${v.max} for ${fault.type}: ${v.meaning}`);
    }
  });
export type SimFaultInput = z.infer<typeof SimFaultInput>;

/**
 * A fault in force, as the control API shows it. Null fields were left out: a null region means the
 * whole cloud.
 */
export const SimFault = z.object({
  id: z.string(),
  type: SimFaultType,
  cloud: Cloud,
  region: z.string().nullable(),
  revision: z.int().nullable(),
  /** The value in use, defaults filled in; null for types that take none. */
  value: z.number().nullable(),
  durationSeconds: z.number().nullable(),
  createdAt: z.string(),
  /** When it ends by itself; null when it lasts until removed. */
  expiresAt: z.string().nullable(),
});
export type SimFault = Readonly<z.infer<typeof SimFault>>;

/** What the faults in force do to one deployment. */
export interface DeploymentFaults {
  /** Its region is out: the server must not answer at all. */
  readonly outage: boolean;
  readonly latencyMs: number;
  /** Chance that a response is a 500, on top of the revision's own profile. */
  readonly errorRate: number;
  /** Share of its ready replicas that are gone. */
  readonly capacityLost: number;
}

export const NO_FAULTS: DeploymentFaults = { outage: false, latencyMs: 0, errorRate: 0, capacityLost: 0 };

interface Place {
  readonly cloud: string;
  readonly region: string;
  readonly revision?: number;
}

const reaches = (fault: SimFault, place: Place): boolean =>
  fault.cloud === place.cloud &&
  (fault.region === null || fault.region === place.region) &&
  (fault.revision === null || fault.revision === place.revision);

/**
 * Combines every fault that reaches a deployment. Latencies add up; error rates and capacity losses
 * combine as independent chances (two 50% losses leave 25% standing).
 */
export const deploymentFaults = (faults: readonly SimFault[], place: Required<Place>): DeploymentFaults => {
  let outage = false;
  let latencyMs = 0;
  let errorsPass = 1;
  let capacityKept = 1;
  for (const fault of faults) {
    if (!reaches(fault, place)) continue;
    const value = fault.value ?? 0;
    if (fault.type === "region-outage") outage = true;
    else if (fault.type === "latency") latencyMs += value;
    else if (fault.type === "errors") errorsPass *= 1 - value;
    else if (fault.type === "capacity") capacityKept *= 1 - value;
  }
  return { outage, latencyMs, errorRate: 1 - errorsPass, capacityLost: 1 - capacityKept };
};

export const regionIsOut = (faults: readonly SimFault[], cloud: string, region: string): boolean =>
  faults.some((f) => f.type === "region-outage" && reaches(f, { cloud, region }));

/**
 * The oldest API fault that reaches a control API call about `cloud`, and `region` when the call
 * names one. A fault on one region spares calls that name no region, such as listing regions.
 */
export const apiFaultFor = (
  faults: readonly SimFault[],
  cloud: string,
  region: string | null,
): SimFault | undefined =>
  faults.find(
    (f) =>
      (f.type === "api-throttle" || f.type === "api-timeout") &&
      f.cloud === cloud &&
      (f.region === null || f.region === region),
  );

/** Ready replicas that survive a capacity loss; the lost ones are rounded to the nearest replica. */
export const survivingReplicas = (ready: number, capacityLost: number): number =>
  Math.max(0, ready - Math.round(ready * capacityLost));

export interface FaultRegistryOptions {
  /** Clock in ms. Default Date.now. */
  readonly now?: () => number;
  /** Told when a fault ends by itself. */
  readonly onExpire?: (fault: SimFault) => void;
}

/** The faults in force, each with an id, and the timers that end them. */
export interface FaultRegistry {
  /** Expects a checked input whose cloud exists. */
  add(input: SimFaultInput & { cloud: Cloud }): SimFault;
  /** Ends a fault; undefined when there was none with that id. */
  remove(id: string): SimFault | undefined;
  /** Oldest first. */
  list(): SimFault[];
  /** Settles once the fault is no longer in force (at once for an unknown id). */
  ended(id: string): Promise<void>;
  /** Ends every fault without telling onExpire. */
  clear(): void;
}

interface Held {
  readonly fault: SimFault;
  readonly timer: NodeJS.Timeout | undefined;
  readonly ended: PromiseWithResolvers<void>;
}

export const createFaultRegistry = (options: FaultRegistryOptions = {}): FaultRegistry => {
  const { now = Date.now, onExpire } = options;
  const held = new Map<string, Held>();

  const end = (id: string): SimFault | undefined => {
    const entry = held.get(id);
    if (!entry) return undefined;
    held.delete(id);
    clearTimeout(entry.timer);
    entry.ended.resolve();
    return entry.fault;
  };

  return {
    add(input) {
      const id = randomUUID();
      const at = now();
      const duration = input.durationSeconds ?? null;
      const fault: SimFault = {
        id,
        type: input.type,
        cloud: input.cloud,
        region: input.region ?? null,
        revision: input.revision ?? null,
        value: input.value ?? RULES[input.type].value?.fallback ?? null,
        durationSeconds: duration,
        createdAt: new Date(at).toISOString(),
        expiresAt: duration === null ? null : new Date(at + duration * 1000).toISOString(),
      };
      const timer =
        duration === null
          ? undefined
          : setTimeout(() => {
              const expired = end(id);
              if (expired) onExpire?.(expired);
            }, duration * 1000).unref();
      held.set(id, { fault, timer, ended: Promise.withResolvers<void>() });
      return fault;
    },
    remove: end,
    list: () => [...held.values()].map((h) => h.fault),
    ended: (id) => held.get(id)?.ended.promise ?? Promise.resolve(),
    clear() {
      for (const id of [...held.keys()]) end(id);
    },
  };
};
