import type { ErrorTestResult } from "./errors.ts";
import type { GuardCheck } from "./guards.ts";
import type { LatencyTestResult } from "./latency.ts";

/** What one revision did in the window, as the verdict shows it. */
export interface RevisionSummary {
  readonly requests: number;
  readonly serverErrors: number;
  readonly errorRate: number | null;
  /** Estimated from the histogram like Prometheus' histogram_quantile; null without requests. */
  readonly p50LatencyMs: number | null;
  readonly p99LatencyMs: number | null;
}

/**
 * Everything a verdict rests on, as plain JSON, so it can be stored and shown. A type alias rather
 * than an interface, so it is assignable to `Record<string, unknown>` where evidence is stored.
 */
export type Evidence = {
  readonly alpha: number;
  readonly final: boolean;
  readonly minRequests: number;
  readonly canary: RevisionSummary;
  readonly stable: RevisionSummary;
  readonly errors: ErrorTestResult;
  readonly latency: LatencyTestResult;
  readonly guards: readonly GuardCheck[];
};

/** What decided a `fail` or an `inconclusive`. */
export type DecidedBy =
  | "errors"
  | "latency"
  | "maxErrorRate"
  | "maxP99LatencyMs"
  | "minRequests"
  | "noRequests";

export type Verdict =
  /** `running`: the window is not over and nothing is decided. `pass`: the window ended without a regression. */
  | {
      readonly status: "running" | "pass";
      readonly reason: string;
      readonly decidedBy: null;
      readonly evidence: Evidence;
    }
  | {
      readonly status: "fail";
      readonly reason: string;
      readonly decidedBy: Exclude<DecidedBy, "minRequests" | "noRequests">;
      readonly evidence: Evidence;
    }
  /** The window ended with too little data; the caller fails the rollout or extends the window. */
  | {
      readonly status: "inconclusive";
      readonly reason: string;
      readonly decidedBy: "minRequests" | "noRequests";
      readonly onInconclusive: "fail" | "extend";
      readonly evidence: Evidence;
    }
  /** The metric source failed or answered nonsense: nothing was judged. */
  | {
      readonly status: "error";
      readonly reason: string;
      readonly decidedBy: null;
      readonly evidence: null;
    };

export type VerdictStatus = Verdict["status"];

/** The verdict for a metric source that failed; the caller catches the failure and passes its message. */
export const errorVerdict = (message: string): Verdict => ({
  status: "error",
  reason: `metric source failed: ${message}`,
  decidedBy: null,
  evidence: null,
});
