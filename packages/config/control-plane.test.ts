import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIM_REGIONS } from "#core";
import type { CommandDeps } from "#engine";
import { type SimServer, startSimServer } from "#sim";
import { type CloudWorld, startCloudWorld } from "../../test/clouds/world.ts";
import { deployedControlPlane } from "./control-plane.ts";

let world: CloudWorld;
let sim: SimServer;
const opened: CommandDeps[] = [];

beforeAll(async () => {
  [world, sim] = await Promise.all([startCloudWorld(), startSimServer()]);
});
afterAll(async () => {
  await Promise.all(opened.map((deps) => deps.sql.end({ timeout: 1 })));
  await Promise.all([world?.close(), sim?.close()]);
});

/** A deployed function's environment; the database and Upstash are never reached by these tests. */
const deployedEnv = (more: Record<string, string>) => ({
  DATABASE_URL: "postgres://devsim@127.0.0.1:5432/unused",
  UPSTASH_REDIS_REST_URL: "https://upstash.invalid",
  UPSTASH_REDIS_REST_TOKEN: "unused",
  DEVSIM_SIM_URL: sim.url,
  LOG_LEVEL: "silent",
  ...more,
});

const open = async (env: Record<string, string>): Promise<CommandDeps> => {
  const deps = await deployedControlPlane(env);
  opened.push(deps);
  return deps;
};

describe("deployedControlPlane", () => {
  it("reaches the clouds DEVSIM_CLOUDS_JSON configures, and the simulator at DEVSIM_SIM_URL for the rest", async () => {
    const deps = await open(
      deployedEnv({
        DEVSIM_CLOUDS_JSON: JSON.stringify({ digitalocean: world.clouds.digitalocean }),
        DIGITALOCEAN_ACCESS_TOKEN: world.digitalocean.token,
      }),
    );
    expect(deps.regions).toEqual({ ...SIM_REGIONS, digitalocean: ["fra1"] });
    const before = world.digitalocean.requests.length;
    expect(await deps.adapters.digitalocean.regions()).toEqual([{ region: "fra1", available: true }]);
    expect(world.digitalocean.requests.length).toBeGreaterThan(before);
    expect((await deps.adapters.gcp.regions()).map((r) => r.region)).toEqual(SIM_REGIONS.gcp);
  });

  it("simulates every cloud when nothing configures one, as before", async () => {
    const deps = await open(deployedEnv({}));
    expect(deps.regions).toEqual(SIM_REGIONS);
    expect((await deps.adapters.aws.regions()).map((r) => r.region)).toEqual(SIM_REGIONS.aws);
  });

  it("refuses a bad DEVSIM_CLOUDS_JSON, naming the field", async () => {
    await expect(
      deployedControlPlane(deployedEnv({ DEVSIM_CLOUDS_JSON: '{"aws":{"adapter":"ecs"}}' })),
    ).rejects.toThrow("DEVSIM_CLOUDS_JSON: aws.targets: Required");
  });
});
