import { AdapterError, type AdapterFailure } from "#core";
import { cloudRetryDecision } from "../managed-kubernetes/index.ts";

export const CLOUD = "digitalocean";

/**
 * A DigitalOcean API answer that was not a success (https://docs.digitalocean.com/reference/api/):
 * its status, its error `id` (`not_found`, `too_many_requests`…), and how long it asked us to wait.
 * Kept as the `cause` of the AdapterError it becomes.
 */
export class DoApiError extends Error {
  readonly status: number;
  readonly id: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { status: number; id?: string; requestId?: string; retryAfterMs?: number },
  ) {
    super(message);
    this.name = "DoApiError";
    this.status = details.status;
    this.id = details.id;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The API's HTTP status → our failure. */
export const failureForStatus = (status: number): AdapterFailure => {
  if (status === 429) return "throttled";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 409 || status === 412) return "conflict";
  if (status === 408 || status === 504) return "timeout";
  if (status >= 500) return "unavailable";
  return "invalid";
};

/** Maps what the DigitalOcean client threw to one AdapterError, keeping the request id and the original. */
export const toAdapterError = (error: unknown, op: string): AdapterError => {
  if (error instanceof AdapterError) return error;
  const prefix = `digitalocean-doks ${op}`;
  if (error instanceof DoApiError) {
    const id = error.id ? `${error.id}: ` : "";
    return new AdapterError(
      failureForStatus(error.status),
      CLOUD,
      `${prefix}: HTTP ${error.status} ${id}${error.message}`,
      {
        cause: error,
        ...(error.requestId ? { requestId: error.requestId } : {}),
      },
    );
  }
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return new AdapterError("timeout", CLOUD, `${prefix}: no answer in time`, { cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new AdapterError("unavailable", CLOUD, `${prefix}: the API could not be reached: ${reason}`, {
    cause: error,
  });
};

/** Retries what may pass later, after the wait the API asked for; conflicts too for callers that re-read. */
export const retryDecision = cloudRetryDecision((error) =>
  error.cause instanceof DoApiError ? error.cause.retryAfterMs : undefined,
);
