import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

// The processes a bench starts, so that every one of them is stopped however the bench ends.

const children = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];

/** Remembers a child process, so that `stopAll` stops it. */
export const track = (child: ChildProcess): ChildProcess => {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
};

/** Something to do once the processes are stopped (removing a scratch directory, say). */
export const onStop = (cleanup: () => void): void => {
  cleanups.push(cleanup);
};

/** Stops every tracked process (SIGTERM) and runs the clean-ups at once; safe to call more than once. */
export const stopAll = (): void => {
  for (const child of children) child.kill("SIGTERM");
  children.clear();
  for (const cleanup of cleanups.splice(0)) cleanup();
};

/** As `stopAll`, but runs the clean-ups once the processes have exited (3 s at most), so none writes after. */
export const stopAllAndWait = async (): Promise<void> => {
  const exited = [...children].map(
    (child) =>
      new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once("exit", () => resolve()),
      ),
  );
  for (const child of children) child.kill("SIGTERM");
  children.clear();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(exited), new Promise((resolve) => (timer = setTimeout(resolve, 3_000)))]);
  clearTimeout(timer);
  for (const cleanup of cleanups.splice(0)) cleanup();
};

process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

/**
 * Starts a Node script with the Node running this one, and waits (15 s at most) for the JSON line
 * with its URL that it prints once it listens.
 */
export const startNode = async (
  script: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<{ child: ChildProcess; url: string }> => {
  const child = track(
    spawn(process.execPath, [...nodeFlags, script, ...args], { stdio: ["ignore", "pipe", "inherit"] }),
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 15 s`)), 15_000);
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  return { child, url };
};

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });

/** Waits (10 s at most) until `url` answers 200. */
export const waitUntilServing = async (url: string): Promise<void> => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

export interface Resident {
  readonly nowMb: number;
  readonly peakMb: number;
}

/** A process's resident memory now and at its peak (Linux /proc), or null where that cannot be read. */
export const resident = (pid: number | undefined): Resident | null => {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1]);
    return { nowMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
};

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux unless told otherwise). */
const TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

const childrenOf = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );

/**
 * CPU seconds (user and system) a process and its children (nginx's workers, say) have used so far
 * (Linux /proc), or null where that cannot be read.
 */
export const cpuSeconds = (pid: number | undefined): number | null => {
  if (pid === undefined) return null;
  try {
    let ticks = 0;
    for (const one of [pid, ...childrenOf(pid)]) {
      // Fields after the command name, which may hold spaces: state is the 3rd field, utime the 14th.
      const fields = readFileSync(`/proc/${one}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
};
