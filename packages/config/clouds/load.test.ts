import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevsimError, SIM_REGIONS } from "#core";
import { type CloudsConfig, loadCloudsConfig, parseCloudsConfig, simulatedClouds } from "./load.ts";

const ecs = {
  adapter: "ecs",
  targets: [
    {
      region: "eu-west-1",
      cluster: "devsim",
      subnets: ["subnet-0a1b2c3d4e5f60718"],
      urlPattern: "https://{workload}-r{revision}.euw1.apps.example.com",
    },
  ],
};
const aks = {
  adapter: "aks",
  subscriptionId: "3f2e8c1a-5b7d-4e9f-a0c2-9d8e7f6a5b4c",
  clusters: [{ region: "westeurope", resourceGroup: "shop-prod", name: "aks-weu" }],
};
const gke = { adapter: "gke", projectId: "shop-prod", regions: ["europe-west1", "us-central1"] };
const doks = { adapter: "doks", clusters: [{ region: "fra1", name: "shop-fra1" }] };

const parse = (content: unknown, env = {}): Promise<CloudsConfig> =>
  parseCloudsConfig(JSON.stringify(content), "clouds.json", env);

/** The message of the DevsimError `promise` rejects with; fails the test when it is anything else. */
const failure = async (promise: Promise<unknown>): Promise<string> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DevsimError);
  expect((error as DevsimError).code).toBe("invalid_input");
  return (error as DevsimError).message;
};

describe("parseCloudsConfig", () => {
  it("gives each cloud its adapter, its settings with the adapter's defaults, and its regions", async () => {
    const config = await parse({ aws: ecs, azure: aks, gcp: gke, digitalocean: doks });
    expect(config.clouds.aws).toMatchObject({ adapter: "ecs", cpu: 256, memory: 512, timeoutMs: 10_000 });
    expect(config.clouds.azure).toMatchObject({
      adapter: "aks",
      armEndpoint: "https://management.azure.com",
    });
    expect(config.clouds.gcp).toMatchObject({ adapter: "gke", endpoint: "https://container.googleapis.com" });
    expect(config.clouds.digitalocean).toMatchObject({
      adapter: "doks",
      apiUrl: "https://api.digitalocean.com",
    });
    expect(config.regions).toEqual({
      aws: ["eu-west-1"],
      azure: ["westeurope"],
      gcp: ["europe-west1", "us-central1"],
      digitalocean: ["fra1"],
    });
    expect(simulatedClouds(config)).toEqual([]);
    expect(config.source).toBe("clouds.json");
  });

  it("leaves a cloud that is absent or says sim to the simulator, with the simulator's regions", async () => {
    const config = await parse({ aws: ecs, gcp: { adapter: "sim" } });
    expect(config.clouds.azure).toEqual({ adapter: "sim" });
    expect(config.clouds.gcp).toEqual({ adapter: "sim" });
    expect(simulatedClouds(config)).toEqual(["azure", "gcp", "digitalocean"]);
    expect(config.regions).toEqual({ ...SIM_REGIONS, aws: ["eu-west-1"] });
  });

  it("accepts an empty object: every cloud simulated", async () => {
    const config = await parse({});
    expect(simulatedClouds(config)).toEqual(["aws", "azure", "gcp", "digitalocean"]);
  });

  it("names the JSON path of every problem, with the region of the entry concerned", async () => {
    const { cluster: _, ...noCluster } = ecs.targets[0] ?? {};
    const message = await failure(
      parse({
        aws: { ...ecs, targets: [noCluster] },
        azure: { ...aks, subscriptionId: "not-a-guid" },
        gcp: { adapter: "gke", projectId: "shop-prod" },
      }),
    );
    expect(message).toMatch(/^clouds\.json: /);
    expect(message).toContain("aws.targets.0.cluster: Required (region eu-west-1)");
    expect(message).toContain("azure.subscriptionId: ");
    expect(message).toContain("gcp.clusters: give either clusters or regions");
  });

  it("refuses an adapter that does not serve the cloud, or none", async () => {
    expect(await failure(parse({ aws: aks }))).toContain('aws.adapter: must be "sim" or "ecs"');
    expect(await failure(parse({ gcp: { projectId: "shop-prod" } }))).toContain(
      'gcp.adapter: must be "sim" or "gke"',
    );
  });

  it("refuses unknown clouds and unknown fields, which would otherwise be silently ignored", async () => {
    expect(await failure(parse({ ibm: { adapter: "sim" } }))).toContain(
      '(top level): Unrecognized key: "ibm"',
    );
    expect(await failure(parse({ aws: { ...ecs, cpus: 2 } }))).toContain('aws: Unrecognized key: "cpus"');
    expect(await failure(parse({ aws: { adapter: "sim", region: "x" } }))).toContain(
      'aws: Unrecognized key: "region"',
    );
  });

  it("keeps secrets out of the file: a DigitalOcean token is refused, pointing at the variable", async () => {
    const message = await failure(parse({ digitalocean: { ...doks, token: "dop_v1_secret" } }));
    expect(message).toContain(
      "digitalocean.token: a token does not belong in the file: set DIGITALOCEAN_ACCESS_TOKEN instead",
    );
    expect(message).not.toContain("dop_v1_secret");
  });

  it("refuses text that is not JSON, naming the source", async () => {
    expect(await failure(parseCloudsConfig("{ aws: }", "DEVSIM_CLOUDS_JSON"))).toMatch(
      /^DEVSIM_CLOUDS_JSON: not valid JSON: /,
    );
  });

  it("sends a configured cloud to the simulator with DEVSIM_<CLOUD>_ADAPTER=sim", async () => {
    const config = await parse(
      { aws: ecs, digitalocean: doks },
      { DEVSIM_DIGITALOCEAN_ADAPTER: "sim", DEVSIM_GCP_ADAPTER: "sim", DEVSIM_AWS_ADAPTER: "" },
    );
    expect(config.clouds.digitalocean).toEqual({ adapter: "sim" });
    expect(config.clouds.aws.adapter).toBe("ecs");
    expect(config.regions.digitalocean).toEqual(SIM_REGIONS.digitalocean);
    // gcp was simulated anyway: only clouds the file configured count as forced.
    expect(config.forcedToSim).toEqual(["digitalocean"]);
  });

  it("refuses any other value of DEVSIM_<CLOUD>_ADAPTER", async () => {
    expect(await failure(parse({ aws: ecs }, { DEVSIM_AWS_ADAPTER: "ecs" }))).toMatch(
      /^DEVSIM_AWS_ADAPTER: 'ecs' is not allowed; only 'sim'/,
    );
  });
});

