import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cloud } from "#core";
import { startTraffic, type Traffic } from "#sim";
import type { CloudsFileInput } from "../../packages/config/clouds/schema.ts";
import { type DataPlane, startDataPlane } from "../clouds/data-plane.ts";
import { type CloudWorld, type KubernetesCloud, startCloudWorld } from "../clouds/world.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { type DevsimProcess, eventually, spawnDevsim } from "../support/devsim-process.ts";
import {
  callJson,
  FAST_HEALTH_CHECK,
  FAST_HEALTH_INTERVAL_S,
  type RolloutJson,
} from "../support/json-api.ts";
import { routerAttempts } from "../support/router-metrics.ts";

// The canary and the region failover of the other e2e tests, with no simulated cloud: every target
// is on the ECS, AKS, GKE and DOKS fakes at once, driven by one `devsim up` through its real
// adapters, reconciler, router and health scheduler. The backends the router and the health checks
// reach are the data plane's fronts, which serve a revision only while the fake cloud runs it ready.
// Failover is within a cloud: ECS has two regions, so us-east-1's share goes to us-west-2.

const REGIONS = {
  aws: ["us-east-1", "us-west-2"],
  azure: ["westeurope"],
  gcp: ["europe-west1"],
  digitalocean: ["fra1"],
} as const satisfies Record<Cloud, readonly string[]>;
const KUBERNETES: readonly KubernetesCloud[] = ["azure", "gcp", "digitalocean"];
const TARGETS = Object.entries(REGIONS).flatMap(([cloud, regions]) =>
  regions.map((region) => ({ cloud: cloud as Cloud, region })),
);
const SHARE = 100 / TARGETS.length;

const INTERVAL_S = FAST_HEALTH_INTERVAL_S;
const HEALTH_CHECK = FAST_HEALTH_CHECK;

/** The base URL pattern of a region's front: the region in the path lets the front catch a misplaced URL. */
const pattern = (plane: DataPlane, cloud: Cloud, region: string): string =>
  `${plane.urlOf(cloud, region)}/{region}/{workload}/r{revision}`;

/** The world's clouds file with every deployment's URL at its region's front. */
const cloudsThrough = (world: CloudWorld, plane: DataPlane): CloudsFileInput => {
  const { aws, azure, gcp, digitalocean } = world.clouds;
  if (aws?.adapter !== "ecs" || azure?.adapter !== "aks" || gcp?.adapter !== "gke") {
    throw new Error("the world configures ECS, AKS and GKE");
  }
  if (digitalocean?.adapter !== "doks") throw new Error("the world configures DOKS");
  // One cluster per Kubernetes cloud, so a pattern per cloud is a pattern per region.
  const endpointPattern = (cloud: KubernetesCloud): string => pattern(plane, cloud, REGIONS[cloud][0]);
  return {
    aws: { ...aws, targets: aws.targets.map((t) => ({ ...t, urlPattern: pattern(plane, "aws", t.region) })) },
    azure: { ...azure, kubernetes: { ...azure.kubernetes, endpointPattern: endpointPattern("azure") } },
    gcp: { ...gcp, kubernetes: { ...gcp.kubernetes, endpointPattern: endpointPattern("gcp") } },
    digitalocean: {
      ...digitalocean,
      kubernetes: { ...digitalocean.kubernetes, endpointPattern: endpointPattern("digitalocean") },
    },
  };
};

let world: CloudWorld;
let db: TestDatabase;
let plane: DataPlane;
let running: DevsimProcess;
let traffic: Traffic | undefined;

beforeAll(async () => {
  [world, db] = await Promise.all([
    startCloudWorld({ awsRegions: REGIONS.aws, apiServerPerCluster: true }),
    createTestDatabase(),
  ]);
  plane = await startDataPlane(world, REGIONS, HEALTH_CHECK.path);
  const file = await world.writeJson("devsim.clouds.json", cloudsThrough(world, plane));
  running = await spawnDevsim(["--no-demo", "--database-url", db.url, "--clouds-file", file], {
    env: world.env,
  });
}, 60_000);
afterEach(async () => {
  await traffic?.stop();
  traffic = undefined;
  // A test that fails mid-outage must not leave the region out for the next one.
  for (const { cloud, region } of plane?.fronts ?? []) await plane.restore(cloud, region);
});
afterAll(async () => {
  await running?.stop("SIGKILL").catch(() => {});
  await Promise.all([plane?.close(), world?.close(), db?.drop()]);
});

