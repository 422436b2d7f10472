import { access, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";

let running: DevsimProcess | undefined;
const dataDirs: string[] = [];

afterEach(async () => {
  await running?.stop("SIGKILL").catch(() => {});
  running = undefined;
});
afterAll(async () => {
  for (const dir of dataDirs) {
    // A killed devsim's embedded Postgres shuts itself down cleanly, writing as it goes, and drops
    // its lock last: removing the folder before that races its writes.
    await eventually(
      async () =>
        !(await access(join(dir, "pgdata.lock")).then(
          () => true,
          () => false,
        )),
      10_000,
      "the embedded Postgres to let go of its data",
    );
    await rm(dir, { recursive: true, force: true });
  }
});

/** Resident memory of a process and all its descendants (the embedded Postgres runs in a child), in MB. */
const residentMb = async (pid: number): Promise<number> => {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const own = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
  const tasks = await readdir(`/proc/${pid}/task`);
  const children = (
    await Promise.all(tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, "utf8").catch(() => "")))
  )
    .join(" ")
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const sizes = await Promise.all(children.map(residentMb));
  return sizes.reduce((sum, mb) => sum + mb, own);
};

describe("devsim up with its embedded defaults and the demo", () => {
  it("is ready within 5 s, serves the demo from all four clouds, stays small, and keeps state across restarts", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "devsim-demo-"));
    dataDirs.push(dataDir);
    const launched = Date.now();
    running = await spawnDevsim(["--data-dir", dataDir, "--traffic-rate", "20"]);
    const base = running.apiUrl;
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, 5_000, "ready");
    expect(Date.now() - launched).toBeLessThan(5_000);

    const router = running.routerUrl;
    const clouds = await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 60; i++) {
          const res = await fetch(`${router}/w/hello/`);
          const body = (await res.json()) as { cloud?: string; workload?: string };
          if (res.status === 200 && body.workload === "hello" && body.cloud) seen.add(body.cloud);
        }
        return seen.size === 4 ? seen : null;
      },
      20_000,
      "demo answered from all four clouds",
    );
    expect([...clouds].sort()).toEqual(["aws", "azure", "digitalocean", "gcp"]);

    const traffic = (await (await fetch(`${base}/v1/workloads/hello/traffic`)).json()) as {
      backends: unknown[];
    };
    expect(traffic.backends).toHaveLength(8);
    const memory = await residentMb(running.pid);
    expect(memory).toBeGreaterThan(20);
    expect(memory).toBeLessThan(400);

    await eventually(
      async () => {
        const history = (await (await fetch(`${base}/v1/workloads/hello/rollouts`)).json()) as {
          rollouts: { status: string }[];
        };
        return history.rollouts[0]?.status === "succeeded";
      },
      20_000,
      "the demo's first rollout to succeed",
    );
    expect(await running.stop("SIGINT")).toBe(0);
    running = await spawnDevsim(["--data-dir", dataDir, "--traffic-rate", "0"]);
    const after = (await (await fetch(`${running.apiUrl}/v1/workloads/hello/rollouts`)).json()) as {
      rollouts: { status: string; toRevision: number }[];
    };
    expect(after.rollouts).toHaveLength(1);
    expect(after.rollouts[0]).toMatchObject({ status: "succeeded", toRevision: 1 });
    expect(running.output()).not.toMatch(/demo workload created/);
  });
});
