/** Every error our code raises on purpose carries one of these codes; the API maps them to statuses. */
export type ErrorCode =
  | "invalid_input"
  | "not_found"
  | "conflict"
  | "invalid_transition"
  | "unavailable"
  | "cloud_error"
  | "internal";

export interface ErrorDetails {
  readonly [key: string]: unknown;
}

/** The one base error: a code, a message meant for people, and details meant for machines. */
export class DevsimError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DevsimError";
    this.code = code;
    this.details = details;
  }
}

/** Why a cloud call failed, independent of the cloud. */
export type AdapterFailure =
  | "not_found"
  | "throttled"
  | "unauthorized"
  | "conflict"
  | "unavailable"
  | "timeout"
  | "invalid";

/** Every adapter rethrows what its SDK throws as this, once, at its boundary. */
export class AdapterError extends DevsimError {
  readonly failure: AdapterFailure;
  readonly cloud: string;
  readonly requestId: string | undefined;

  constructor(
    failure: AdapterFailure,
    cloud: string,
    message: string,
    options: { cause?: unknown; requestId?: string } = {},
  ) {
    super("cloud_error", message, { failure, cloud, requestId: options.requestId }, { cause: options.cause });
    this.name = "AdapterError";
    this.failure = failure;
    this.cloud = cloud;
    this.requestId = options.requestId;
  }

  /** Whether trying the same call again later may succeed. */
  get retryable(): boolean {
    return this.failure === "throttled" || this.failure === "unavailable" || this.failure === "timeout";
  }
}

export const notFound = (what: string, name: string | number): DevsimError =>
  new DevsimError("not_found", `${what} '${name}' not found`, { [what]: name });
