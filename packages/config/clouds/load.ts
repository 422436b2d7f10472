import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { CLOUDS, type Cloud, DevsimError, SIM_REGIONS } from "#core";
import type { Env } from "../env.ts";
import type { CloudsFile } from "./schema.ts";

/** The file read when neither `--clouds-file` nor the environment names one, if it exists. */
export const DEFAULT_CLOUDS_FILE = "devsim.clouds.json";

/** How each cloud is reached, where that was said, and the regions it serves. */
export interface CloudsConfig {
  /** The file's path, `DEVSIM_CLOUDS_JSON`, or null when nothing configures any cloud. */
  readonly source: string | null;
  readonly clouds: CloudsFile;
  /** The configured regions of each real cloud, the simulator's of each simulated one. */
  readonly regions: Readonly<Record<Cloud, readonly string[]>>;
  /** Clouds the configuration names but `DEVSIM_<CLOUD>_ADAPTER=sim` sends to the simulator. */
  readonly forcedToSim: readonly Cloud[];
}

/** What `DEVSIM_<CLOUD>_ADAPTER` is called for a cloud, e.g. `DEVSIM_DIGITALOCEAN_ADAPTER`. */
export const adapterOverrideVariable = (cloud: Cloud): string => `DEVSIM_${cloud.toUpperCase()}_ADAPTER`;

const SIMULATED: CloudsConfig = {
  source: null,
  clouds: {
    aws: { adapter: "sim" },
    azure: { adapter: "sim" },
    gcp: { adapter: "sim" },
    digitalocean: { adapter: "sim" },
  },
  regions: SIM_REGIONS,
  forcedToSim: [],
};

const invalid = (message: string, details: Record<string, unknown> = {}): DevsimError =>
  new DevsimError("invalid_input", message, details);

const missing = (error: unknown): boolean =>
  error instanceof Error && "code" in error && error.code === "ENOENT";

const unreadable = (path: string, namedBy: string, error: unknown): DevsimError => {
  const reason = missing(error) ? "no such file" : error instanceof Error ? error.message : String(error);
  return invalid(`clouds file ${path} (${namedBy}): ${reason}`, { file: path });
};

const readText = async (path: string, namedBy: string): Promise<string> => {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw unreadable(path, namedBy, error);
  }
};

/** The text of the configuration and where it came from, or null when there is none. */
const findSource = async (
  env: Env,
  file: string | undefined,
  cwd: string,
): Promise<{ source: string; text: string } | null> => {
  if (file) {
    const path = resolve(cwd, file);
    return { source: path, text: await readText(path, "--clouds-file") };
  }
  const fromEnv = env.DEVSIM_CLOUDS_FILE || undefined;
  const json = env.DEVSIM_CLOUDS_JSON || undefined;
  if (fromEnv && json) {
    throw invalid("DEVSIM_CLOUDS_FILE and DEVSIM_CLOUDS_JSON are both set: set one of them");
  }
  if (fromEnv) {
    const path = resolve(cwd, fromEnv);
    return { source: path, text: await readText(path, "DEVSIM_CLOUDS_FILE") };
  }
  if (json) return { source: "DEVSIM_CLOUDS_JSON", text: json };
  const path = resolve(cwd, DEFAULT_CLOUDS_FILE);
  try {
    return { source: path, text: await readFile(path, "utf8") };
  } catch (error) {
    if (missing(error)) return null;
    throw unreadable(path, "the default file", error);
  }
};

/** The clouds `DEVSIM_<CLOUD>_ADAPTER=sim` sends to the simulator; any other value is refused. */
const simulatorOverrides = (env: Env): Cloud[] =>
  CLOUDS.filter((cloud) => {
    const name = adapterOverrideVariable(cloud);
    const value = env[name];
    if (value === undefined || value === "") return false;
    if (value === "sim") return true;
    throw invalid(
      `${name}: '${value}' is not allowed; only 'sim' (use the simulator for ${cloud}) can be set here, real adapters are configured in the clouds file`,
      { field: name },
    );
  });

/** Parses and validates configuration text; problems name their JSON path. */
export const parseCloudsConfig = async (
  text: string,
  source: string,
  env: Env = {},
): Promise<CloudsConfig> => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(`${source}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
      file: source,
    });
  }
  const forced = simulatorOverrides(env);
  const { parseCloudsFile, servedRegions } = await import("./schema.ts");
  const parsed = parseCloudsFile(json);
  if (!parsed.ok) {
    throw invalid(`${source}: ${parsed.problems.join("; ")}`, { file: source, problems: parsed.problems });
  }
  const { file } = parsed;
  const simulated = (cloud: Cloud): boolean => forced.includes(cloud);
  const sim = { adapter: "sim" } as const;
  const clouds: CloudsFile = {
    aws: simulated("aws") ? sim : file.aws,
    azure: simulated("azure") ? sim : file.azure,
    gcp: simulated("gcp") ? sim : file.gcp,
    digitalocean: simulated("digitalocean") ? sim : file.digitalocean,
  };
  const forcedToSim = forced.filter((cloud) => file[cloud].adapter !== "sim");
  return { source, clouds, regions: servedRegions(clouds), forcedToSim };
};

export interface LoadCloudsOptions {
  /** The file `--clouds-file` names; it wins over the environment. */
  readonly file?: string | undefined;
  /** Where relative paths start. Default the process's working directory. */
  readonly cwd?: string;
}

/**
 * Reads how each cloud is reached: from `file` (`--clouds-file`), else `DEVSIM_CLOUDS_FILE`, else
 * `DEVSIM_CLOUDS_JSON` (the JSON itself, for functions that have no files), else
 * `devsim.clouds.json` if it exists; with none of them every cloud is simulated. Then
 * `DEVSIM_<CLOUD>_ADAPTER=sim` sends a configured cloud to the simulator. Throws DevsimError
 * `invalid_input` naming the source and each problem's JSON path.
 *
 * Secrets never come from here: each adapter finds its own the way its cloud's tools do.
 *
 * @example
 * const clouds = await loadCloudsConfig(process.env, { file: "devsim.clouds.json" });
 * clouds.clouds.aws.adapter; // "ecs"
 */
export const loadCloudsConfig = async (env: Env, options: LoadCloudsOptions = {}): Promise<CloudsConfig> => {
  const found = await findSource(env, options.file, options.cwd ?? process.cwd());
  if (!found) {
    // Checked even without a file, so a typo in an override is never silently ignored.
    simulatorOverrides(env);
    return SIMULATED;
  }
  return parseCloudsConfig(found.text, found.source, env);
};

/** The clouds a configuration sends to the simulator. */
export const simulatedClouds = (config: CloudsConfig): Cloud[] =>
  CLOUDS.filter((cloud) => config.clouds[cloud].adapter === "sim");
