import { afterEach, describe, expect, test } from "vitest";
import { DevsimError } from "#core";
import { type SimServer, startSimServer } from "./server.ts";

const servers: SimServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const start = async (options: Parameters<typeof startSimServer>[0] = {}): Promise<SimServer> => {
  const server = await startSimServer({ startupMs: 0, ...options });
  servers.push(server);
  return server;
};

describe("startSimServer", () => {
  test("serves the control API on a loopback ephemeral port", async () => {
    const sim = await start();
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.url).not.toMatch(/:0$/);
    const res = await fetch(`${sim.url}/v1/clouds/aws/regions`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      regions: [
        { region: "us-east-1", available: true },
        { region: "eu-west-1", available: true },
      ],
    });
  });

  test("passes world options through", async () => {
    const sim = await start({ startupMs: 60_000 });
    const { status } = await sim.world.deploy(
      { cloud: "aws", region: "us-east-1", workload: "web", revision: 1 },
      { image: "web:1", port: 80, healthPath: "/health", replicas: 1, sim: null },
    );
    expect(status.readyReplicas).toBe(0);
  });

  test("close stops the control API and every deployment, and may be called twice", async () => {
    const sim = await start();
    const { status } = await sim.world.deploy(
      { cloud: "gcp", region: "us-central1", workload: "web", revision: 1 },
      { image: "web:1", port: 80, healthPath: "/health", replicas: 1, sim: null },
    );
    // A keep-alive connection to the control API must not hold close open.
    await (await fetch(`${sim.url}/v1/deployments`)).text();
    await sim.close();
    await sim.close();
    await expect(fetch(`${sim.url}/v1/deployments`)).rejects.toThrow();
    await expect(fetch(`${status.url}/`)).rejects.toThrow();
  });

  test("close does not wait for control API calls hanging on an api-timeout fault", async () => {
    const sim = await start();
    await sim.world.addFault({ type: "api-timeout", cloud: "aws" });
    const hanging = fetch(`${sim.url}/v1/clouds/aws/regions`).then(
      (r) => r.status,
      () => "failed",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await sim.close();
    // Whether the call is cut off or let through at the last moment, it no longer hangs.
    await hanging;
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("a port in use fails with unavailable", async () => {
    const first = await start();
    const port = Number(new URL(first.url).port);
    const failure = await startSimServer({ port }).then(
      async (s) => {
        await s.close();
        return "started";
      },
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DevsimError);
    expect(failure).toMatchObject({ code: "unavailable", message: expect.stringContaining(String(port)) });
  });
});
