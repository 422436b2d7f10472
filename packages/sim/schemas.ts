import { z } from "zod";
import { Cloud, DevsimError, Image, SIM_REGIONS, SimProfile, WorkloadName } from "#core";

/** Upper bound on replicas of one simulated deployment; zero is allowed (scaled to nothing). */
export const MAX_SIM_REPLICAS = 100;

export const SimReplicas = z.int().min(0).max(MAX_SIM_REPLICAS);

/** Revision numbers travel in URLs, so they are parsed from decimal strings without signs or exponents. */
export const SimRevisionParam = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,8})$/, "must be a non-negative integer")
  .transform(Number);

export const SimRevision = z.int().min(0).max(999_999_999);

export const SimWorkload = WorkloadName;

/** Unknown clouds are missing resources (404), not malformed input (400), as on a real cloud API. */
export const knownCloud = (value: string): Cloud => {
  const cloud = Cloud.safeParse(value);
  if (!cloud.success) {
    throw new DevsimError("not_found", `cloud '${value}' not found`, { resource: "cloud", cloud: value });
  }
  return cloud.data;
};

/** Throws `not_found` unless `region` is one of the cloud's simulated regions. */
export const checkKnownRegion = (cloud: Cloud, region: string): void => {
  if (!SIM_REGIONS[cloud].includes(region)) {
    throw new DevsimError("not_found", `region '${region}' not found in cloud '${cloud}'`, {
      resource: "region",
      cloud,
      region,
    });
  }
};

/** What one deployment runs: the body of the control API's PUT. */
export const SimDeploySpec = z.strictObject({
  image: Image,
  port: z.int().min(1).max(65_535),
  healthPath: z
    .string()
    .max(1024)
    .regex(/^\/[^\s?#]*$/, "must be an absolute path such as '/healthz'"),
  replicas: SimReplicas,
  sim: SimProfile.nullable(),
});
export type SimDeploySpec = z.infer<typeof SimDeploySpec>;
/** The spec as callers write it: sim profile fields may be left to their defaults. */
export type SimDeploySpecInput = z.input<typeof SimDeploySpec>;

export const SimScaleBody = z.strictObject({ replicas: SimReplicas });

export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** Names each failing field by its dotted path, prefixed by where it came from (body, params). */
export const fieldIssues = (error: z.ZodError, prefix: string): FieldIssue[] =>
  error.issues.flatMap((issue) => {
    const field = (extra: string[] = []): string =>
      [prefix, ...issue.path.map(String), ...extra].filter((p) => p !== "").join(".");
    // An unknown key is itself the field at fault, not the object that holds it.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ field: field([key]), message: "unknown field" }));
    }
    return [{ field: field(), message: issue.message }];
  });

/** Parses or throws `invalid_input` whose message names the first bad field and whose details list all. */
export const parseOrThrow = <S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> => {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = fieldIssues(result.error, prefix);
  const first = issues[0];
  const message = first ? `invalid ${first.field || "input"}: ${first.message}` : "invalid input";
  throw new DevsimError("invalid_input", message, { issues });
};
