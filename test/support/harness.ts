import { type ApiDeps, createApi, createApiMetrics } from "#api";
import { type Logger, silentLogger } from "#core";
import { type CommandDeps, createReconciler, type Reconciler, type ReconcilerOptions } from "#engine";
import { memoryStore, type RoutingTables } from "#kv";
import { type SimServer, startSimServer } from "#sim";
import { countRolloutsByStatus, migrate } from "#store";
import { controlPlaneFor } from "./control-plane.ts";
import { createTestDatabase } from "./database.ts";

/** A control plane without HTTP: real Postgres, the real simulated world, the sim adapters. */
export interface Harness {
  readonly deps: CommandDeps;
  readonly sim: SimServer;
  readonly routing: RoutingTables;
  readonly databaseUrl: string;
  reconciler(options?: ReconcilerOptions): Reconciler;
  /** Runs reconcile passes until `done` holds; fails after `timeoutMs`. */
  drive<T>(
    done: () => Promise<T | null | undefined | false>,
    options?: { timeoutMs?: number; reconciler?: Reconciler },
  ): Promise<T>;
  close(): Promise<void>;
}

export const startHarness = async (log: Logger = silentLogger): Promise<Harness> => {
  const db = await createTestDatabase();
  let sim: SimServer;
  try {
    await migrate(db.sql);
    sim = await startSimServer({ startupMs: 20 });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const deps: CommandDeps = controlPlaneFor({ sql: db.sql, simUrl: sim.url, kv: memoryStore(), log });
  const { routing } = deps;

  const reconciler = (options: ReconcilerOptions = {}) => createReconciler(deps, { drainMs: 20, ...options });
  const main = reconciler();
  return {
    deps,
    sim,
    routing,
    databaseUrl: db.url,
    reconciler,
    drive: async (done, { timeoutMs = 15_000, reconciler: r = main } = {}) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await done();
        if (value !== null && value !== undefined && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
        await r.reconcileOnce();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: async () => {
      await sim.close();
      await db.drop();
    },
  };
};

/** The API over a harness's control plane, ready unless `overrides` say otherwise. */
export const harnessApi = (h: Harness, overrides: Partial<ApiDeps> = {}): ReturnType<typeof createApi> =>
  createApi({
    ...h.deps,
    metrics: createApiMetrics(() => countRolloutsByStatus(h.deps.sql)),
    ready: async () => true,
    ...overrides,
  });
