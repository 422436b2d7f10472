/** What a JSON call answered: the status and the parsed body (null for an empty one). */
export interface JsonAnswer<T> {
  readonly status: number;
  readonly json: T;
}

/**
 * Calls `base` + `path` with `body` (if any) as JSON, as a client of devsim's API would, and parses
 * the answer. The type is the caller's claim about the body, not checked.
 */
export const callJson = async <T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonAnswer<T>> => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
};

/** A rollout as `GET /v1/rollouts/{id}` answers it, the fields the end-to-end tests read. */
export interface RolloutJson {
  id: string;
  status: string;
  message: string | null;
  currentStep: number;
  steps: { kind: string }[];
  weights: { cloud: string; region: string; revision: number; weight: number }[];
  analysis: { verdict: string; metric: string | null }[];
}

/** Seconds between health checks in the end-to-end tests: short, so failovers happen within a test. */
export const FAST_HEALTH_INTERVAL_S = 1;

/** A health check that notices a dead target within two intervals. */
export const FAST_HEALTH_CHECK = {
  path: "/healthz",
  intervalSeconds: FAST_HEALTH_INTERVAL_S,
  timeoutSeconds: 0.5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};
