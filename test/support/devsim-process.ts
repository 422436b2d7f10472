import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "bin.ts");

export interface DevsimProcess {
  readonly apiUrl: string;
  readonly routerUrl: string;
  readonly pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends a signal and waits for the exit; resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

const exited = (child: ChildProcess, timeoutMs: number): Promise<number | null> =>
  new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(
      () => reject(new Error(`devsim did not exit within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

/**
 * Starts `devsim up` as a child process (on this Node), waits for its banner and returns the URLs
 * it printed. Ports default to 0, so runs never collide.
 */
export const spawnDevsim = async (
  args: readonly string[],
  { env = {}, timeoutMs = 20_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<DevsimProcess> => {
  const child = spawn(
    process.execPath,
    [BIN, "up", "--port", "0", "--router-port", "0", "--log-format", "json", ...args],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM", stopTimeoutMs = 12_000) => {
    child.kill(signal);
    return exited(child, stopTimeoutMs);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const api = /API\s+(http:\/\/\S+)/.exec(out)?.[1];
    const router = /Router\s+(http:\/\/\S+)/.exec(out)?.[1];
    if (api && router)
      return { apiUrl: api, routerUrl: router, pid: child.pid ?? 0, output: () => out, stop };
    if (child.exitCode !== null) throw new Error(`devsim exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`devsim printed no banner within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export const eventually = async <T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not met within ${timeoutMs} ms`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** How a `devsim` command that ran to its end went. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `devsim <args>` to its end as a separate process (on this Node) with exactly `env`, in `cwd`;
 * fails after `timeoutMs` with what it printed.
 */
export const runDevsim = (
  args: readonly string[],
  { env, cwd, timeoutMs = 60_000 }: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`devsim ${args.join(" ")} did not finish:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
