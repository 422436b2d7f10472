import type { RunResult } from "./run.ts";

export type Judge = keyof RunResult;

/** The q-quantile of times to `fail`, a run that never failed counting as never (Infinity). */
export const timeQuantile = (times: readonly (number | null)[], q: number): number => {
  const sorted = times.map((t) => t ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.POSITIVE_INFINITY;
};

export const failShare = (times: readonly (number | null)[]): number =>
  times.filter((t) => t !== null).length / Math.max(1, times.length);

const seconds = (x: number): string => (Number.isFinite(x) ? `${x} s` : "never");
const percent = (x: number): string => `${(100 * x).toFixed(x < 0.1 ? 2 : 1)} %`;

/** "median / p90 (share of runs that failed)" for one judge on one effect. */
export const cell = (results: readonly RunResult[], judge: Judge): string => {
  const times = results.map((r) => r[judge]);
  return `${seconds(timeQuantile(times, 0.5))} / ${seconds(timeQuantile(times, 0.9))} (${percent(failShare(times))})`;
};

export const falseRollbacks = (results: readonly RunResult[], judge: Judge): string => {
  const share = failShare(results.map((r) => r[judge]));
  return `${percent(share)} (${Math.round(share * results.length)} of ${results.length})`;
};
