import { z } from "zod";
import { Cloud, DevsimError } from "#core";

/**
 * Where router outcomes live in KV, shared by the writer (flush) and the reader (metric source).
 *
 * - `outcomes:<workload>:<revision>:<width>s:<cloud>:<region>:<start>`: a hash of counts for one
 *   time bucket of one target, `start` in seconds since the epoch, a multiple of `width`. Fields:
 *   `requests`, `serverErrors` and `le:<bound ms>` / `le:+Inf`, per-bucket (not cumulative) latency
 *   counts named by their bound, so a reader with other bounds can still place them.
 * - `outcomes:<workload>:<revision>:targets`: the targets that revision ever reported (field
 *   `["<cloud>","<region>"]`, value: requests), so readers find them without scanning keys.
 */

export const REQUESTS_FIELD = "requests";
export const SERVER_ERRORS_FIELD = "serverErrors";

/** The field for the latency bucket with this upper bound in ms; the +Inf bucket has none. */
export const latencyField = (boundMs: number | undefined): string =>
  boundMs === undefined ? "le:+Inf" : `le:${boundMs}`;

/** The bound in ms of a latency field, Infinity for +Inf, undefined for any other field. */
export const latencyFieldBound = (field: string): number | undefined => {
  if (field === "le:+Inf") return Number.POSITIVE_INFINITY;
  if (!field.startsWith("le:")) return undefined;
  const bound = Number(field.slice(3));
  return Number.isFinite(bound) && bound > 0 ? bound : undefined;
};

// Region names come from outside; encoding keeps ':' in one from shifting the key's parts.
const part = (value: string): string => encodeURIComponent(value);

export const targetsKey = (workload: string, revision: number): string =>
  `outcomes:${part(workload)}:${revision}:targets`;

export interface BucketKeyParts {
  readonly workload: string;
  readonly revision: number;
  readonly cloud: Cloud;
  readonly region: string;
  readonly bucketSeconds: number;
  /** The bucket's start, in seconds since the epoch. */
  readonly startSeconds: number;
}

export const bucketKey = (k: BucketKeyParts): string =>
  `outcomes:${part(k.workload)}:${k.revision}:${k.bucketSeconds}s:${k.cloud}:${part(k.region)}:${k.startSeconds}`;

export const targetField = (cloud: Cloud, region: string): string => JSON.stringify([cloud, region]);

const TargetField = z.tuple([Cloud, z.string()]);

/** The target named by an index field, or undefined for a field this code did not write. */
export const parseTargetField = (field: string): { cloud: Cloud; region: string } | undefined => {
  let json: unknown;
  try {
    json = JSON.parse(field);
  } catch {
    return undefined;
  }
  const parsed = TargetField.safeParse(json);
  return parsed.success ? { cloud: parsed.data[0], region: parsed.data[1] } : undefined;
};

/** Buckets start at multiples of their width since the epoch, so writers and readers agree on them. */
export const checkBucketSeconds = (bucketSeconds: number): void => {
  if (!Number.isSafeInteger(bucketSeconds) || bucketSeconds <= 0) {
    throw new DevsimError("invalid_input", "bucketSeconds must be a positive integer", { bucketSeconds });
  }
};
