import { AdapterError, type AdapterFailure, type RetryDecision, retryAfterMs } from "#core";

/**
 * What an SDK error looks like from outside: a service error has a `name` (the error code, such as
 * `ThrottlingException`), `$metadata` with the HTTP status and request id, and a hidden
 * `$response`; a transport error is a Node error with a `code` or the handler's `TimeoutError`.
 */
interface SdkErrorShape {
  readonly name: string;
  readonly message: string;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string };
  readonly $response?: { readonly headers?: Readonly<Record<string, string | undefined>> };
}

const isSdkError = (error: unknown): error is SdkErrorShape =>
  error instanceof Error || (typeof error === "object" && error !== null && "name" in error);

/**
 * Error codes by failure, from the ECS API reference's error lists
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html and each action's
 * "Errors" section). Codes not listed fall back to their HTTP status.
 */
const FAILURE_BY_CODE: Readonly<Record<string, AdapterFailure>> = {
  ThrottlingException: "throttled",
  Throttling: "throttled",
  TooManyRequestsException: "throttled",
  RequestLimitExceeded: "throttled",
  RequestThrottled: "throttled",
  RequestThrottledException: "throttled",

  AccessDeniedException: "unauthorized",
  AccessDenied: "unauthorized",
  UnrecognizedClientException: "unauthorized",
  InvalidClientTokenId: "unauthorized",
  InvalidSignatureException: "unauthorized",
  SignatureDoesNotMatch: "unauthorized",
  IncompleteSignature: "unauthorized",
  IncompleteSignatureException: "unauthorized",
  MissingAuthenticationToken: "unauthorized",
  MissingAuthenticationTokenException: "unauthorized",
  ExpiredToken: "unauthorized",
  ExpiredTokenException: "unauthorized",
  RequestExpired: "unauthorized",
  // The SDK's own error when its default chain finds no credentials at all.
  CredentialsProviderError: "unauthorized",

  ServiceNotFoundException: "not_found",
  ClusterNotFoundException: "not_found",
  ResourceNotFoundException: "not_found",
  NamespaceNotFoundException: "not_found",
  TaskSetNotFoundException: "not_found",

  // UpdateService on a service that is not ACTIVE: the write raced a change of the service's state.
  ServiceNotActiveException: "conflict",
  ConflictException: "conflict",
  UpdateInProgressException: "conflict",
  ResourceInUseException: "conflict",

  ServerException: "unavailable",
  ServiceUnavailable: "unavailable",
  ServiceUnavailableException: "unavailable",
  InternalFailure: "unavailable",
  InternalServerError: "unavailable",

  TimeoutError: "timeout",
  RequestTimeout: "timeout",
  RequestTimeoutException: "timeout",

  InvalidParameterException: "invalid",
  ClientException: "invalid",
  ValidationException: "invalid",
  SerializationException: "invalid",
  UnknownOperationException: "invalid",
  UnsupportedFeatureException: "invalid",
  PlatformUnknownException: "invalid",
  PlatformTaskDefinitionIncompatibilityException: "invalid",
  // A quota (services per cluster, revisions per family): waiting does not lift it.
  LimitExceededException: "invalid",
  AttributeLimitExceededException: "invalid",
};

/**
 * InvalidParameterException messages that say a service of that name exists already (ACTIVE, or
 * still DRAINING after a delete): the create lost a race, it was not a bad request.
 */
const NAME_TAKEN = /not idempotent|already exists|still draining/i;

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
]);

const failureForStatus = (status: number): AdapterFailure => {
  if (status === 429) return "throttled";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 408) return "timeout";
  if (status >= 400 && status < 500) return "invalid";
  return "unavailable";
};

/** The failure an error from the ECS SDK stands for. */
export const ecsFailure = (error: unknown): AdapterFailure => {
  if (!isSdkError(error)) return "unavailable";
  if (error.name === "InvalidParameterException" && NAME_TAKEN.test(error.message)) return "conflict";
  const byCode = FAILURE_BY_CODE[error.name];
  if (byCode) return byCode;
  if (error.code === "ETIMEDOUT") return "timeout";
  if (typeof error.code === "string" && NETWORK_CODES.has(error.code)) return "unavailable";
  const status = error.$metadata?.httpStatusCode;
  if (status !== undefined) return failureForStatus(status);
  // No answer and no known cause: the API could not be used, which the same call may not meet again.
  return "unavailable";
};

/** The cloud's request id, when an answer arrived. */
export const ecsRequestId = (error: unknown): string | undefined =>
  isSdkError(error) ? error.$metadata?.requestId : undefined;

const retryAfterHeader = (error: unknown): string | undefined => {
  if (!isSdkError(error)) return undefined;
  const headers = error.$response?.headers ?? {};
  const key = Object.keys(headers).find((name) => name.toLowerCase() === "retry-after");
  return key === undefined ? undefined : headers[key];
};

export interface EcsCallContext {
  readonly region: string;
  /** The ECS action, e.g. `CreateService`. */
  readonly operation: string;
}

/** Rethrows anything the ECS SDK threw as one AdapterError, keeping the request id and the original. */
export const toAdapterError = (error: unknown, { region, operation }: EcsCallContext): AdapterError => {
  if (error instanceof AdapterError) return error;
  const failure = ecsFailure(error);
  const requestId = ecsRequestId(error);
  const code = isSdkError(error) ? error.name : "Error";
  const said = isSdkError(error) ? error.message : String(error);
  const status = isSdkError(error) ? error.$metadata?.httpStatusCode : undefined;
  const retryAfter = retryAfterHeader(error);
  const details = [
    status === undefined ? undefined : `HTTP ${status}`,
    requestId ? `request id ${requestId}` : undefined,
    retryAfter ? `retry after ${retryAfter}` : undefined,
  ].filter((d) => d !== undefined);
  const message = `aws ecs ${region}: ${operation} failed: ${code}: ${said}${details.length ? ` (${details.join(", ")})` : ""}`;
  return new AdapterError(failure, "aws", message, { cause: error, ...(requestId ? { requestId } : {}) });
};

/** For `retry`: retries failures that may pass later, after the Retry-After the API sent, if any. */
export const ecsRetryDecision = (error: unknown): RetryDecision => {
  if (!(error instanceof AdapterError) || !error.retryable) return { retry: false };
  const after = retryAfterMs(retryAfterHeader(error.cause), Date.now());
  return after === undefined ? { retry: true } : { retry: true, afterMs: after };
};

/** The ECS error code behind an AdapterError, e.g. `ServiceNotFoundException`. */
export const ecsErrorCode = (error: AdapterError): string | undefined =>
  isSdkError(error.cause) ? error.cause.name : undefined;
