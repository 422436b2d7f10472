/** What the probes say of one backend. `unknown` until enough consecutive results agree. */
export type ProbeStatus = "unknown" | "healthy" | "unhealthy";

/** A backend's probe record: its status and the run of identical results that ends the history. */
export interface ProbeState {
  readonly status: ProbeStatus;
  /** Consecutive successes up to the last probe; 0 after a failure. */
  readonly successes: number;
  /** Consecutive failures up to the last probe; 0 after a success. */
  readonly failures: number;
}

export interface Thresholds {
  /** Consecutive successes that make a backend healthy. */
  readonly healthyThreshold: number;
  /** Consecutive failures that make a backend unhealthy. */
  readonly unhealthyThreshold: number;
}

export interface ProbeTransition {
  readonly from: ProbeStatus;
  readonly to: ProbeStatus;
}

export interface ProbeStep {
  readonly state: ProbeState;
  /** Set when this result changed the status. */
  readonly transition: ProbeTransition | null;
}

/** A backend nobody has probed yet. */
export const INITIAL_PROBE_STATE: ProbeState = { status: "unknown", successes: 0, failures: 0 };

/**
 * Takes one probe result into a backend's state. A status changes only after the threshold's
 * worth of consecutive results, so one lost packet neither fails a backend over nor brings one back.
 *
 * @example
 * recordProbe(INITIAL_PROBE_STATE, false, { healthyThreshold: 2, unhealthyThreshold: 1 })
 * // { state: { status: "unhealthy", successes: 0, failures: 1 }, transition: { from: "unknown", to: "unhealthy" } }
 */
export const recordProbe = (state: ProbeState, ok: boolean, thresholds: Thresholds): ProbeStep => {
  const successes = ok ? state.successes + 1 : 0;
  const failures = ok ? 0 : state.failures + 1;
  let status = state.status;
  if (ok && successes >= thresholds.healthyThreshold) status = "healthy";
  if (!ok && failures >= thresholds.unhealthyThreshold) status = "unhealthy";
  return {
    state: { status, successes, failures },
    transition: status === state.status ? null : { from: state.status, to: status },
  };
};
