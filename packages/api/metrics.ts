import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ROLLOUT_STATUSES, type RolloutStatus } from "#core";

export interface ApiMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  observeReconcile(seconds: number): void;
}

/**
 * The control plane's Prometheus metrics. `rolloutCounts` is read at scrape time, so the gauge
 * is right whichever process moved the rollouts.
 */
export const createApiMetrics = (rolloutCounts: () => Promise<Map<RolloutStatus, number>>): ApiMetrics => {
  const registry = new Registry();
  const requests = new Counter({
    name: "devsim_http_requests_total",
    help: "API requests by method, route and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const durations = new Histogram({
    name: "devsim_http_request_duration_seconds",
    help: "API request durations by method, route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const reconcile = new Histogram({
    name: "devsim_reconcile_duration_seconds",
    help: "Duration of reconcile passes",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: "devsim_rollouts",
    help: "Rollouts by status",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const counts = await rolloutCounts();
      for (const status of ROLLOUT_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  return {
    registry,
    observeRequest: (method, route, status, seconds) => {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      durations.observe(labels, seconds);
    },
    observeReconcile: (seconds) => reconcile.observe(seconds),
  };
};
