import { join, resolve } from "node:path";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "#analysis";
import { createApi, createApiMetrics } from "#api";
import {
  backupMetrics,
  openSink,
  runRestoreDrill,
  runScheduledBackup,
  scratchEmbedded,
  scratchOnServer,
} from "#backup";
import {
  backupRetention,
  backupSinkConfig,
  buildCloudAdapters,
  closeCloudAdapters,
  type Env,
  loadCloudsConfig,
  readBackupEnv,
  simulatedClouds,
} from "#config";
import { CLOUDS, type Logger } from "#core";
import { type CommandDeps, createReconciler, runHealthPass, startReconcileLoop } from "#engine";
import { kvMetricSource, kvRoutingTables, memoryStore, startOutcomeFlusher } from "#kv";
import { nodeRouter } from "#node-transport";
import { cachedTableSource, OutcomeCounters, renderOutcomeMetrics } from "#router";
import { DEFAULT_SCHEDULES, startScheduler } from "#schedule";
import { startSimServer, startTraffic } from "#sim";
import {
  connectDatabase,
  countRolloutsByStatus,
  databaseIsReachable,
  type EmbeddedPostgres,
  migrate,
  startEmbeddedPostgres,
} from "#store";
import { banner } from "./banner.ts";
import { DEMO_WORKLOAD, ensureDemoWorkload } from "./demo.ts";
import type { UpOptions } from "./options.ts";
import { listen, listenNode } from "./serve.ts";

export interface Running {
  readonly apiUrl: string;
  readonly routerUrl: string;
  readonly simUrl: string;
  /** Stops everything in reverse order of start. */
  stop(): Promise<void>;
}

/**
 * `devsim up`: the whole system in one process. API, router, reconciler, the simulated clouds and
 * (without DATABASE_URL) an embedded Postgres, wired exactly as the deployed functions are.
 */
