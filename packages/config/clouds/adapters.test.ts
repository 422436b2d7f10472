import type { AccessToken } from "@azure/identity";
import { OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevsimError, SIM_REGIONS } from "#core";
import { type SimServer, startSimServer } from "#sim";
import { type CloudWorld, startCloudWorld } from "../../../test/clouds/world.ts";
import { ECS_TEST_CREDENTIALS } from "../../../test/fakes/ecs.ts";
import { buildCloudAdapters, type CloudDependencies, closeCloudAdapters } from "./adapters.ts";
import { type CloudsConfig, parseCloudsConfig } from "./load.ts";

let world: CloudWorld;
let sim: SimServer;
let dependencies: CloudDependencies;

beforeAll(async () => {
  [world, sim] = await Promise.all([startCloudWorld(), startSimServer()]);
  // The credentials the standard chains would find, handed over in-process.
  const gcp = new OAuth2Client();
  gcp.setCredentials({ access_token: world.gke.token, expiry_date: Date.now() + 3_600_000 });
  dependencies = {
    aws: { credentials: ECS_TEST_CREDENTIALS },
    azure: {
      credential: {
        getToken: async (): Promise<AccessToken> => ({
          token: world.arm.token,
          expiresOnTimestamp: Date.now() + 3_600_000,
        }),
      },
    },
    gcp: { authClient: gcp },
    digitalocean: { token: world.digitalocean.token, env: {} },
  };
});
afterAll(async () => {
  await Promise.all([world?.close(), sim?.close()]);
});

const configure = (content: unknown): Promise<CloudsConfig> =>
  parseCloudsConfig(JSON.stringify(content), "clouds.json");

describe("buildCloudAdapters", () => {
  it("gives every configured cloud its real adapter, which talks to that cloud's API", async () => {
    const adapters = await buildCloudAdapters(await configure(world.clouds), { dependencies });
    try {
      const before = {
        ecs: world.ecs.requests.length,
        arm: world.arm.requests.length,
        gke: world.gke.requests.length,
        digitalocean: world.digitalocean.requests.length,
      };
      expect(await adapters.aws.regions()).toEqual([{ region: "us-east-1", available: true }]);
      expect(await adapters.azure.regions()).toEqual([{ region: "westeurope", available: true }]);
      expect(await adapters.gcp.regions()).toEqual([{ region: "europe-west1", available: true }]);
      expect(await adapters.digitalocean.regions()).toEqual([{ region: "fra1", available: true }]);
      expect(world.ecs.requests.length).toBeGreaterThan(before.ecs);
      expect(world.arm.requests.length).toBeGreaterThan(before.arm);
      expect(world.gke.requests.length).toBeGreaterThan(before.gke);
      expect(world.digitalocean.requests.length).toBeGreaterThan(before.digitalocean);
      expect(adapters.aws.cloud).toBe("aws");
      expect(adapters.digitalocean.cloud).toBe("digitalocean");
    } finally {
      closeCloudAdapters(adapters);
    }
  });

  it("gives the clouds left out the simulator, and needs no real cloud's API for them", async () => {
    const adapters = await buildCloudAdapters(await configure({ aws: world.clouds.aws }), {
      simUrl: sim.url,
      dependencies,
    });
    try {
      const arm = world.arm.requests.length;
      const regions = await adapters.azure.regions();
      expect(regions.map((r) => r.region)).toEqual(SIM_REGIONS.azure);
      expect(world.arm.requests.length).toBe(arm);
      const ecs = world.ecs.requests.length;
      expect(await adapters.aws.regions()).toEqual([{ region: "us-east-1", available: true }]);
      expect(world.ecs.requests.length).toBeGreaterThan(ecs);
    } finally {
      closeCloudAdapters(adapters);
    }
  });

  it("refuses to build when a cloud is left to the simulator and there is none", async () => {
    const error = await buildCloudAdapters(await configure({ aws: world.clouds.aws }), {
      dependencies,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevsimError);
    expect(error).toMatchObject({
      code: "invalid_input",
      message:
        "no simulator for the clouds left to it (azure, gcp, digitalocean): set DEVSIM_SIM_URL, or configure them in clouds.json",
    });
  });
});
