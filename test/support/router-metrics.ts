/** Which router series to add up: a workload's, in one region of one cloud. */
export interface RouterSeriesFilter {
  readonly workload: string;
  readonly cloud: string;
  readonly region: string;
}

/**
 * The requests a router has sent to one region of a workload, summed over revisions, read from
 * Prometheus text (the API's /metrics serves the routers' counters as `devsim_router_requests_total`).
 */
export const routerAttempts = (metrics: string, { workload, cloud, region }: RouterSeriesFilter): number => {
  let total = 0;
  for (const line of metrics.split("\n")) {
    if (
      line.startsWith("devsim_router_requests_total{") &&
      line.includes(`workload="${workload}"`) &&
      line.includes(`cloud="${cloud}"`) &&
      line.includes(`region="${region}"`)
    ) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
};
