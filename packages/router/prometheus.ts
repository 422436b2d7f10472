import type { OutcomeSnapshot } from "./outcomes.ts";

const escapeLabel = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/**
 * Renders router outcomes in the Prometheus text format: per workload, cloud, region and revision,
 * requests and 5xx as counters and latency as a histogram in seconds. Pure, so any runtime can
 * serve it.
 */
export const renderOutcomeMetrics = (snapshot: OutcomeSnapshot): string => {
  const requests = [
    "# HELP devsim_router_requests_total Requests the router sent to a backend",
    "# TYPE devsim_router_requests_total counter",
  ];
  const errors = [
    "# HELP devsim_router_server_errors_total Backend answers with status 5xx, and unreachable backends",
    "# TYPE devsim_router_server_errors_total counter",
  ];
  const latency = [
    "# HELP devsim_router_latency_seconds Time until the backend's response headers",
    "# TYPE devsim_router_latency_seconds histogram",
  ];
  for (const s of snapshot.series) {
    const labels = `workload="${escapeLabel(s.workload)}",cloud="${s.cloud}",region="${escapeLabel(s.region)}",revision="${s.revision}"`;
    requests.push(`devsim_router_requests_total{${labels}} ${s.requests}`);
    errors.push(`devsim_router_server_errors_total{${labels}} ${s.serverErrors}`);
    let cumulative = 0;
    s.latencyBuckets.forEach((count, i) => {
      cumulative += count;
      const bound = snapshot.bucketBoundsMs[i];
      const le = bound === undefined ? "+Inf" : String(bound / 1000);
      latency.push(`devsim_router_latency_seconds_bucket{${labels},le="${le}"} ${cumulative}`);
    });
    latency.push(`devsim_router_latency_seconds_sum{${labels}} ${s.latencySumMs / 1000}`);
    latency.push(`devsim_router_latency_seconds_count{${labels}} ${cumulative}`);
  }
  return `${[...requests, ...errors, ...latency].join("\n")}\n`;
};
