import { z } from "zod";
import {
  AdapterError,
  type AdapterFailure,
  type Cloud,
  type RetryDecision,
  type RetryPolicy,
  retryAfterMs,
  retryCloudCall,
} from "#core";

/** A reply from the sim control API, whatever its status. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  readonly body: unknown;
  readonly text: string;
}

/** The control API's non-success answer, kept as the `cause` of the AdapterError it became. */
export class SimApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly retryAfter: string | null;

  constructor(status: number, message: string, body: unknown, retryAfter: string | null) {
    super(message);
    this.name = "SimApiError";
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export interface SimClientOptions {
  readonly cloud: Cloud;
  readonly baseUrl: string;
  readonly fetch: typeof globalThis.fetch;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

export interface SimControlClient {
  /**
   * Sends a request, retrying throttling (429), server errors (5xx), timeouts and connection
   * failures within the retry budget; every control API call is idempotent, so a retry after a
   * lost answer is safe. Gives back any other reply, whatever its status. When the budget is spent
   * it throws the last failure as an AdapterError (throttled, unavailable or timeout).
   */
  request(op: string, method: string, path: string, body?: unknown): Promise<Reply>;
  /** The AdapterError a reply that was not a success stands for. */
  failure(op: string, reply: Reply): AdapterError;
  /** Validates a successful reply's body; a body that does not fit means the cloud misbehaved. */
  parse<S extends z.ZodType>(op: string, schema: S, reply: Reply): z.output<S>;
}

const failureForStatus = (status: number): AdapterFailure => {
  if (status === 429) return "throttled";
  if (status === 400 || status === 422) return "invalid";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status >= 400 && status < 500) return "invalid";
  // 5xx, and anything else a control API should never answer.
  return "unavailable";
};

/** Statuses that say "not now" rather than "no": the same call may succeed later. */
const isTransient = (status: number): boolean => status === 429 || status >= 500;

/** Retries AdapterErrors that may pass later, after the Retry-After the cloud sent, if any. */
const retryDecision = (error: unknown): RetryDecision => {
  if (!(error instanceof AdapterError) || !error.retryable) return { retry: false };
  const after =
    error.cause instanceof SimApiError ? retryAfterMs(error.cause.retryAfter, Date.now()) : undefined;
  return after === undefined ? { retry: true } : { retry: true, afterMs: after };
};

/** Which kind of thing a 404 says is missing: a deployment, or the cloud or region around it. */
export const missingResource = (reply: Reply): string | undefined => {
  const parsed = ErrorBody.safeParse(reply.body);
  const resource = parsed.success ? parsed.data.error.details?.resource : undefined;
  return typeof resource === "string" ? resource : undefined;
};

export const createSimControlClient = (options: SimClientOptions): SimControlClient => {
  const base = options.baseUrl.replace(/\/+$/, "");
  const prefix = (op: string): string => `sim ${options.cloud}: ${op}`;
  const requestIdOf = (reply: Reply): { requestId?: string } => {
    const id = reply.headers.get("x-request-id");
    return id ? { requestId: id } : {};
  };

  /** One attempt: a reply, or an AdapterError when none arrived. */
  const send = async (op: string, method: string, path: string, body?: unknown): Promise<Reply> => {
    try {
      const response = await options.fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        // The limit covers reading the body too: the signal stays attached to the response stream.
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    } catch (error) {
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new AdapterError(
          "timeout",
          options.cloud,
          `${prefix(op)} timed out after ${options.timeoutMs} ms`,
          {
            cause: error,
          },
        );
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new AdapterError(
        "unavailable",
        options.cloud,
        `${prefix(op)} could not reach ${base}: ${reason}`,
        {
          cause: error,
        },
      );
    }
  };

  const failure = (op: string, reply: Reply): AdapterError => {
    const parsed = ErrorBody.safeParse(reply.body);
    const said = parsed.success ? parsed.data.error.message : reply.text.slice(0, 200) || "(empty body)";
    const retryAfter = isTransient(reply.status) ? reply.headers.get("retry-after") : null;
    const wait = retryAfter ? ` (retry after ${retryAfter})` : "";
    const message = `${prefix(op)} failed with HTTP ${reply.status}${wait}: ${said}`;
    const cause = new SimApiError(reply.status, message, reply.body ?? reply.text, retryAfter);
    return new AdapterError(failureForStatus(reply.status), options.cloud, message, {
      cause,
      ...requestIdOf(reply),
    });
  };

  return {
    request: (op, method, path, body) =>
      retryCloudCall(
        async () => {
          const reply = await send(op, method, path, body);
          if (isTransient(reply.status)) throw failure(op, reply);
          return reply;
        },
        { ...options.retry, retryable: retryDecision },
      ),

    failure,

    parse(op, schema, reply) {
      const parsed = schema.safeParse(reply.body);
      if (parsed.success) return parsed.data;
      const what = reply.body === undefined ? `a body that is not JSON: ${reply.text.slice(0, 200)}` : "";
      throw new AdapterError(
        "unavailable",
        options.cloud,
        `${prefix(op)} got an unexpected response (HTTP ${reply.status}): ${what || z.prettifyError(parsed.error)}`,
        { cause: parsed.error, ...requestIdOf(reply) },
      );
    },
  };
};
