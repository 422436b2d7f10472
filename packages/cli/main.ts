import { DevsimError } from "#core";
import { createLogger } from "./logger.ts";
import { parseUpOptions } from "./options.ts";
import { up } from "./up.ts";

const USAGE = `Usage: devsim <command> [options]

Commands:
  up      Run the whole system in this process: API, router, reconciler, simulated clouds
          and, without DATABASE_URL, an embedded Postgres.

Options for up (environment variable in brackets):
  --port N            API port (PORT, default 3000)
  --router-port N     router port (ROUTER_PORT, default 8080)
  --sim-port N        simulated clouds' control API port (SIM_PORT, default any free port)
  --host ADDR         address to listen on (HOST, default 127.0.0.1)
  --database-url URL  Postgres to use instead of the embedded one (DATABASE_URL)
  --data-dir DIR      where the embedded Postgres keeps its data (DEVSIM_DATA_DIR, default .devsim)
  --no-demo           no demo workload and no demo traffic (DEVSIM_DEMO=0)
  --traffic-rate N    demo requests per second (DEVSIM_TRAFFIC_RATE, default 5)
  --log-level LEVEL   trace, debug, info, warn, error (LOG_LEVEL, default info)
  --log-format F      pretty or json (LOG_FORMAT, default pretty at a terminal, else json)
`;

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 10_000;

const runUp = async (argv: readonly string[]): Promise<number> => {
  const options = parseUpOptions(argv, process.env);
  const log = createLogger({
    level: options.logLevel,
    format: options.logFormat ?? (process.stdout.isTTY ? "pretty" : "json"),
  });
  const running = await up(options, log);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, "shutting down");
      setTimeout(() => {
        log.error({}, "shutdown took too long; exiting");
        process.exit(1);
      }, SHUTDOWN_LIMIT_MS).unref();
      running.stop().then(resolve, resolve);
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  });
  return 0;
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
