import { STATUS_CODES } from "node:http";
import { ApiException } from "@kubernetes/client-node";
import { z } from "zod";
import { AdapterError, type AdapterFailure, type RetryDecision, retryAfterMs } from "#core";

/**
 * The `Status` object the API server answers errors with
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#response-status-kind).
 */
export const KubernetesStatus = z.looseObject({
  kind: z.literal("Status"),
  status: z.string().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  code: z.int().optional(),
  details: z
    .looseObject({
      causes: z
        .array(
          z.looseObject({
            reason: z.string().optional(),
            message: z.string().optional(),
            field: z.string().optional(),
          }),
        )
        .optional(),
      retryAfterSeconds: z.int().optional(),
    })
    .optional(),
});
export type KubernetesStatus = z.infer<typeof KubernetesStatus>;

/**
 * The failure an HTTP status stands for, after the API conventions' list of codes
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#http-status-codes).
 * `ServerTimeout` (500) and 504 say the server ran out of time, not that it is down.
 */
export const failureForStatus = (code: number, reason?: string): AdapterFailure => {
  if (code === 429) return "throttled";
  if (code === 401 || code === 403) return "unauthorized";
  if (code === 404) return "not_found";
  if (code === 409) return "conflict";
  if (code === 504 || reason === "ServerTimeout" || reason === "Timeout") return "timeout";
  if (code >= 400 && code < 500) return "invalid";
  return "unavailable";
};

/** The Status in an ApiException's body, which the client hands over as text. */
export const statusOf = (body: unknown): KubernetesStatus | undefined => {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const parsed = KubernetesStatus.safeParse(value);
  return parsed.success ? parsed.data : undefined;
};

const headerOf = (error: ApiException<unknown>, name: string): string | undefined => {
  const found = Object.entries(error.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return found?.[1];
};

/** The API server's request id: the `Audit-Id` it sends with every answer. */
const requestIdOf = (error: ApiException<unknown>): { requestId?: string } => {
  const id = headerOf(error, "audit-id") ?? headerOf(error, "x-request-id");
  return id ? { requestId: id } : {};
};

const describeCause = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const inner = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${inner}`;
};

/** Node's and undici's names for a call that ran out of time. */
const isTimeout = (error: unknown): boolean =>
  error instanceof Error &&
  (error.name === "TimeoutError" ||
    (error.name === "AbortError" && error.cause instanceof Error && error.cause.name === "TimeoutError"));

/**
 * Turns whatever a Kubernetes call threw into one AdapterError, keeping the original as `cause`
 * and the API server's `Audit-Id` as `requestId`. An AdapterError passes through unchanged.
 *
 * @example
 * try { await apps.readNamespacedDeployment(...) } catch (e) { throw toAdapterError(e, "azure", "describe shop-r3") }
 */
export const toAdapterError = (error: unknown, cloud: string, what: string): AdapterError => {
  if (error instanceof AdapterError) return error;
  if (error instanceof ApiException) {
    const status = statusOf(error.body);
    const reason = status?.reason;
    // The client drops the body of some answers (401 among them); the status line still says what happened.
    const said =
      status?.message ??
      (typeof error.body === "string" && error.body !== "" ? error.body.slice(0, 200) : undefined);
    const retryAfter = error.code === 429 || error.code >= 500 ? headerOf(error, "retry-after") : undefined;
    const message =
      `${what}: HTTP ${error.code} ${reason ?? STATUS_CODES[error.code] ?? ""}`.trimEnd() +
      (said ? `: ${said}` : "") +
      (retryAfter ? ` (retry after ${retryAfter} s)` : "");
    return new AdapterError(failureForStatus(error.code, reason), cloud, message, {
      cause: error,
      ...requestIdOf(error),
    });
  }
  if (isTimeout(error)) {
    return new AdapterError("timeout", cloud, `${what}: no answer in time (${describeCause(error)})`, {
      cause: error,
    });
  }
  if (error instanceof SyntaxError) {
    return new AdapterError(
      "unavailable",
      cloud,
      `${what}: the API server sent an unreadable answer: ${error.message}`,
      {
        cause: error,
      },
    );
  }
  // Connection refused or reset, DNS, TLS: the API server could not be reached.
  return new AdapterError(
    "unavailable",
    cloud,
    `${what}: could not reach the API server: ${describeCause(error)}`,
    {
      cause: error,
    },
  );
};

/**
 * Whether to try a failed call again. Throttling, 5xx, timeouts and unreachable servers pass with
 * time, after the `Retry-After` the server sent if any; conflicts pass once the caller re-reads,
 * which every attempt of ours does first.
 */
export const retryDecision = (error: unknown, nowMs: number = Date.now()): RetryDecision => {
  if (!(error instanceof AdapterError)) return { retry: false };
  if (!error.retryable && error.failure !== "conflict") return { retry: false };
  const cause = error.cause;
  const after =
    cause instanceof ApiException ? retryAfterMs(headerOf(cause, "retry-after"), nowMs) : undefined;
  return after === undefined ? { retry: true } : { retry: true, afterMs: after };
};

/** Whether a call failed because the object is not there. */
export const isNotFound = (error: unknown): boolean =>
  (error instanceof ApiException && error.code === 404) ||
  (error instanceof AdapterError && error.failure === "not_found");
