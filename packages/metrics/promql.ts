import { DevsimError } from "#core";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A series selector such as `devsim_router_requests_total{workload="shop",revision="2"}`. Label
 * values are quoted as JSON strings, whose escapes PromQL's double-quoted strings share.
 */
export const selector = (metric: string, labels: Readonly<Record<string, string>>): string => {
  const matchers = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name)) {
      throw new DevsimError("invalid_input", `'${name}' is not a Prometheus label name`, { label: name });
    }
    return `${name}=${JSON.stringify(value)}`;
  });
  return `${metric}{${matchers.join(",")}}`;
};

/**
 * How much the counters in `series` grew over the `windowMs` before the evaluation time, per series.
 * `requests` selects the request counters of the same routers; `series` may be them too.
 *
 * Plain `increase()` extrapolates to the window's edges and misses what a series held at its first
 * scrape: for a canary whose series are born inside the window, that is much of its traffic. So,
 * with "end" the last sample in the window (a router that went away still has one):
 * - a series that existed when the window began counts end minus start, exactly, and one born
 *   within it all it holds at the end (a counter starts at 0);
 * - when a router restarted, which shows on its request counter, its series count all they hold at
 *   the end if the restart came before the window's first sample (the counter ends lower than it
 *   began), and Prometheus' `increase()` if it came between samples of the window.
 * The restart is read off the request counter because a single latency bucket may by chance end
 * at its starting value after a restart, which would look like no growth.
 */
export const windowIncrease = (series: string, requests: string, windowMs: number): string => {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new DevsimError("invalid_input", "a window must be a positive whole number of ms", { windowMs });
  }
  const range = `${windowMs}ms`;
  const end = (s: string) => `last_over_time(${s}[${range}])`;
  const restartBetweenSamples = `(resets(${requests}[${range}]) > 0)`;
  const restartBeforeFirst = `((${end(requests)} - ${requests} offset ${range}) < 0)`;
  const growth = `((${end(series)} - ${series} offset ${range}) or ${end(series)})`;
  // `ignoring(le)` lets latency buckets match their router's request counter.
  return (
    `((${growth} unless ignoring(le) (${restartBetweenSamples} or ${restartBeforeFirst}))` +
    ` or (${end(series)} and ignoring(le) (${restartBeforeFirst} unless ${restartBetweenSamples}))` +
    ` or (increase(${series}[${range}]) and ignoring(le) ${restartBetweenSamples}))`
  );
};
