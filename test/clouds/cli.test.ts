import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudCheck } from "#config";
import { type Ran, runDevsim } from "../support/devsim-process.ts";
import { type CloudWorld, startCloudWorld } from "./world.ts";

/** Runs `devsim clouds …` to its end with exactly `env`, as a separate process. */
const devsimClouds = (args: readonly string[], env: Record<string, string>, cwd: string): Promise<Ran> =>
  runDevsim(["clouds", ...args], { env, cwd });

/** The table's lines of one cloud. */
const linesOf = (stdout: string, cloud: string): string[] =>
  stdout.split("\n").filter((line) => line.startsWith(`${cloud} `));

let world: CloudWorld;
let file: string;

beforeAll(async () => {
  world = await startCloudWorld();
  file = await world.writeJson("devsim.clouds.json", world.clouds);
});
afterAll(async () => {
  await world?.close();
});

describe("devsim clouds check, against the four clouds' fakes", () => {
  it("passes when every cloud's credentials, clusters and API servers are right", async () => {
    const ran = await devsimClouds(["check", "--clouds-file", file], world.env, world.dir);
    expect(ran.stderr).toBe("");
    expect(ran.stdout).toContain(`Clouds from ${file}`);
    expect(linesOf(ran.stdout, "aws")).toEqual([
      expect.stringMatching(/^aws +ecs +us-east-1 \(cluster devsim\) +ok$/),
    ]);
    expect(linesOf(ran.stdout, "azure")).toEqual([
      expect.stringMatching(/^azure +aks +credentials +ok$/),
      expect.stringMatching(/^azure +aks +westeurope: AKS cluster shop\/aks-weu +ok$/),
      expect.stringMatching(/^azure +aks +westeurope: Kubernetes API +ok$/),
    ]);
    expect(linesOf(ran.stdout, "gcp")).toEqual([
      expect.stringMatching(/^gcp +gke +credentials +ok$/),
      expect.stringMatching(/^gcp +gke +europe-west1: GKE cluster europe-west1\/gke-euw1 +ok$/),
      expect.stringMatching(/^gcp +gke +europe-west1: Kubernetes API +ok$/),
    ]);
    expect(linesOf(ran.stdout, "digitalocean")).toHaveLength(3);
    expect(ran.stdout).toContain("Every cloud is ready.");
    expect(ran.code).toBe(0);
    // The standard chains found their tokens where each platform serves them.
    expect(world.arm.requests.every((r) => r.headers.authorization === `Bearer ${world.arm.token}`)).toBe(
      true,
    );
    expect(world.gke.requests.length).toBeGreaterThan(0);
  });

  it("shows three clouds ready and a wrong DigitalOcean token with its fix, and exits 1", async () => {
    const env = { ...world.env, DIGITALOCEAN_ACCESS_TOKEN: "dop_v1_wrong" };
    const ran = await devsimClouds(["check", "--clouds-file", file], env, world.dir);
    expect(ran.code).toBe(1);
    for (const cloud of ["aws", "azure", "gcp"]) {
      const lines = linesOf(ran.stdout, cloud);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatch(/ ok$/);
    }
    const out = ran.stdout.split("\n");
    const broken = out.findIndex((line) => line.startsWith("digitalocean "));
    expect(out[broken]).toMatch(/^digitalocean +doks +token +.*HTTP 401 unauthorized/);
    expect(out[broken + 1]).toMatch(/^ +fix: Create a personal access token .*DIGITALOCEAN_ACCESS_TOKEN\.$/);
    expect(ran.stdout).toContain("3 of 4 clouds ready; wrong: digitalocean.");
    expect(ran.stderr).toBe("");
  });

  it("prints the lines as JSON with --json, and names a missing ECS cluster with the command that creates it", async () => {
    const aws = { ...ecsOf(world), targets: [{ ...targetOf(world), cluster: "gone" }] };
    const broken = await world.writeJson("missing-cluster.json", { ...world.clouds, aws });
    const ran = await devsimClouds(["check", "--json", "--clouds-file", broken], world.env, world.dir);
    expect(ran.code).toBe(1);
    const rows = JSON.parse(ran.stdout) as CloudCheck[];
    expect(rows.filter((row) => !row.ok)).toEqual([
      {
        cloud: "aws",
        adapter: "ecs",
        target: "aws us-east-1 (cluster gone)",
        ok: false,
        problem: "cluster gone does not exist in us-east-1",
        fix: expect.stringContaining("aws ecs create-cluster --cluster-name gone --region us-east-1"),
      },
    ]);
    expect(new Set(rows.map((row) => row.cloud))).toEqual(new Set(["aws", "azure", "gcp", "digitalocean"]));
  });

  it("keeps a cloud on the simulator with DEVSIM_<CLOUD>_ADAPTER=sim, and checks only the others", async () => {
    const env = {
      ...world.env,
      DEVSIM_DIGITALOCEAN_ADAPTER: "sim",
      DIGITALOCEAN_ACCESS_TOKEN: "dop_v1_wrong",
    };
    const ran = await devsimClouds(["check", "--clouds-file", file], env, world.dir);
    expect(linesOf(ran.stdout, "digitalocean")).toEqual([
      expect.stringMatching(/^digitalocean +sim +simulated \(DEVSIM_DIGITALOCEAN_ADAPTER=sim\) +ok$/),
    ]);
    expect(ran.code).toBe(0);
  });
});

