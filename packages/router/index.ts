export {
  BACKEND_HEADER,
  backendName,
  createRouter,
  type RouterOptions,
  trafficRouter,
  type Upstream,
} from "./app.ts";
export { downstreamResponseHeaders, type ForwardedFrom, upstreamRequestHeaders } from "./headers.ts";
export {
  LATENCY_BUCKET_BOUNDS_MS,
  OutcomeCounters,
  type OutcomeCountersOptions,
  type OutcomeKey,
  type OutcomeSeries,
  type OutcomeSnapshot,
} from "./outcomes.ts";
export { pickBackend } from "./pick.ts";
export { renderOutcomeMetrics } from "./prometheus.ts";
export { type ResolvedWorkload, resolveWorkload } from "./resolve.ts";
export {
  type CachedTableSourceOptions,
  cachedTableSource,
  type RoutingTableSource,
  staticTableSource,
} from "./table-source.ts";
