import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi, createApiMetrics } from "#api";
import { createBackup, folderSink, type Manifest, restoreBackup } from "#backup";
import { AnalysisSettings } from "#core";
import { type CommandDeps, createReconciler, type Reconciler } from "#engine";
import { countRolloutsByStatus } from "#store";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { workloadInput } from "../support/fixtures.ts";
import { type Harness, startHarness } from "../support/harness.ts";

type Api = ReturnType<typeof createApi>;

interface RolloutJson {
  id: string;
  status: string;
  toRevision: number;
}
interface EventPage {
  events: { id: number; type: string }[];
  next: number | null;
}

const apiFor = (deps: CommandDeps): Api =>
  createApi({
    ...deps,
    metrics: createApiMetrics(() => countRolloutsByStatus(deps.sql)),
    ready: async () => true,
  });

/** A request through an app; the status is part of what two APIs must agree on. */
const send = async <T>(api: Api, method: string, path: string, body?: unknown) => {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const res = await api.request(path, init);
  return { status: res.status, json: (await res.json()) as T };
};

/** Every event of a rollout, fetched in small pages so the `next` cursor is exercised too. */
const allEventPages = async (api: Api, id: string) => {
  const pages: { status: number; json: EventPage }[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const page: { status: number; json: EventPage } = await send<EventPage>(
      api,
      "GET",
      `/v1/rollouts/${id}/events?limit=4&after=${after}`,
    );
    pages.push(page);
    after = page.status === 200 ? page.json.next : null;
  }
  return pages;
};

const targets = [
  { cloud: "aws" as const, region: "us-east-1", replicas: 1 },
  { cloud: "gcp" as const, region: "europe-west1", replicas: 2 },
];
// A canary whose analysis sees no requests: it is judged inconclusive and rolled back,
// so the history holds a failed rollout with analysis results beside the successful ones.
const quietCanary = {
  type: "canary" as const,
  steps: [{ setWeight: 20 }, { analysis: { durationSeconds: 1 } }],
  analysis: AnalysisSettings.parse({ onInconclusive: "fail" }),
  progressDeadlineSeconds: 600,
};

let h: Harness;
let source: Api;
let restoredDb: TestDatabase;
let restoredDeps: CommandDeps;
let restored: Api;
let restoredReconciler: Reconciler;
let dir: string;
let manifest: Manifest;

const settle = (api: Api, id: string, reconciler?: Reconciler) =>
  h.drive(
    async () => {
      const r = await send<RolloutJson>(api, "GET", `/v1/rollouts/${id}`);
      return r.json.status !== "progressing" && r.json.status !== "paused" ? r.json : null;
    },
    reconciler ? { reconciler } : {},
  );

beforeAll(async () => {
  h = await startHarness();
  source = apiFor(h.deps);

  const web = await send<{ rollout: RolloutJson }>(
    source,
    "POST",
    "/v1/workloads",
    workloadInput("web", { targets }),
  );
  expect(web.status).toBe(201);
  expect((await settle(source, web.json.rollout.id)).status).toBe("succeeded");
  for (const image of ["registry.example.com/app:2", "registry.example.com/app:3"]) {
    const next = await send<RolloutJson>(source, "POST", "/v1/workloads/web/rollouts", { image });
    expect(next.status).toBe(202);
    expect((await settle(source, next.json.id)).status).toBe("succeeded");
  }

  const quiet = await send<{ rollout: RolloutJson }>(
    source,
    "POST",
    "/v1/workloads",
    workloadInput("quiet", { targets, strategy: quietCanary }),
  );
  expect((await settle(source, quiet.json.rollout.id)).status).toBe("succeeded");
  const canary = await send<RolloutJson>(source, "POST", "/v1/workloads/quiet/rollouts", {
    image: "registry.example.com/app:2",
  });
  expect((await settle(source, canary.json.id)).status).toBe("rolled_back");

  dir = await mkdtemp(join(tmpdir(), "devsim-restored-api-"));
  const sink = folderSink(dir);
  manifest = await createBackup({ sql: h.deps.sql, sink });
  restoredDb = await createTestDatabase();
  await restoreBackup({ sink, id: manifest.id, targetUrl: restoredDb.url });
  // The clouds, routers and KV outlive the lost database: only Postgres is replaced.
  restoredDeps = { ...h.deps, sql: restoredDb.sql };
  restored = apiFor(restoredDeps);
  restoredReconciler = createReconciler(restoredDeps, { drainMs: 20 });
}, 60_000);

