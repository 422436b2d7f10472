import { z } from "zod";
import { DevsimError } from "#core";

// The instant-query answer, as documented at https://prometheus.io/docs/prometheus/latest/querying/api/
// ("Format overview" and "Instant vectors"): an envelope with `status`, and for a vector `data.result`,
// a list of `{ metric: labels, value: [unix seconds, "sample as a string"] }`.
const VectorSample = z.object({
  metric: z.record(z.string(), z.string()),
  value: z.tuple([z.number(), z.string()]),
});
const Success = z.object({
  status: z.literal("success"),
  data: z.object({ resultType: z.literal("vector"), result: z.array(VectorSample) }),
});
// Errors carry `errorType` (bad_data, execution, timeout, ...) and `error`, with a 4xx or 5xx status.
const Failure = z.object({ status: z.literal("error"), errorType: z.string(), error: z.string() });

export interface PrometheusApiOptions {
  /** The server's root, e.g. `http://127.0.0.1:9090`; the API is under `/api/v1`. */
  readonly baseUrl: string;
  readonly fetch?: typeof globalThis.fetch;
  /** For the whole exchange, answer body included. */
  readonly timeoutMs?: number;
}

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const unavailable = (message: string, details: Record<string, unknown>, cause?: unknown): DevsimError =>
  new DevsimError("unavailable", message, details, { cause });

/**
 * Evaluates a PromQL expression that yields an instant vector at `timeMs`. Every way the server can
 * fail to answer (unreachable, too slow, non-2xx, `status: "error"`, a malformed answer) throws a
 * DevsimError `unavailable` with the cause.
 */
export const queryInstant = async (
  { baseUrl, fetch = globalThis.fetch, timeoutMs = 5_000 }: PrometheusApiOptions,
  promql: string,
  timeMs: number,
): Promise<Sample[]> => {
  const url = `${baseUrl.replace(/\/+$/, "")}/api/v1/query`;
  const details = { url, query: promql, time: timeMs / 1000 };
  let status: number;
  let text: string;
  try {
    // POST with a form body, which the API takes like GET parameters, so long queries fit.
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ query: promql, time: (timeMs / 1000).toFixed(3) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    throw unavailable(
      timedOut ? `Prometheus did not answer within ${timeoutMs} ms` : "Prometheus could not be reached",
      details,
      error,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw unavailable(
      `Prometheus answered ${status} with a body that is not JSON`,
      { ...details, status },
      error,
    );
  }
  const failure = Failure.safeParse(json);
  if (failure.success || status < 200 || status >= 300) {
    const { errorType, error } = failure.success ? failure.data : { errorType: undefined, error: undefined };
    throw unavailable(`Prometheus answered ${status}${error ? `: ${error}` : ""}`, {
      ...details,
      status,
      errorType,
      error,
    });
  }
  const success = Success.safeParse(json);
  if (!success.success) {
    throw unavailable("Prometheus answered in an unexpected shape", { ...details, status }, success.error);
  }
  return success.data.data.result.map(({ metric, value }) => {
    const sample = Number(value[1]);
    if (!Number.isFinite(sample)) {
      throw unavailable(`Prometheus answered a sample of ${value[1]}`, { ...details, labels: metric });
    }
    return { labels: metric, value: sample };
  });
};
