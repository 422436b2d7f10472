import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type {
  EmbeddedServerCommand,
  EmbeddedServerConfig,
  EmbeddedServerMessage,
} from "./embedded-server.ts";
import {
  defaultTemplateDir,
  installedPgliteVersion,
  templateToRestore,
} from "./embedded-template-manifest.ts";

export interface EmbeddedPostgresOptions {
  /** Where PGlite keeps its files (created if absent), e.g. `.devsim/pgdata`. */
  readonly dataDir: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Connections the socket server accepts; more are dropped, so keep it above every pool's `max`. */
  readonly maxConnections?: number;
  /** A first start without a template runs initdb (4–5 s); give up after this long. */
  readonly startTimeoutMs?: number;
  /**
   * Where the template of a fresh data directory lives (see embedded-template.ts); null: none, so
   * a first start always runs initdb. Default: under `node_modules/.cache/devsim`, keyed by PGlite's version.
   */
  readonly templateDir?: string | null;
}

/** How the data directory came to be: it was there, it was copied from the template, or initdb made it. */
export type DataDirSource = "existing" | "template" | "initdb";

export interface EmbeddedPostgres {
  /** postgres.js-ready URL: `postgres://postgres@host:port/postgres`. */
  readonly url: string;
  readonly dataDirSource: DataDirSource;
  /** Stops the server and closes PGlite cleanly, so everything is on disk. Idempotent. */
  close(): Promise<void>;
}

const SERVER_ENTRY = resolve(import.meta.dirname, "embedded-server.ts");
const STOP_TIMEOUT_MS = 15_000;

// V8 tiers hot wasm functions up with TurboFan in the background; for PGlite's 9 MB module that
// costs 400–600 MB of transient memory. Liftoff alone starts faster, stays near 160 MB and ran our
// query mix no slower. A 1 MB semi-space keeps the young generation from growing by ~50 MB on the
// protocol glue's garbage. V8 flags are process-wide and frozen at start, hence a process.
const SERVER_EXEC_ARGV = ["--liftoff-only", "--max-semi-space-size=1"];

const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

const exited = (child: ChildProcess): Promise<void> =>
  hasExited(child) ? Promise.resolve() : new Promise((done) => child.once("exit", () => done()));

const withTimeout = async <T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
};

type Outcome = Exclude<EmbeddedServerMessage, { type: "failed" }>;
type Launched = { child: ChildProcess; port: number; dataDirSource: DataDirSource };

/** The first word of a server process: it serves, or it only initialised a fresh data directory. */
const outcome = (child: ChildProcess): Promise<Outcome> =>
  new Promise((settle, fail) => {
    child.once("message", (message: EmbeddedServerMessage) => {
      if (message.type === "failed") fail(new Error(`embedded postgres failed to start: ${message.message}`));
      else settle(message);
    });
    child.once("error", fail);
    child.once("exit", (code, signal) => {
      // Only an initialising process exits cleanly before it serves, even if its word got lost.
      if (code === 0) settle({ type: "initialised" });
      else fail(new Error(`embedded postgres exited before it was ready (${signal ?? `code ${code}`})`));
    });
  });

/**
 * Forks server processes until one serves: a fresh data directory without a template takes one to
 * initialise it first.
 */
const launch = async (config: EmbeddedServerConfig, timeoutMs: number): Promise<Launched> => {
  const deadline = Date.now() + timeoutMs;
  let initialised = false;
  for (;;) {
    const child = fork(SERVER_ENTRY, [JSON.stringify(config)], {
      execArgv: SERVER_EXEC_ARGV,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    try {
      const result = await withTimeout(
        outcome(child),
        Math.max(deadline - Date.now(), 0),
        () => new Error(`embedded postgres did not start within ${timeoutMs} ms`),
      );
      if (result.type === "ready") {
        const dataDirSource = result.fromTemplate ? "template" : initialised ? "initdb" : "existing";
        return { child, port: result.port, dataDirSource };
      }
      // Done with the data directory, it may still be saving it as the template: not worth waiting for.
      initialised = true;
      child.unref();
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  }
};

/**
 * Checked here, where zod is loaded anyway, and synchronously: awaiting anything would let the
 * caller's next work (loading the rest of the system) delay the fork. Only a data directory yet to
 * be made needs the template.
 */
const templateFor = (dataDir: string, templateDir: string | null): EmbeddedServerConfig["template"] => {
  if (templateDir === null) return null;
  const pglite = installedPgliteVersion();
  const fresh = !existsSync(join(dataDir, "PG_VERSION"));
  return { dir: templateDir, pglite, manifest: fresh ? templateToRestore(templateDir, pglite) : null };
};

/**
 * Starts PGlite (Postgres compiled to wasm) in a child process, persisted in `dataDir` and served
 * over the Postgres wire protocol, so the same postgres.js code runs against it as against a real
 * server. Its limits: one transaction at a time across all connections, no LISTEN/NOTIFY, cancel
 * requests ignored, and session state (SET, temp tables, session advisory locks) shared by all
 * connections. Its own process also keeps its synchronous wasm work off our event loop.
 */
export const startEmbeddedPostgres = async (options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> => {
  const host = options.host ?? "127.0.0.1";
  const dataDir = resolve(options.dataDir);
  const config: EmbeddedServerConfig = {
    dataDir,
    host,
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 100,
    template: templateFor(
      dataDir,
      options.templateDir === undefined ? defaultTemplateDir() : options.templateDir,
    ),
  };
  const { child: server, port, dataDirSource } = await launch(config, options.startTimeoutMs ?? 30_000);
  // Like a socket, the database alone should not keep this process alive; close() re-refs it.
  server.unref();
  server.channel?.unref();

  const close = async (): Promise<void> => {
    if (hasExited(server)) return;
    server.ref();
    server.channel?.ref();
    if (server.connected) server.send({ type: "close" } satisfies EmbeddedServerCommand);
    else server.kill("SIGTERM");
    try {
      await withTimeout(
        exited(server),
        STOP_TIMEOUT_MS,
        () => new Error(`embedded postgres did not stop within ${STOP_TIMEOUT_MS} ms; killed it`),
      );
    } catch (error) {
      server.kill("SIGKILL");
      throw error;
    }
    if (server.exitCode !== 0) throw new Error(`embedded postgres stopped with code ${server.exitCode}`);
  };

  let closing: Promise<void> | undefined;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `postgres://postgres@${urlHost}:${port}/postgres`,
    dataDirSource,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
};
