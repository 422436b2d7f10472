import { resolve } from "node:path";
import { DevsimError, type Logger } from "#core";
import { startEmbeddedPostgres } from "#store";
import { createLogger } from "./logger.ts";
import { parseBackupOptions, parseCloudsOptions, parseUpOptions, parseWatchOptions } from "./options.ts";

const USAGE = `Usage: devsim <command> [options]

Commands:
  up          Run the whole system in this process: API, router, reconciler, simulated clouds
              and, without DATABASE_URL, an embedded Postgres.
  reconcile   Run one more reconciler copy against a shared control plane, configured by
              DATABASE_URL, UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN and DEVSIM_SIM_URL.
              Flags: --lease-ms N (RECONCILE_LEASE_MS, default 15000),
                     --interval-ms N (RECONCILE_INTERVAL_MS, default 250).
  backup      Take, list and restore backups of the control-plane database, and run the restore
              drill: devsim backup create|list|restore <id>|drill (devsim backup --help).
  clouds      Check the credentials and clusters of every cloud the clouds file configures:
              devsim clouds check [--clouds-file FILE] [--json] (devsim clouds --help).
  watch       Follow a rollout live until it finishes: devsim watch <rollout-id | workload>
              [--api-url URL] [--json] (devsim watch --help).

Options for up (environment variable in brackets):
  --port N            API port (PORT, default 3000)
  --router-port N     router port (ROUTER_PORT, default 8080)
  --sim-port N        simulated clouds' control API port (SIM_PORT, default any free port)
  --host ADDR         address to listen on (HOST, default 127.0.0.1)
  --database-url URL  Postgres to use instead of the embedded one (DATABASE_URL)
  --data-dir DIR      where the embedded Postgres keeps its data (DEVSIM_DATA_DIR, default .devsim)
  --no-demo           no demo workload and no demo traffic (DEVSIM_DEMO=0)
  --traffic-rate N    demo requests per second (DEVSIM_TRAFFIC_RATE, default 5)
  --workers N         reconciler copies in this process (DEVSIM_WORKERS, default 1)
  --log-level LEVEL   trace, debug, info, warn, error (LOG_LEVEL, default info)
  --log-format F      pretty or json (LOG_FORMAT, default pretty at a terminal, else json)
  --clouds-file FILE  how the real clouds are reached (DEVSIM_CLOUDS_FILE or DEVSIM_CLOUDS_JSON,
                      default devsim.clouds.json if it exists); the clouds it leaves out are
                      simulated; DEVSIM_<CLOUD>_ADAPTER=sim keeps one simulated
`;

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 10_000;

const terminalLog = (level: string, format?: "pretty" | "json") =>
  createLogger({ level, format: format ?? (process.stdout.isTTY ? "pretty" : "json") });

/** Resolves at the first SIGINT or SIGTERM, and exits anyway if shutting down then takes too long. */
const signalled = (log: Logger): Promise<void> =>
  new Promise((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, "shutting down");
      setTimeout(() => {
        log.error({}, "shutdown took too long; exiting");
        process.exit(1);
      }, SHUTDOWN_LIMIT_MS).unref();
      resolve();
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  });

const runUp = async (argv: readonly string[]): Promise<number> => {
  const options = parseUpOptions(argv, process.env);
  const log = terminalLog(options.logLevel, options.logFormat);
  // The embedded Postgres takes seconds to start in its own process: it starts while the rest loads.
  const embedded = options.databaseUrl
    ? undefined
    : startEmbeddedPostgres({ dataDir: resolve(options.dataDir, "pgdata") });
  embedded?.catch(() => {});
  const { up } = await import("./up.ts");
  const running = await up(options, log, process.env, embedded).catch(async (error: unknown) => {
    // up() may fail before it takes the database over; closing twice is harmless.
    await embedded?.then(
      (started) => started.close(),
      () => {},
    );
    throw error;
  });
  await signalled(log);
  await running.stop();
  return 0;
};

const runReconcile = async (argv: readonly string[]): Promise<number> => {
  const { parseReconcileOptions, reconcileForever } = await import("./reconcile.ts");
  const options = parseReconcileOptions(argv, process.env);
  const log = terminalLog(process.env.LOG_LEVEL ?? "info");
  await reconcileForever(options, log, signalled(log));
  return 0;
};

const runBackup = async (argv: readonly string[]): Promise<number> => {
  const { BACKUP_USAGE, runBackupCommand } = await import("./backup.ts");
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(BACKUP_USAGE);
    return 0;
  }
  return await runBackupCommand(parseBackupOptions(argv, process.env), process.env);
};

const runClouds = async (argv: readonly string[]): Promise<number> => {
  const { CLOUDS_USAGE, runCloudsCommand } = await import("./clouds.ts");
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(CLOUDS_USAGE);
    return 0;
  }
  return await runCloudsCommand(parseCloudsOptions(argv), process.env);
};

const runWatch = async (argv: readonly string[]): Promise<number> => {
  const { WATCH_USAGE, runWatchCommand } = await import("./watch.ts");
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(WATCH_USAGE);
    return 0;
  }
  return await runWatchCommand(parseWatchOptions(argv, process.env));
};

/** Runs the CLI; returns the exit code. Errors we expect print one line, never a stack trace. */
export const main = async (argv: readonly string[]): Promise<number> => {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "up":
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(USAGE);
          return 0;
        }
        return await runUp(rest);
      case "reconcile":
        return await runReconcile(rest);
      case "backup":
        return await runBackup(rest);
      case "clouds":
        return await runClouds(rest);
      case "watch":
        return await runWatch(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`devsim: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof DevsimError) {
      process.stderr.write(`devsim: ${error.message}\n`);
      return error.code === "invalid_input" ? 2 : 1;
    }
    process.stderr.write(
      `devsim: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
};