interface HealthJson {
  targets: { cloud: string; region: string; status: string; weight: number }[];
}

const call = <T>(method: string, path: string, body?: unknown) =>
  callJson<T>(running.apiUrl, method, path, body);

const rollout = async (id: string) => (await call<RolloutJson>("GET", `/v1/rollouts/${id}`)).json;
const health = async (name: string) =>
  (await call<HealthJson>("GET", `/v1/workloads/${name}/health`)).json.targets;

/** Creates a workload on every target, waits for its first rollout and for every target to be healthy. */
const workloadEverywhere = async (name: string, replicas: number, strategy: unknown): Promise<void> => {
  const created = await call<{ rollout: { id: string } }>("POST", "/v1/workloads", {
    name,
    image: `registry.example.com/${name}:1`,
    port: 8080,
    healthCheck: HEALTH_CHECK,
    targets: TARGETS.map((t) => ({ ...t, replicas })),
    strategy,
  });
  expect(created.status).toBe(201);
  const first = await eventually(
    async () => {
      const r = await rollout(created.json.rollout.id);
      return r.status === "progressing" ? null : r;
    },
    30_000,
    `first rollout of ${name}`,
  );
  expect(first.status, first.message ?? "").toBe("succeeded");
  await eventually(
    async () => {
      const targets = await health(name);
      return targets.length === TARGETS.length && targets.every((t) => t.status === "healthy");
    },
    15_000,
    `every target of ${name} healthy`,
  );
};

const share = (r: RolloutJson, revision: number): number =>
  Math.round(r.weights.filter((w) => w.revision === revision).reduce((sum, w) => sum + w.weight, 0));

/** The live ECS service of a revision in a region, from the fake's own records. */
const ecsService = (region: string, workload: string, revision: number) =>
  world.ecs.service(region, "devsim", `devsim-${workload}-r${revision}`);

const deployment = (cloud: KubernetesCloud, workload: string, revision: number) =>
  world.kubes[cloud].object("Deployment", `devsim-${workload}`, `${workload}-r${revision}`) as
    | {
        spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
        status: { readyReplicas?: number };
      }
    | undefined;

const serviceOf = (cloud: KubernetesCloud, workload: string, revision: number) =>
  world.kubes[cloud].object("Service", `devsim-${workload}`, `${workload}-r${revision}`);