export const up = async (
  options: UpOptions,
  log: Logger,
  env: Env = process.env,
  /** The embedded Postgres, if the caller started it early (it takes seconds); started here otherwise. */
  embeddedStarting?: Promise<EmbeddedPostgres>,
): Promise<Running> => {
  const stack: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const close of stack.reverse()) {
      await close().catch((error: unknown) => log.warn({ err: error }, "shutdown step failed"));
    }
  };
  try {
    // Checked before anything starts, so a bad backup setting is an error at once, not at the first backup.
    const backupEnv = readBackupEnv(env);
    // Likewise the clouds file: a mistake in it stops the start, naming the field.
    const clouds = await loadCloudsConfig(env, { file: options.cloudsFile });
    let databaseUrl = options.databaseUrl;
    let database = databaseUrl ? "DATABASE_URL" : "";
    if (!databaseUrl) {
      const dataDir = resolve(options.dataDir, "pgdata");
      const embedded = await (embeddedStarting ?? startEmbeddedPostgres({ dataDir }));
      stack.push(embedded.close);
      databaseUrl = embedded.url;
      database = `embedded Postgres (PGlite) in ${join(options.dataDir, "pgdata")}`;
    }
    const sql = connectDatabase(databaseUrl, { applicationName: "devsim" });
    stack.push(() => sql.end({ timeout: 2 }));
    const { applied } = await migrate(sql);
    if (applied.length > 0) log.info({ applied }, "database migrated");

    const sim = await startSimServer({ host: options.host, port: options.simPort });
    stack.push(sim.close);
    // The simulator serves every cloud the clouds file leaves out.
    const adapters = await buildCloudAdapters(clouds, {
      simUrl: sim.url,
      dependencies: { digitalocean: { env } },
    });
    stack.push(async () => closeCloudAdapters(adapters));
    const simulated = simulatedClouds(clouds);
    const real = CLOUDS.filter((cloud) => !simulated.includes(cloud));
    if (real.length > 0) {
      log.info(
        {
          source: clouds.source,
          real: real.map((cloud) => `${cloud}: ${clouds.clouds[cloud].adapter}`),
          simulated,
        },
        "clouds configured",
      );
    }
    const kv = memoryStore();
    const routing = kvRoutingTables(kv);
    // The router counts in buckets fine enough for the latency test; analysis reads what it flushed.
    const bucketBoundsMs = RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS;
    const outcomes = kvMetricSource(kv, { bucketBoundsMs });
    const counters = new OutcomeCounters({ bucketBoundsMs });
    const sinceStart = new OutcomeCounters({ bucketBoundsMs });
    const flusher = startOutcomeFlusher({
      counters: {
        drain: () => {
          const batch = counters.drain();
          sinceStart.merge(batch);
          return batch;
        },
      },
      kv,
      onError: (error) => log.warn({ err: error }, "outcome flush failed"),
    });
    stack.push(flusher.stop);

    const engine = { sql, adapters, routing, outcomes, log: log.child({ component: "reconcile" }) };
    const metrics = createApiMetrics(() => countRolloutsByStatus(sql));
    // Copies claim work through Postgres exactly as separate processes would.
    const loops = Array.from({ length: options.workers }, () => {
      const reconciler = createReconciler(engine, {
        onPass: (ms, claimed) => claimed > 0 && metrics.observeReconcile(ms / 1000),
      });
      const loop = startReconcileLoop(reconciler, { log });
      stack.push(loop.stop);
      return loop;
    });
    const kick = () => {
      for (const loop of loops) loop.kick();
    };

    // Health, backups and the restore drill, as the deployed crons run them.
    const health = { ...engine, log: log.child({ component: "health" }) };
    const sink = openSink(backupSinkConfig(backupEnv, join(options.dataDir, "backups")));
    // The drill restores into a database of its own: on the same server, or a second embedded one.
    const scratch = options.databaseUrl ? scratchOnServer(options.databaseUrl) : scratchEmbedded();
    const scheduler = startScheduler({
      log: log.child({ component: "schedule" }),
      jobs: [
        {
          name: "health",
          schedule: DEFAULT_SCHEDULES.health.local,
          run: (signal) => runHealthPass(health, { now: new Date(), signal }),
        },
        {
          name: "backup",
          schedule: DEFAULT_SCHEDULES.backup.local,
          run: () => runScheduledBackup({ sql, sink, retention: backupRetention(backupEnv) }),
        },
        {
          name: "restore-drill",
          schedule: DEFAULT_SCHEDULES.restoreDrill.local,
          run: () => runRestoreDrill({ sql, sink, scratch }),
        },
      ],
    });
    stack.push(scheduler.stop);

    // The API accepts the regions each cloud serves: the configured ones of a real cloud.
    const commands: CommandDeps = { ...engine, log, regions: clouds.regions, kick };
    const api = createApi({
      ...commands,
      metrics,
      ready: () => databaseIsReachable(sql, 1_000),
      // The chaos routes (/v1/sim/faults) exist only where the clouds are simulated.
      simUrl: sim.url,
      // Everything counted so far: what was flushed, and what waits for the next flush.
      extraMetrics: async () => {
        const total = new OutcomeCounters({ bucketBoundsMs });
        total.merge(sinceStart.snapshot());
        total.merge(counters.snapshot());
        return renderOutcomeMetrics(total.snapshot()) + (await backupMetrics(sql));
      },
    });
    const apiServer = await listen(api.fetch, options.host, options.port, "API");
    stack.push(apiServer.close);

    // The Node front end: several times the throughput of the web one on this runtime.
    const router = nodeRouter({ table: cachedTableSource(routing), counters });
    stack.push(router.close);
    const routerServer = await listenNode(router.listener, options.host, options.routerPort, "router");
    stack.push(routerServer.close);

    // The demo targets every simulated region; it never deploys to a real cloud.
    if (options.demo && real.length > 0) {
      log.info({ real }, "no demo workload: some clouds are real");
    } else if (options.demo) {
      if (await ensureDemoWorkload(commands)) log.info({ workload: DEMO_WORKLOAD }, "demo workload created");
      if (options.trafficRate > 0) {
        const traffic = startTraffic({
          url: `${routerServer.url}/w/${DEMO_WORKLOAD}/`,
          ratePerSecond: options.trafficRate,
        });
        stack.push(async () => {
          await traffic.stop();
        });
      }
    }

    process.stdout.write(
      banner({
        apiUrl: apiServer.url,
        routerUrl: routerServer.url,
        simUrl: sim.url,
        database,
        demo: options.demo,
      }),
    );
    return { apiUrl: apiServer.url, routerUrl: routerServer.url, simUrl: sim.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
