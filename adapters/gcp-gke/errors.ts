import { z } from "zod";
import { AdapterError, type AdapterFailure, retryAfterMs } from "#core";
import { cloudRetryDecision } from "../managed-kubernetes/index.ts";

export const CLOUD = "gcp";

/**
 * Google's canonical error codes, by name and by number
 * (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto), as failures.
 * FAILED_PRECONDITION is how GKE refuses a change while another operation runs on the cluster.
 */
const CODES: readonly (readonly [string, number, AdapterFailure])[] = [
  ["CANCELLED", 1, "unavailable"],
  ["UNKNOWN", 2, "unavailable"],
  ["INVALID_ARGUMENT", 3, "invalid"],
  ["DEADLINE_EXCEEDED", 4, "timeout"],
  ["NOT_FOUND", 5, "not_found"],
  ["ALREADY_EXISTS", 6, "conflict"],
  ["PERMISSION_DENIED", 7, "unauthorized"],
  ["RESOURCE_EXHAUSTED", 8, "throttled"],
  ["FAILED_PRECONDITION", 9, "conflict"],
  ["ABORTED", 10, "conflict"],
  ["OUT_OF_RANGE", 11, "invalid"],
  ["UNIMPLEMENTED", 12, "invalid"],
  ["INTERNAL", 13, "unavailable"],
  ["UNAVAILABLE", 14, "unavailable"],
  ["DATA_LOSS", 15, "unavailable"],
  ["UNAUTHENTICATED", 16, "unauthorized"],
];

export const failureForCode = (code: string | number): AdapterFailure | undefined =>
  CODES.find(([name, number]) => name === code || number === code)?.[2];

/** The HTTP status → failure, when the body names no code. */
export const failureForHttpStatus = (status: number): AdapterFailure => {
  if (status === 429) return "throttled";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 408 || status === 504) return "timeout";
  if (status >= 500) return "unavailable";
  return "invalid";
};

const Detail = z.looseObject({ "@type": z.string().optional() });
const ErrorBody = z.object({
  error: z.object({
    code: z.number().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    details: z.array(Detail).optional(),
  }),
});

/** What a Google API failure says, whichever layer (gaxios, gax) threw it. */
export interface GoogleFailure {
  readonly httpStatus?: number;
  readonly code?: string | number;
  readonly message: string;
  readonly requestId?: string;
  /** From a Retry-After header or a google.rpc.RetryInfo detail. */
  readonly retryAfterMs?: number;
}

/** A google.protobuf.Duration as JSON (`"1.5s"`) or as an object (`{ seconds, nanos }`), in ms. */
const durationMs = (value: unknown): number | undefined => {
  if (typeof value === "string") {
    const m = /^([0-9]+(?:\.[0-9]+)?)s$/.exec(value);
    return m ? Math.round(Number(m[1]) * 1000) : undefined;
  }
  const parsed = z
    .object({ seconds: z.coerce.number().optional(), nanos: z.number().optional() })
    .safeParse(value);
  if (!parsed.success) return undefined;
  return (parsed.data.seconds ?? 0) * 1000 + Math.round((parsed.data.nanos ?? 0) / 1e6);
};

const fromDetails = (
  details: readonly Record<string, unknown>[],
): Pick<GoogleFailure, "requestId" | "retryAfterMs"> => {
  let requestId: string | undefined;
  let retry: number | undefined;
  for (const detail of details) {
    if (typeof detail.requestId === "string") requestId = detail.requestId;
    if (detail.retryDelay !== undefined) retry = durationMs(detail.retryDelay);
  }
  return { ...(requestId ? { requestId } : {}), ...(retry !== undefined ? { retryAfterMs: retry } : {}) };
};

/** Reads a failure out of what `@google-cloud/container` threw over its REST transport. */
export const readGoogleFailure = (error: Error): GoogleFailure => {
  const fields = error as Error & {
    status?: unknown;
    code?: unknown;
    statusDetails?: unknown;
    response?: { headers?: { get?: (name: string) => string | null } };
  };
  // gaxios rejects a non-2xx answer itself; its message is the body.
  if (typeof fields.status === "number") {
    let body: z.infer<typeof ErrorBody> | undefined;
    try {
      const parsed = ErrorBody.safeParse(JSON.parse(error.message));
      body = parsed.success ? parsed.data : undefined;
    } catch {
      body = undefined;
    }
    const header = fields.response?.headers?.get?.("retry-after");
    const fromHeader = retryAfterMs(header, Date.now());
    const details = fromDetails(body?.error.details ?? []);
    const after = fromHeader ?? details.retryAfterMs;
    return {
      httpStatus: fields.status,
      ...(body?.error.status ? { code: body.error.status } : {}),
      message: body?.error.message ?? error.message,
      ...(details.requestId ? { requestId: details.requestId } : {}),
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    };
  }
  // gax's own GoogleError: a canonical code and decoded details.
  if (typeof fields.code === "number" && fields.code >= 0 && fields.code <= 16) {
    const details = Array.isArray(fields.statusDetails)
      ? fromDetails(
          fields.statusDetails.filter(
            (d): d is Record<string, unknown> => typeof d === "object" && d !== null,
          ),
        )
      : {};
    return { code: fields.code, message: error.message, ...details };
  }
  return { message: error.message };
};

/** google-auth-library's words when application default credentials are missing or refused. */
const CREDENTIAL_TROUBLE =
  /default credentials|invalid_grant|invalid_client|unauthorized_client|Could not refresh access token/i;

/**
 * Maps whatever the GKE client or google-auth-library threw to one AdapterError, keeping the
 * request id of a google.rpc.RequestInfo detail and the original error as `cause`.
 */
export const toAdapterError = (error: unknown, op: string): AdapterError => {
  if (error instanceof AdapterError) return error;
  const prefix = `gcp-gke ${op}`;
  if (!(error instanceof Error)) return new AdapterError("unavailable", CLOUD, `${prefix}: ${String(error)}`);
  const failure = readGoogleFailure(error);
  const byCode = failure.code === undefined ? undefined : failureForCode(failure.code);
  const byStatus = failure.httpStatus === undefined ? undefined : failureForHttpStatus(failure.httpStatus);
  const kind: AdapterFailure =
    byCode ?? byStatus ?? (CREDENTIAL_TROUBLE.test(error.message) ? "unauthorized" : "unavailable");
  const status = failure.httpStatus === undefined ? "" : `HTTP ${failure.httpStatus} `;
  const code = failure.code === undefined ? "" : `${failure.code}: `;
  return new AdapterError(kind, CLOUD, `${prefix}: ${status}${code}${failure.message}`, {
    cause: error,
    ...(failure.requestId ? { requestId: failure.requestId } : {}),
  });
};

/** Retries what may pass later, after the wait the API asked for; conflicts too for callers that re-read. */
export const retryDecision = cloudRetryDecision((error) =>
  error.cause instanceof Error ? readGoogleFailure(error.cause).retryAfterMs : undefined,
);