describe("devsim clouds check, without a configuration or with a bad one", () => {
  it("says every cloud is simulated and how to configure one, and exits 0", async () => {
    const empty = join(world.dir, "empty");
    await mkdir(empty, { recursive: true });
    const ran = await devsimClouds(["check"], { PATH: process.env.PATH ?? "" }, empty);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain("every cloud (aws, azure, gcp, digitalocean) is simulated");
    expect(ran.stdout).toContain("docs/clouds/README.md");
  });

  it("reads devsim.clouds.json from the working directory when nothing names a file", async () => {
    const ran = await devsimClouds(["check", "--json"], world.env, world.dir);
    expect(ran.code).toBe(0);
    const rows = JSON.parse(ran.stdout) as CloudCheck[];
    expect(rows.find((row) => row.cloud === "aws")).toMatchObject({ adapter: "ecs", ok: true });
  });

  it("exits 2 with one line naming the JSON path of each problem, and no stack trace", async () => {
    const bad = await world.writeJson("bad.json", {
      aws: {
        ...ecsOf(world),
        targets: [{ region: "us-east-1", subnets: ["subnet-0a1b2c3d"], urlPattern: "x" }],
      },
      gcp: { adapter: "aks" },
      digitalocean: { adapter: "doks", regions: ["fra1"], token: "dop_v1_secret" },
    });
    const ran = await devsimClouds(["check", "--clouds-file", bad], world.env, world.dir);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe("");
    const lines = ran.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^devsim: .*bad\.json: /);
    expect(lines[0]).toContain("aws.targets.0.cluster: Required (region us-east-1)");
    expect(lines[0]).toContain("aws.targets.0.urlPattern: ");
    expect(lines[0]).toContain('gcp.adapter: must be "sim" or "gke"');
    expect(lines[0]).toContain("digitalocean.token: a token does not belong in the file");
    expect(lines[0]).not.toContain("dop_v1_secret");
  });

  it("exits 2 for a file that is not there, a file that is not JSON, and an unknown flag", async () => {
    const notJson = join(world.dir, "not.json");
    await writeFile(notJson, "{ aws: }");
    const cases = [
      [
        ["check", "--clouds-file", join(world.dir, "absent.json")],
        /absent\.json \(--clouds-file\): no such file$/,
      ],
      [["check", "--clouds-file", notJson], /not\.json: not valid JSON: /],
      [["check", "--bogus"], /Unknown option '--bogus'/],
      [["inspect"], /unknown clouds command 'inspect'/],
    ] as const;
    for (const [args, message] of cases) {
      const ran = await devsimClouds(args, world.env, world.dir);
      expect(ran.code, args.join(" ")).toBe(2);
      expect(ran.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(ran.stderr.trimEnd()).toMatch(message);
    }
  });
});

/** The world's ECS configuration. */
const ecsOf = (w: CloudWorld) => {
  const aws = w.clouds.aws;
  if (aws?.adapter !== "ecs") throw new Error("the world configures ECS");
  return aws;
};

/** The one ECS target of the world's configuration. */
const targetOf = (w: CloudWorld) => {
  const [target] = ecsOf(w).targets;
  if (!target) throw new Error("the world configures one ECS target");
  return target;
};
