import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { track } from "./processes.ts";

// Runs wrk and reads its report.

export interface WrkOptions {
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /**
   * Milliseconds each connection waits, on average, after an answer before its next request (a wrk
   * Lua `delay()`), which holds the request rate near connections × 1000 / (delay + latency).
   * Unset, every connection sends as fast as answers come.
   */
  readonly delayMs?: number;
  /** Where the pacing script is written. */
  readonly scratchDir: string;
}

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx/3xx answers and socket errors (connect, read, write, timeout). */
  readonly errors: number;
}

/** wrk's first line of `-v`, or null when it is not installed. */
export const wrkVersion = (): string | null => {
  const run = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  if (run.error) return null;
  return `${run.stdout}${run.stderr}`.split("\n")[0]?.trim() || "wrk";
};

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

export const parseWrk = (output: string): WrkResult => {
  const percentile = (p: string): number => {
    const match = output.match(new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"));
    return match ? Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? Number.NaN) : Number.NaN;
  };
  const socket = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    requestsPerSecond: Number(output.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? Number.NaN),
    p50Ms: percentile("50"),
    p99Ms: percentile("99"),
    errors:
      Number(output.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0) +
      (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
  };
};

/** One wrk run against `url`; killed if it overruns its duration by 20 s. */
export const wrk = (url: string, options: WrkOptions): Promise<WrkResult> =>
  new Promise((resolve, reject) => {
    const args = ["-t", String(options.threads), "-c", String(options.connections)];
    args.push("-d", `${options.seconds}s`, "--latency", "--timeout", "2s");
    if (options.delayMs !== undefined) {
      // wrk's delay() is in whole milliseconds: a uniform draw of whole numbers whose mean is the
      // delay asked for, to half a millisecond, and wide enough that connections drift apart
      // instead of firing in lockstep bursts.
      const low = Math.max(0, Math.floor(options.delayMs / 2));
      const high = Math.max(low, Math.round(2 * options.delayMs) - low);
      const script = join(options.scratchDir, `pace-${low}-${high}.lua`);
      writeFileSync(script, `function delay()\n  return math.random(${low}, ${high})\nend\n`);
      args.push("-s", script);
    }
    const child = track(spawn("wrk", [...args, url], { stdio: ["ignore", "pipe", "inherit"] }));
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (options.seconds + 20) * 1000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(parseWrk(output));
      else reject(new Error(`wrk exited with ${code}:\n${output}`));
    });
  });