describe("loadCloudsConfig", () => {
  let dir: string;
  let empty: string;
  let withDefault: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devsim-clouds-load-"));
    empty = await mkdtemp(join(dir, "empty-"));
    withDefault = await mkdtemp(join(dir, "default-"));
    await writeFile(join(dir, "aws.json"), JSON.stringify({ aws: ecs }));
    await writeFile(join(dir, "gcp.json"), JSON.stringify({ gcp: gke }));
    await writeFile(join(withDefault, "devsim.clouds.json"), JSON.stringify({ digitalocean: doks }));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const adapters = (config: CloudsConfig) => [
    config.clouds.aws.adapter,
    config.clouds.azure.adapter,
    config.clouds.gcp.adapter,
    config.clouds.digitalocean.adapter,
  ];

  it("without any configuration, simulates every cloud in every simulator region", async () => {
    const config = await loadCloudsConfig({}, { cwd: empty });
    expect(config.source).toBeNull();
    expect(adapters(config)).toEqual(["sim", "sim", "sim", "sim"]);
    expect(config.regions).toEqual(SIM_REGIONS);
  });

  it("reads the file named by the option, relative to the working directory", async () => {
    const config = await loadCloudsConfig({}, { file: "aws.json", cwd: dir });
    expect(config.source).toBe(join(dir, "aws.json"));
    expect(adapters(config)).toEqual(["ecs", "sim", "sim", "sim"]);
  });

  it("reads DEVSIM_CLOUDS_FILE, or the JSON itself from DEVSIM_CLOUDS_JSON", async () => {
    const fromFile = await loadCloudsConfig({ DEVSIM_CLOUDS_FILE: join(dir, "gcp.json") }, { cwd: empty });
    expect(adapters(fromFile)).toEqual(["sim", "sim", "gke", "sim"]);
    const fromJson = await loadCloudsConfig(
      { DEVSIM_CLOUDS_JSON: JSON.stringify({ azure: aks }) },
      { cwd: empty },
    );
    expect(fromJson.source).toBe("DEVSIM_CLOUDS_JSON");
    expect(adapters(fromJson)).toEqual(["sim", "aks", "sim", "sim"]);
  });

  it("lets the option win over the environment, and the environment over the default file", async () => {
    const env = { DEVSIM_CLOUDS_FILE: join(dir, "gcp.json") };
    expect(adapters(await loadCloudsConfig(env, { file: "aws.json", cwd: dir }))).toEqual([
      "ecs",
      "sim",
      "sim",
      "sim",
    ]);
    expect(adapters(await loadCloudsConfig(env, { cwd: withDefault }))).toEqual(["sim", "sim", "gke", "sim"]);
  });

  it("reads devsim.clouds.json from the working directory when nothing names a file", async () => {
    const config = await loadCloudsConfig({}, { cwd: withDefault });
    expect(config.source).toBe(join(withDefault, "devsim.clouds.json"));
    expect(adapters(config)).toEqual(["sim", "sim", "sim", "doks"]);
  });

  it("refuses a named file that is missing, and both variables at once", async () => {
    expect(await failure(loadCloudsConfig({}, { file: "absent.json", cwd: dir }))).toBe(
      `clouds file ${join(dir, "absent.json")} (--clouds-file): no such file`,
    );
    expect(await failure(loadCloudsConfig({ DEVSIM_CLOUDS_FILE: "absent.json" }, { cwd: dir }))).toContain(
      "(DEVSIM_CLOUDS_FILE): no such file",
    );
    expect(
      await failure(
        loadCloudsConfig({ DEVSIM_CLOUDS_FILE: "aws.json", DEVSIM_CLOUDS_JSON: "{}" }, { cwd: dir }),
      ),
    ).toBe("DEVSIM_CLOUDS_FILE and DEVSIM_CLOUDS_JSON are both set: set one of them");
  });

  it("checks DEVSIM_<CLOUD>_ADAPTER even when nothing is configured", async () => {
    expect(await failure(loadCloudsConfig({ DEVSIM_GCP_ADAPTER: "gke" }, { cwd: empty }))).toContain(
      "DEVSIM_GCP_ADAPTER: 'gke' is not allowed",
    );
  });
});
