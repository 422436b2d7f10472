import { z } from "zod";
import { EcsAdapterConfig } from "#adapters/aws-ecs";
import { AksConfig } from "#adapters/azure-aks";
import { DoksConfig } from "#adapters/digitalocean-doks";
import { GkeConfig } from "#adapters/gcp-gke";
import { type Cloud, SIM_REGIONS } from "#core";
import { aksRegions } from "../../../adapters/azure-aks/config.ts";
import { doksRegions } from "../../../adapters/digitalocean-doks/config.ts";
import { gkeRegions } from "../../../adapters/gcp-gke/config.ts";

// The schema of the clouds file. Importing it loads every real cloud's SDK (seconds), so
// `load.ts` imports this module only when there is a configuration to read.

/** A cloud served by the simulator: what a cloud left out of the file gets. */
const Simulated = z.strictObject({ adapter: z.literal("sim") });

/** Secrets stay in the environment, where every other tool for the cloud looks for them too. */
const noDigitalOceanToken = z
  .never({ error: "a token does not belong in the file: set DIGITALOCEAN_ACCESS_TOKEN instead" })
  .optional();

/** Each cloud takes the simulator or its one real adapter, with that adapter's own schema. */
export const CloudsFile = z.strictObject({
  aws: z
    .discriminatedUnion("adapter", [Simulated, EcsAdapterConfig.safeExtend({ adapter: z.literal("ecs") })])
    .default({ adapter: "sim" }),
  azure: z
    .discriminatedUnion("adapter", [Simulated, AksConfig.safeExtend({ adapter: z.literal("aks") })])
    .default({ adapter: "sim" }),
  gcp: z
    .discriminatedUnion("adapter", [Simulated, GkeConfig.safeExtend({ adapter: z.literal("gke") })])
    .default({ adapter: "sim" }),
  digitalocean: z
    .discriminatedUnion("adapter", [
      Simulated,
      DoksConfig.safeExtend({ adapter: z.literal("doks"), token: noDigitalOceanToken }),
    ])
    .default({ adapter: "sim" }),
});
export type CloudsFile = z.output<typeof CloudsFile>;
export type CloudsFileInput = z.input<typeof CloudsFile>;

export type AwsSetting = CloudsFile["aws"];
export type AzureSetting = CloudsFile["azure"];
export type GcpSetting = CloudsFile["gcp"];
export type DigitalOceanSetting = CloudsFile["digitalocean"];

/** Zod's words for the commonest mistakes, said the way a person editing JSON thinks of them. */
const messages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "invalid_type" && issue.input === undefined) return "Required";
  if (issue.code === "invalid_union" && "discriminator" in issue && Array.isArray(issue.options)) {
    return `must be ${issue.options.map((o: unknown) => `"${String(o)}"`).join(" or ")}`;
  }
  return undefined;
};

/** The region of the array element a path goes through (`targets.0`, `clusters.1`), if it has one. */
const regionOnPath = (input: unknown, path: readonly PropertyKey[]): string | undefined => {
  let node: unknown = input;
  let region: string | undefined;
  for (const key of path) {
    if (node === null || typeof node !== "object") break;
    node = (node as Record<PropertyKey, unknown>)[key];
    if (typeof key === "number" && node !== null && typeof node === "object" && "region" in node) {
      const value = (node as { region: unknown }).region;
      if (typeof value === "string") region = value;
    }
  }
  return region;
};

/** One line per problem: the JSON path, what is wrong, and the region of the entry concerned. */
export const describeIssues = (input: unknown, issues: readonly z.core.$ZodIssue[]): string[] =>
  issues.map((issue) => {
    const where = issue.path.map(String).join(".") || "(top level)";
    const region = regionOnPath(input, issue.path);
    return `${where}: ${issue.message}${region ? ` (region ${region})` : ""}`;
  });

export type ParsedClouds = { ok: true; file: CloudsFile } | { ok: false; problems: string[] };

/** Validates a parsed clouds file; problems name their JSON path, e.g. `aws.targets.0.cluster: Required`. */
export const parseCloudsFile = (input: unknown): ParsedClouds => {
  const parsed = CloudsFile.safeParse(input, { error: messages });
  return parsed.success
    ? { ok: true, file: parsed.data }
    : { ok: false, problems: describeIssues(input, parsed.error.issues) };
};

/** The regions each cloud serves: those its configuration names for a real cloud, the simulator's otherwise. */
export const servedRegions = (file: CloudsFile): Readonly<Record<Cloud, readonly string[]>> => ({
  aws: file.aws.adapter === "ecs" ? file.aws.targets.map((t) => t.region) : SIM_REGIONS.aws,
  azure: file.azure.adapter === "aks" ? aksRegions(file.azure) : SIM_REGIONS.azure,
  gcp: file.gcp.adapter === "gke" ? gkeRegions(file.gcp) : SIM_REGIONS.gcp,
  digitalocean:
    file.digitalocean.adapter === "doks" ? doksRegions(file.digitalocean) : SIM_REGIONS.digitalocean,
});
