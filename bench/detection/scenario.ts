/** The simulated service and the effects the detection benchmark injects into the canary. */

export const TRAFFIC = {
  requestsPerSecond: 200,
  /** The router sends each request to the canary with this probability. */
  canaryShare: 0.1,
  stableErrorRate: 0.01,
  /** Latency is log-normal: this median, and this standard deviation of log latency (p99 ≈ 3.2 × median). */
  medianMs: 40,
  logSigma: 0.5,
} as const;

/** Overall false-rollback bound of every judge, split evenly between errors and latency. */
export const ALPHA = 0.01;
export const ERROR_ALPHA = ALPHA / 2;
export const LATENCY_ALPHA = ALPHA / 2;

/** How long our judge and the Flagger-style check watch the canary; one look per second. */
export const WINDOW_SECONDS = 300;
/** Flagger's default analysis interval: each check looks at the last 60 s. */
export const FLAGGER_INTERVAL_SECONDS = 60;

export interface Effect {
  readonly name: string;
  readonly canaryErrorRate: number;
  /** The canary's latencies are the stable distribution scaled by this (so is its median). */
  readonly latencyFactor: number;
}

export const AA: Effect = { name: "A/A (canary = stable)", canaryErrorRate: 0.01, latencyFactor: 1 };

export const EFFECTS: readonly Effect[] = [
  { name: "errors 1.5 % vs 1 %", canaryErrorRate: 0.015, latencyFactor: 1 },
  { name: "errors 2 % vs 1 %", canaryErrorRate: 0.02, latencyFactor: 1 },
  { name: "errors 3 % vs 1 %", canaryErrorRate: 0.03, latencyFactor: 1 },
  { name: "errors 5 % vs 1 %", canaryErrorRate: 0.05, latencyFactor: 1 },
  { name: "median latency +10 %", canaryErrorRate: 0.01, latencyFactor: 1.1 },
  { name: "median latency +25 %", canaryErrorRate: 0.01, latencyFactor: 1.25 },
];
