import { z } from "zod";
import { AdapterError, type AdapterFailure, type Cloud } from "#core";

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
}

export interface SimControlClient {
  /** Sends one request; throws AdapterError only when no reply arrived (connection failure, timeout). */
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

  return {
    async request(op, method, path, body) {
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
    },

    failure(op, reply) {
      const parsed = ErrorBody.safeParse(reply.body);
      const said = parsed.success ? parsed.data.error.message : reply.text.slice(0, 200) || "(empty body)";
      const retryAfter = reply.status === 429 ? reply.headers.get("retry-after") : null;
      const wait = retryAfter ? ` (retry after ${retryAfter})` : "";
      const message = `${prefix(op)} failed with HTTP ${reply.status}${wait}: ${said}`;
      const cause = new SimApiError(reply.status, message, reply.body ?? reply.text, retryAfter);
      return new AdapterError(failureForStatus(reply.status), options.cloud, message, {
        cause,
        ...requestIdOf(reply),
      });
    },

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