afterAll(async () => {
  await restoredDb?.drop();
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The GETs a client reads a control plane through, for every workload and rollout it holds. */
const readEverything = async (api: Api) => {
  const out: Record<string, unknown> = {};
  const list = await send<{ workloads: { name: string }[] }>(api, "GET", "/v1/workloads");
  out["/v1/workloads"] = list;
  for (const { name } of list.json.workloads) {
    for (const path of [`/v1/workloads/${name}`, `/v1/workloads/${name}/traffic`]) {
      out[path] = await send(api, "GET", path);
    }
    const history = await send<{ rollouts: RolloutJson[] }>(api, "GET", `/v1/workloads/${name}/rollouts`);
    out[`/v1/workloads/${name}/rollouts`] = history;
    for (const { id } of history.json.rollouts) {
      out[`/v1/rollouts/${id}`] = await send(api, "GET", `/v1/rollouts/${id}`);
      out[`/v1/rollouts/${id}/events`] = await allEventPages(api, id);
    }
  }
  return out;
};

describe("a control plane restored from a backup", () => {
  it("serves the same workloads, revisions, history, rollouts and events as the original", async () => {
    const original = await readEverything(source);
    // The history is real: three revisions of web, a rolled-back canary with its analysis.
    const web = original["/v1/workloads/web/rollouts"] as { json: { rollouts: RolloutJson[] } };
    expect(web.json.rollouts.map((r) => [r.toRevision, r.status])).toEqual([
      [3, "succeeded"],
      [2, "succeeded"],
      [1, "succeeded"],
    ]);
    const quiet = original["/v1/workloads/quiet/rollouts"] as { json: { rollouts: RolloutJson[] } };
    const canaryId = quiet.json.rollouts[0]?.id ?? "";
    expect(original[`/v1/rollouts/${canaryId}`]).toMatchObject({
      status: 200,
      json: {
        status: "rolled_back",
        analysis: expect.arrayContaining([expect.objectContaining({ verdict: "inconclusive" })]),
      },
    });
    const events = original[`/v1/rollouts/${canaryId}/events`] as { json: EventPage }[];
    expect(events.length).toBeGreaterThan(1);
    expect(Object.keys(original)).toHaveLength(1 + 2 * 3 + 5 * 2);

    // Nothing is process-local in these answers: they must match to the byte, statuses included.
    expect(await readEverything(restored)).toEqual(original);
  });

  it("keeps working: a new rollout succeeds, continuing the restored ids and revisions", async () => {
    const [before] = await restoredDb.sql<{ maxEvent: string; rollouts: string[] }[]>`
      SELECT (SELECT max(id)::text FROM events) AS "maxEvent",
             (SELECT array_agg(id::text) FROM rollouts) AS rollouts`;
    const started = await send<RolloutJson>(restored, "POST", "/v1/workloads/web/rollouts", {
      image: "registry.example.com/app:4",
    });
    expect(started.status).toBe(202);
    expect(started.json.toRevision).toBe(4);
    expect(before?.rollouts).not.toContain(started.json.id);
    expect((await settle(restored, started.json.id, restoredReconciler)).status).toBe("succeeded");

    const pages = await allEventPages(restored, started.json.id);
    const ids = pages.flatMap((p) => p.json.events.map((e) => e.id));
    expect(pages.flatMap((p) => p.json.events.map((e) => e.type))).toContain("rollout_succeeded");
    for (const id of ids) expect(BigInt(id)).toBeGreaterThan(BigInt(before?.maxEvent ?? "0"));

    const traffic = await send<{ backends: { revision: number; weight: number }[] }>(
      restored,
      "GET",
      "/v1/workloads/web/traffic",
    );
    expect(traffic.json.backends.filter((b) => b.weight > 0).map((b) => b.revision)).toEqual([4, 4]);
    const history = await send<{ rollouts: RolloutJson[] }>(restored, "GET", "/v1/workloads/web/rollouts");
    expect(history.json.rollouts.map((r) => r.toRevision)).toEqual([4, 3, 2, 1]);
    // The original database is untouched by what the restored one did.
    const original = await send<{ rollouts: RolloutJson[] }>(source, "GET", "/v1/workloads/web/rollouts");
    expect(original.json.rollouts.map((r) => r.toRevision)).toEqual([3, 2, 1]);
  });
});