/** Router attempts to one region of a workload, from the API's /metrics. */
const attemptsTo = async (workload: string, cloud: string, region: string): Promise<number> =>
  routerAttempts(await (await fetch(`${running.apiUrl}/metrics`)).text(), { workload, cloud, region });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("devsim up with every target on the real clouds' fakes", () => {
  it("promotes a canary to 100% through every step, and each cloud runs revision 2 and drops revision 1", async () => {
    const name = "shop";
    // Both revisions fail one request in a hundred, so the judge compares like with like.
    plane.behave(name, 1, { errorRate: 0.01 });
    plane.behave(name, 2, { errorRate: 0.01 });
    await workloadEverywhere(name, 1, {
      type: "canary",
      steps: [
        { setWeight: 20 },
        { analysis: { durationSeconds: 3 } },
        { setWeight: 50 },
        { analysis: { durationSeconds: 3 } },
      ],
      analysis: { minRequests: 30, onInconclusive: "extend" },
    });
    traffic = startTraffic({ url: `${running.routerUrl}/w/${name}/`, ratePerSecond: 120, concurrency: 32 });

    const started = await call<RolloutJson>("POST", `/v1/workloads/${name}/rollouts`, {
      image: `registry.example.com/${name}:2`,
    });
    expect(started.status).toBe(202);
    const shares: number[] = [];
    const done = await eventually(
      async () => {
        const r = await rollout(started.json.id);
        const now = share(r, 2);
        if (shares.at(-1) !== now) shares.push(now);
        return r.status === "progressing" ? null : r;
      },
      40_000,
      "the canary to finish",
    );
    expect(done.status, done.message ?? "").toBe("succeeded");
    expect(done.currentStep).toBe(done.steps.length);
    // Polled every 100 ms, each weight is seen: the analysis steps hold 20 and 50 for seconds.
    expect(shares.filter((s) => s > 0)).toEqual([20, 50, 100]);
    // Each analysis judged its window from the start and passed it; none looked before it opened.
    expect(done.analysis.filter((a) => a.verdict === "pass")).toHaveLength(2);
    expect(done.analysis.map((a) => a.verdict)).not.toContain("error");
    expect(share(done, 1)).toBe(0);

    // Users were served by revision 2 in every region, through each cloud's front.
    const served = plane.served(name);
    for (const { cloud, region } of TARGETS) expect(served[`${cloud}/${region}/2`] ?? 0).toBeGreaterThan(0);
    const stats = await traffic.stop();
    traffic = undefined;
    // Every request was answered by a revision: its own planned failures, never the router's.
    expect(stats.failed).toBe(0);
    expect(stats.byStatus["200"]).toBeGreaterThan(0);
    for (const status of Object.keys(stats.byStatus)) expect(["200", "500"]).toContain(status);

    // ECS: a task definition and a service of revision 2 per region; revision 1's service scaled to 0 and deleted.
    for (const region of REGIONS.aws) {
      const [definition] = world.ecs.taskDefinitions(region, `devsim-${name}-r2`);
      expect(definition?.image).toBe(`registry.example.com/${name}:2`);
      expect(ecsService(region, name, 2)).toMatchObject({
        status: "ACTIVE",
        desiredCount: 1,
        runningCount: 1,
      });
      await eventually(
        async () => ecsService(region, name, 1)?.status !== "ACTIVE",
        10_000,
        `revision 1 deleted in aws/${region}`,
      );
      expect(ecsService(region, name, 1)).toMatchObject({ desiredCount: 0 });
    }
    const deleted = world.ecs.requests.filter(
      (r) => r.operation === "DeleteService" && JSON.stringify(r.body).includes(`devsim-${name}-r1`),
    );
    expect(new Set(deleted.map((r) => r.region))).toEqual(new Set(REGIONS.aws));

    // Kubernetes: revision 2's Deployment and Service in each cluster; revision 1's both gone.
    for (const cloud of KUBERNETES) {
      const d = deployment(cloud, name, 2);
      expect(d?.spec.template.spec.containers[0]?.image).toBe(`registry.example.com/${name}:2`);
      expect(d?.spec.replicas).toBe(1);
      expect(serviceOf(cloud, name, 2)).toBeDefined();
      await eventually(
        async () => deployment(cloud, name, 1) === undefined && serviceOf(cloud, name, 1) === undefined,
        10_000,
        `revision 1 deleted in ${cloud}`,
      );
    }

    // The URLs the adapters gave are the regions' fronts, and those follow the clouds: revision 2
    // answers where it runs, revision 1 nowhere now that every cloud removed it.
    const routed = await call<{
      backends: { cloud: Cloud; region: string; revision: number; url: string }[];
    }>("GET", `/v1/workloads/${name}/traffic`);
    expect(routed.json.backends).toHaveLength(TARGETS.length);
    for (const b of routed.json.backends) {
      expect(b.url).toBe(`${plane.urlOf(b.cloud, b.region)}/${b.region}/${name}/r2`);
      expect((await fetch(`${b.url}${HEALTH_CHECK.path}`)).status).toBe(200);
      const gone = `${plane.urlOf(b.cloud, b.region)}/${b.region}/${name}/r1${HEALTH_CHECK.path}`;
      expect((await fetch(gone)).status).toBe(503);
    }
  }, 90_000);

  it("fails aws/us-east-1 over to us-west-2 without failed requests, scales us-west-2 up through ECS, and brings the region back", async () => {
    const name = "pay";
    const replicas = 2;
    await workloadEverywhere(name, replicas, { type: "rolling" });
    traffic = startTraffic({ url: `${running.routerUrl}/w/${name}/`, ratePerSecond: 150, concurrency: 32 });
    await sleep(1_500);
    expect(traffic.stats().completed).toBeGreaterThan(100);
    expect(ecsService("us-west-2", name, 1)?.desiredCount).toBe(replicas);

    await plane.cut("aws", "us-east-1");
    const outageAt = Date.now();
    const inFlightAtOutage = traffic.stats().inFlight;

    const failedOver = await eventually(
      async () => {
        const dead = (await health(name)).find((t) => t.cloud === "aws" && t.region === "us-east-1");
        return dead?.status === "unhealthy" && dead.weight === 0 ? Date.now() : null;
      },
      10_000,
      "aws/us-east-1 failed over",
    );
    // Two failed probes and the pass that publishes, with room for a busy machine.
    expect(failedOver - outageAt).toBeLessThanOrEqual(2 * INTERVAL_S * 1000 + 3_000);
    const targets = await health(name);
    const west = targets.find((t) => t.cloud === "aws" && t.region === "us-west-2");
    // Same cloud first: us-west-2 takes all of us-east-1's share; the other clouds keep theirs.
    expect(west?.weight).toBeCloseTo(2 * SHARE, 1);
    for (const t of targets.filter((t) => t.cloud !== "aws")) expect(t.weight).toBeCloseTo(SHARE, 1);

    // The survivor runs twice the share on twice the tasks, asked of ECS itself.
    const grown = await eventually(
      async () => {
        const s = ecsService("us-west-2", name, 1);
        return s && s.desiredCount === 2 * replicas && s.runningCount === 2 * replicas ? s : null;
      },
      10_000,
      "aws/us-west-2 scaled up",
    );
    expect(grown.status).toBe("ACTIVE");
    for (const cloud of KUBERNETES) expect(deployment(cloud, name, 1)?.spec.replicas).toBe(replicas);

    // From two intervals on, the router sends nothing to the cut region.
    await sleep(Math.max(0, outageAt + 2 * INTERVAL_S * 1000 - Date.now()));
    const attemptsThen = await attemptsTo(name, "aws", "us-east-1");
    const servedWest = plane.served(name)["aws/us-west-2/1"] ?? 0;
    await sleep(2_000);
    expect(await attemptsTo(name, "aws", "us-east-1")).toBe(attemptsThen);
    expect(plane.served(name)["aws/us-west-2/1"] ?? 0).toBeGreaterThan(servedWest);
    // Connections refused or dropped are retried on another backend: nobody saw a failure, bar the
    // requests in flight on the region's dropped connections at the cut.
    const during = traffic.stats();
    expect(during.failed).toBeLessThanOrEqual(inFlightAtOutage);
    expect(Object.keys(during.byStatus)).toEqual(["200"]);

    // Restored: the region climbs back through the recovery ladder and takes its share again.
    await plane.restore("aws", "us-east-1");
    const seen: number[] = [];
    await eventually(
      async () => {
        const back = (await health(name)).find((t) => t.cloud === "aws" && t.region === "us-east-1");
        if (back && seen.at(-1) !== back.weight) seen.push(back.weight);
        return back?.status === "healthy" && Math.abs(back.weight - SHARE) < 0.01;
      },
      20_000,
      "aws/us-east-1 back at its share",
    );
    expect(seen.some((w) => w > 0 && w < SHARE)).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    const servedEast = plane.served(name)["aws/us-east-1/1"] ?? 0;
    await eventually(
      async () => (plane.served(name)["aws/us-east-1/1"] ?? 0) > servedEast,
      5_000,
      "requests served in aws/us-east-1 again",
    );
    expect(await attemptsTo(name, "aws", "us-east-1")).toBeGreaterThan(attemptsThen);
    // Every target back at its share: the survivor returns to its own count.
    await eventually(
      async () => ecsService("us-west-2", name, 1)?.desiredCount === replicas,
      10_000,
      "aws/us-west-2 scaled back",
    );

    const final = await traffic.stop();
    traffic = undefined;
    expect(final.failed).toBeLessThanOrEqual(inFlightAtOutage);
    expect(Object.keys(final.byStatus)).toEqual(["200"]);
  }, 90_000);
});
