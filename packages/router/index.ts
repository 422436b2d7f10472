export { createRouter, type RouterOptions, trafficRouter, type Upstream } from "./app.ts";
export {
  type Attempted,
  BACKEND_HEADER,
  backendName,
  Forwarder,
  type ForwarderOptions,
  type ForwardRequest,
  failureBody,
  IDEMPOTENT,
  type Route,
  type RouterFailure,
} from "./forward.ts";
export {
  downstreamResponseHeaders,
  type ForwardedFrom,
  forwardRawRequestHeaders,
  rawResponseHeaders,
  upstreamRequestHeaders,
} from "./headers.ts";
export {
  LATENCY_BUCKET_BOUNDS_MS,
  OutcomeCounters,
  type OutcomeCountersOptions,
  type OutcomeKey,
  type OutcomeSeries,
  type OutcomeSnapshot,
} from "./outcomes.ts";
export { OutlierDetector, type OutlierOptions } from "./outliers.ts";
export { pickBackend } from "./pick.ts";
export { renderOutcomeMetrics } from "./prometheus.ts";
export { type ResolvedWorkload, resolveWorkload } from "./resolve.ts";
export { RetryBudget, type RetryBudgetOptions } from "./retry-budget.ts";
export {
  type CachedTableSourceOptions,
  cachedTableSource,
  type RoutingTableSource,
  staticTableSource,
} from "./table-source.ts";
