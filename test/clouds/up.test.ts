import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";
import { workloadInput } from "../support/fixtures.ts";
import { callJson } from "../support/json-api.ts";
import { type CloudWorld, startCloudWorld } from "./world.ts";

let world: CloudWorld;
let db: TestDatabase;
let running: DevsimProcess | undefined;

beforeAll(async () => {
  [world, db] = await Promise.all([startCloudWorld(), createTestDatabase()]);
});
afterAll(async () => {
  await running?.stop("SIGKILL").catch(() => {});
  await Promise.all([world?.close(), db?.drop()]);
});

const post = (base: string, path: string, body: unknown) =>
  callJson<Record<string, unknown>>(base, "POST", path, body);

describe("devsim up --clouds-file", () => {
  it("deploys to the configured cloud through its adapter, simulates the rest, and accepts only served regions", async () => {
    const file = await world.writeJson("doks-only.json", { digitalocean: world.clouds.digitalocean });
    running = await spawnDevsim(["--database-url", db.url, "--clouds-file", file], { env: world.env });
    const base = running.apiUrl;

    // nyc3 is a simulator region of DigitalOcean, but the file gives DigitalOcean fra1 only.
    const refused = await post(base, "/v1/workloads", {
      ...workloadInput("elsewhere"),
      targets: [{ cloud: "digitalocean", region: "nyc3", replicas: 1 }],
    });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({
      error: { code: "invalid_input", details: { field: "targets.0.region", allowed: ["fra1"] } },
    });

    const created = await post(base, "/v1/workloads", {
      ...workloadInput("shop"),
      targets: [
        { cloud: "digitalocean", region: "fra1", replicas: 1 },
        { cloud: "aws", region: "us-east-1", replicas: 1 },
      ],
    });
    expect(created.status).toBe(201);
    await eventually(
      async () => world.kube.object("Deployment", "devsim-shop", "shop-r1"),
      30_000,
      "the DOKS cluster to get the Deployment",
    );
    expect(world.digitalocean.requests.some((r) => r.path.endsWith("/credentials"))).toBe(true);
    // aws stayed simulated: the ECS fake heard nothing.
    expect(world.ecs.requests).toEqual([]);

    // Some clouds are real, so no demo workload was made to deploy to them.
    const workloads = (await (await fetch(`${base}/v1/workloads`)).json()) as {
      workloads?: { name: string }[];
    };
    expect(JSON.stringify(workloads)).not.toContain('"hello"');
    expect(running.output()).toContain("no demo workload: some clouds are real");
  });

  it("refuses to start on a bad clouds file, naming the field", async () => {
    const file = await world.writeJson("bad-up.json", { gcp: { adapter: "gke" } });
    const failed = spawnDevsim(["--database-url", db.url, "--clouds-file", file], { env: world.env });
    await expect(failed).rejects.toThrow(/gcp\.projectId: Required/);
  });
});
