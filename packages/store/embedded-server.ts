// The embedded Postgres process: PGlite behind PGLiteSocketServer. embedded.ts starts it with
// `fork`, hands it its settings as one JSON argument, and talks to it over the IPC channel.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import {
  type DataDirSnapshot,
  isAlive,
  removeTemplate,
  restoreTemplate,
  saveTemplate,
  snapshotDataDir,
} from "./embedded-template.ts";

export interface EmbeddedServerConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  /** Where fresh data directories are copied from (see embedded-template.ts); null: always initdb. */
  readonly template: {
    readonly dir: string;
    /** The installed PGlite's version, written into a template this process saves. */
    readonly pglite: string;
    /** The hash of the template's manifest as validated by the parent; null: nothing to restore. */
    readonly manifest: string | null;
  } | null;
}

export type EmbeddedServerMessage =
  | { type: "ready"; port: number; fromTemplate: boolean }
  | { type: "initialised" }
  | { type: "failed"; message: string };
export type EmbeddedServerCommand = { type: "close" };

// PGlite's default of 128 MB is allocated inside the wasm heap and touched at start; a control
// plane's working set is a few MB, and the whole product has a 400 MB budget.
const SHARED_BUFFERS = "16MB";

// Frontend messages of the extended query protocol that leave a unit open until Sync.
const OPENS_UNIT = new Set(["P", "B", "D", "E", "H", "C"].map((c) => c.charCodeAt(0)));
const CLOSES_UNIT = new Set(["S", "Q"].map((c) => c.charCodeAt(0)));

/**
 * PGLiteSocketServer feeds one backend with the messages of all connections, one message at a
 * time, keeping a connection to itself only while `isInTransaction()`. Between a client's Bind and
 * its Execute another client's Parse/Bind can slip in and replace the unnamed statement or portal.
 * Measured with six pooled connections: queries got another query's rows or none, failed with
 * "portal does not exist", or the pool hung. Reporting a half-sent Parse…Sync unit as a
 * transaction makes the server finish each unit before it switches connections.
 */
const keepQueryUnitsTogether = (db: PGlite): void => {
  let inUnit = false;
  const isInTransaction = db.isInTransaction.bind(db);
  const execProtocolRawStream = db.execProtocolRawStream.bind(db);
  const exec = db.exec.bind(db);
  db.isInTransaction = () => inUnit || isInTransaction();
  db.execProtocolRawStream = (message, options) => {
    const type = message[0] ?? 0;
    if (OPENS_UNIT.has(type)) inUnit = true;
    else if (CLOSES_UNIT.has(type)) inUnit = false;
    return execProtocolRawStream(message, options);
  };
  // The server's only exec() is the ROLLBACK for a client that vanished mid-transaction or mid-unit.
  db.exec = (query, options) => {
    inUnit = false;
    return exec(query, options);
  };
};

/**
 * PGlite happily opens a data directory another process is using, and two writers corrupt it.
 * The lock sits beside the directory: a file inside a fresh one would make initdb refuse it.
 */
const acquireLock = (dataDir: string): string => {
  const path = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number(readFileSync(path, "utf8"));
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new Error(`${dataDir} is in use by process ${holder} (lock file ${path})`);
    }
    rmSync(path, { force: true }); // left behind by a process that died
  }
  throw new Error(`could not lock ${dataDir}`);
};

const send = (message: EmbeddedServerMessage): void => {
  if (process.connected) process.send?.(message);
};

/** Opens a data directory with our settings, running initdb first if it has none. */
export const openDataDir = (dataDir: string): Promise<PGlite> =>
  PGlite.create({
    dataDir,
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${SHARED_BUFFERS}`],
  });

/** Serves an opened data directory until told to stop. */
const serve = async (
  db: PGlite,
  config: EmbeddedServerConfig,
  lock: string,
  fromTemplate: boolean,
): Promise<void> => {
  keepQueryUnitsTogether(db);
  const server = new PGLiteSocketServer({
    db,
    host: config.host,
    port: config.port,
    maxConnections: config.maxConnections,
  });
  await server.start();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await server.stop();
      await db.close(); // shuts the backend down and closes its files
      rmSync(lock, { force: true });
    })();
    return stopping.then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("embedded postgres: clean shutdown failed", error);
        process.exit(1);
      },
    );
  };
  process.on("message", (command: EmbeddedServerCommand) => {
    if (command.type === "close") void stop();
  });
  // The parent is gone (even killed with SIGKILL): shut down cleanly rather than linger.
  process.on("disconnect", () => void stop());
  process.on("SIGTERM", () => void stop());

  const port = Number(server.getServerConn().split(":").pop());
  send({ type: "ready", port, fromTemplate });
};

/** A fresh data directory made from the template, opened; undefined when there is none to use. */
const openFromTemplate = async (config: EmbeddedServerConfig): Promise<PGlite | undefined> => {
  const template = config.template;
  if (!template?.manifest || !restoreTemplate(template.dir, template.manifest, config.dataDir))
    return undefined;
  try {
    return await openDataDir(config.dataDir);
  } catch {
    // It passed its checksums yet does not open: forget it and initialise as if there were none.
    removeTemplate(template.dir);
    rmSync(config.dataDir, { recursive: true, force: true });
    mkdirSync(config.dataDir);
    return undefined;
  }
};

/**
 * Runs initdb, and returns the fresh data directory read into memory when it is to become the
 * template: read before the lock goes, as the next server process starts changing it at once.
 */
const initialise = async (config: EmbeddedServerConfig): Promise<DataDirSnapshot | undefined> => {
  const db = await openDataDir(config.dataDir);
  await db.close();
  return config.template === null ? undefined : snapshotDataDir(config.dataDir);
};

const run = async (config: EmbeddedServerConfig): Promise<void> => {
  // Ctrl-C reaches the whole process group; the parent decides when the database stops, and an
  // interrupted initdb would leave a half-made data directory.
  process.on("SIGINT", () => {});
  mkdirSync(config.dataDir, { recursive: true });
  const lock = acquireLock(config.dataDir);
  let snapshot: DataDirSnapshot | undefined;
  try {
    if (existsSync(join(config.dataDir, "PG_VERSION")))
      return await serve(await openDataDir(config.dataDir), config, lock, false);
    const restored = await openFromTemplate(config);
    if (restored) return await serve(restored, config, lock, true);
    // initdb runs in a second wasm instance, and this process would keep ~100 MB of its garbage
    // for good; so initialise, exit, and let the parent start a fresh process to serve.
    snapshot = await initialise(config);
  } catch (error) {
    rmSync(lock, { force: true });
    throw error;
  }
  rmSync(lock, { force: true });
  send({ type: "initialised" });
  process.disconnect?.();
  // The parent is already starting the server; the template only speeds up later first starts.
  if (snapshot && config.template !== null) {
    try {
      saveTemplate(snapshot, config.template.dir, config.template.pglite);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`embedded postgres: could not save the data directory template: ${reason}`);
    }
  }
};

if (import.meta.main) {
  run(JSON.parse(process.argv[2] ?? "{}") as EmbeddedServerConfig).catch((error: unknown) => {
    send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
    process.disconnect?.();
  });
}
