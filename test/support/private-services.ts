import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chown, mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

// Throw-away Postgres and Redis servers of a test's own, so it can really kill them while other
// test files keep using the shared servers on 5432 and 6379.

const run = promisify(execFile);
const HOST = "127.0.0.1";
const PG_ROOT = "/usr/lib/postgresql";

export interface PrivatePostgres {
  /** Connection URL of the `postgres` database, as the trusted `postgres` user. */
  readonly url: string;
  /** Kills the server (`pg_ctl stop -m immediate`): no clean shutdown, as a crash would leave it. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it if it runs and deletes its data. */
  destroy(): Promise<void>;
}

export interface PrivateRedis {
  readonly url: string;
  /** Kills the server with SIGKILL and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (nothing is saved). */
  start(): Promise<void>;
  /** Kills it if it runs. */
  destroy(): Promise<void>;
}

/** A port nothing listens on right now. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/** Resolves once something accepts TCP connections on `port`, or fails after `timeoutMs`. */
const waitForPort = async (port: number, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, HOST);
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`${what} did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** The bin folder of the newest Postgres server installed, found as `.ci/run` finds it. */
const postgresBin = async (): Promise<string> => {
  const versions = await readdir(PG_ROOT).catch((): string[] => []);
  const installed: string[] = [];
  for (const version of versions) {
    const bin = join(PG_ROOT, version, "bin");
    const files = await readdir(bin).catch((): string[] => []);
    if (["postgres", "initdb", "pg_ctl"].every((name) => files.includes(name))) installed.push(bin);
  }
  const newest = installed.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).at(-1);
  if (!newest) {
    throw new Error(
      `no Postgres server binaries (initdb, pg_ctl) under ${PG_ROOT}/<version>/bin: install the postgresql package (apt-get install postgresql), as .ci/run does`,
    );
  }
  return newest;
};

const isRoot = () => process.getuid?.() === 0;

/** Postgres refuses to run as root: there, its commands run as the `postgres` user. */
const asPostgres = (command: string, args: readonly string[]): [string, string[]] =>
  isRoot() ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, [...args]];

const runPostgresTool = async (command: string, args: readonly string[]): Promise<void> => {
  const [file, argv] = asPostgres(command, args);
  await run(file, argv, { timeout: 60_000 });
};

/**
 * A new Postgres cluster in a temp folder, on a free port, trusting every loopback connection,
 * started. Call `destroy()` in afterAll/afterEach.
 */
export const startPrivatePostgres = async (): Promise<PrivatePostgres> => {
  const bin = await postgresBin();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "devsim-private-pg-"));
  const data = join(dir, "data");
  if (isRoot()) {
    const [uid, gid] = await Promise.all(
      ["-u", "-g"].map(async (flag) => Number((await run("id", [flag, "postgres"])).stdout.trim())),
    );
    await chown(dir, uid ?? 0, gid ?? 0);
  }
  const pgCtl = join(bin, "pg_ctl");
  // The socket lives in the temp folder too, so nothing outside it is touched.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=${HOST} -c fsync=off`;
  let running = false;
  const start = async () => {
    await runPostgresTool(pgCtl, ["start", "-w", "-D", data, "-l", join(dir, "log"), "-o", serverOptions]);
    running = true;
    await waitForPort(port, 10_000, "the private Postgres");
  };
  const stop = async () => {
    await runPostgresTool(pgCtl, ["stop", "-w", "-m", "immediate", "-D", data]);
    running = false;
  };
  try {
    await runPostgresTool(join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
      "-E",
      "UTF8",
    ]);
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@${HOST}:${port}/postgres`,
    stop,
    start,
    destroy: async () => {
      if (running) await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
};

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
  });

/**
 * A `redis-server` child process on a free port that keeps nothing on disk. Call `destroy()` in
 * afterAll/afterEach.
 */
export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no"],
      { stdio: "ignore" },
    );
    child = server;
    const failed = new Promise<never>((_, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          error.code === "ENOENT"
            ? new Error(
                "redis-server is not installed: install the redis-server package (apt-get install redis-server), as .ci/run does",
              )
            : error,
        ),
      );
      server.once("exit", (code) => reject(new Error(`redis-server exited with ${code} on port ${port}`)));
    });
    failed.catch(() => {});
    try {
      await Promise.race([waitForPort(port, 10_000, "the private Redis"), failed]);
    } catch (error) {
      await kill();
      throw error;
    }
  };
  async function kill(): Promise<void> {
    const server = child;
    child = undefined;
    if (!server) return;
    server.kill("SIGKILL");
    await exited(server);
  }
  await start();
  return { url: `redis://${HOST}:${port}`, kill, start, destroy: kill };
};
