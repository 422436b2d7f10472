export { type PrometheusApiOptions, queryInstant, type Sample } from "./prometheus-api.ts";
export { type PrometheusMetricSourceOptions, prometheusMetricSource } from "./prometheus-source.ts";
export { selector, windowIncrease } from "./promql.ts";
