import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";
import { callJson } from "../support/json-api.ts";

let db: TestDatabase;
let running: DevsimProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await running?.stop("SIGKILL").catch(() => {});
  running = undefined;
});
afterAll(async () => {
  await db?.drop();
});

interface RolloutJson {
  readonly id: string;
  readonly status: string;
  readonly currentStep: number;
  readonly steps: readonly unknown[];
}

/** Which backends answer `count` requests through the router. */
const backendsSeen = async (routerUrl: string, workload: string, count: number): Promise<Set<string>> => {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${routerUrl}/w/${workload}/`);
    await res.arrayBuffer();
    seen.add(`${res.status} ${res.headers.get("x-devsim-backend")}`);
  }
  return seen;
};

const spread = {
  image: "registry.example.com/shop/web:1",
  port: 8080,
  healthCheck: { path: "/healthz" },
  targets: [
    { cloud: "aws", region: "us-east-1", replicas: 1 },
    { cloud: "azure", region: "westeurope", replicas: 1 },
    { cloud: "gcp", region: "us-central1", replicas: 1 },
    { cloud: "digitalocean", region: "nyc3", replicas: 1 },
  ],
};

const finished = (base: string, id: string) =>
  eventually(
    async () => {
      const { json } = await callJson<RolloutJson>(base, "GET", `/v1/rollouts/${id}`);
      return json.status !== "progressing" ? json : null;
    },
    30_000,
    `rollout ${id} to finish`,
  );

describe("devsim up, end to end", () => {
  it("creates a workload, rolls it out and routes every request to the new revision", async () => {
    running = await spawnDevsim(["--no-demo", "--database-url", db.url]);
    const base = running.apiUrl;
    const created = await callJson<{ rollout: RolloutJson }>(base, "POST", "/v1/workloads", {
      name: "shop",
      ...spread,
    });
    expect(created.status).toBe(201);
    expect((await finished(base, created.json.rollout.id)).status).toBe("succeeded");

    const before = await backendsSeen(running.routerUrl, "shop", 80);
    expect([...before].sort()).toEqual([
      "200 aws/us-east-1/1",
      "200 azure/westeurope/1",
      "200 digitalocean/nyc3/1",
      "200 gcp/us-central1/1",
    ]);

    const started = await callJson<RolloutJson>(base, "POST", "/v1/workloads/shop/rollouts", {
      image: "registry.example.com/shop/web:2",
    });
    expect(started.status).toBe(202);
    expect((await finished(base, started.json.id)).status).toBe("succeeded");
    // Routers refresh their table within a second.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const after = await backendsSeen(running.routerUrl, "shop", 80);
    expect([...after].every((b) => b.startsWith("200 ") && b.endsWith("/2"))).toBe(true);
    expect(after.size).toBe(4);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/devsim_rollouts\{status="succeeded"\} 2/);
    expect(metrics).toMatch(/devsim_reconcile_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(
      /devsim_router_requests_total\{workload="shop",cloud="aws",region="us-east-1",revision="2"\} [1-9]/,
    );

    const started2 = Date.now();
    expect(await running.stop("SIGTERM")).toBe(0);
    expect(Date.now() - started2).toBeLessThan(10_000);
    running = undefined;
  });

  it("finishes a rollout after the process is killed in the middle of it", async () => {
    running = await spawnDevsim(["--no-demo", "--database-url", db.url]);
    const created = await callJson<{ rollout: RolloutJson }>(running.apiUrl, "POST", "/v1/workloads", {
      name: "crashy",
      ...spread,
      targets: spread.targets.map((t) => ({ ...t, replicas: 2 })),
    });
    await finished(running.apiUrl, created.json.rollout.id);
    const started = await callJson<RolloutJson>(running.apiUrl, "POST", "/v1/workloads/crashy/rollouts", {
      image: "registry.example.com/shop/web:2",
      sim: { latencyMs: 1 },
    });
    const base = running.apiUrl;
    // Kill it once the rollout has moved at least one target but not all of them.
    await eventually(
      async () => {
        const { json } = await callJson<RolloutJson>(base, "GET", `/v1/rollouts/${started.json.id}`);
        return json.currentStep >= 3 && json.status === "progressing";
      },
      20_000,
      "rollout to be under way",
    );
    expect(await running.stop("SIGKILL")).toBeNull();

    running = await spawnDevsim(["--no-demo", "--database-url", db.url]);
    const done = await finished(running.apiUrl, started.json.id);
    expect(done.status).toBe("succeeded");
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const seen = await eventually(
      async () => {
        const s = await backendsSeen(running?.routerUrl ?? "", "crashy", 60);
        return s.size === 4 && [...s].every((b) => b.startsWith("200 ") && b.endsWith("/2")) ? s : null;
      },
      15_000,
      "all four clouds serving revision 2",
    );
    expect(seen.size).toBe(4);
    // Two starts of devsim and the waits above add up to more than the default 30 s on a busy machine.
  }, 90_000);

  it("exits with a clear message and status 2 on a bad flag", async () => {
    await expect(spawnDevsim(["--port", "nope"], { timeoutMs: 10_000 })).rejects.toThrow(
      /devsim exited with 2:\s+devsim: --port: /,
    );
  });
});
