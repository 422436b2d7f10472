import { z } from "zod";
import { AdapterError, type RetryPolicy, retry, retryAfterMs } from "#core";
import { CLOUD, DoApiError, retryDecision, toAdapterError } from "./errors.ts";

/** The API's rate limit as its last answer reported it (`ratelimit-*` headers). */
export interface RateLimit {
  readonly limit: number;
  readonly remaining: number;
  /** When the oldest counted request expires, in ms since the epoch. */
  readonly resetAt: number;
}

export interface DoClientOptions {
  /** e.g. `https://api.digitalocean.com` */
  readonly apiUrl: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly fetch?: typeof globalThis.fetch;
}

export interface DoRequest {
  readonly body?: unknown;
  /** Whether a conflict (409) may be retried: only for callers that re-read before writing again. */
  readonly conflicts?: boolean;
}

/** A small typed client of the DigitalOcean API v2: bearer token, JSON, validated answers. */
export interface DoClient {
  /**
   * Sends a request, retrying throttling (429, after its Retry-After), 5xx, timeouts and lost
   * connections within the retry budget, and validates the success body with `schema`. Any failure
   * is an AdapterError.
   */
  request<S extends z.ZodType>(
    op: string,
    method: string,
    path: string,
    schema: S,
    options?: DoRequest,
  ): Promise<z.output<S>>;
  /** The rate limit as last reported, if any answer reported it. */
  rateLimit(): RateLimit | undefined;
}

const ErrorBody = z.object({
  id: z.string().optional(),
  message: z.string().optional(),
  request_id: z.string().optional(),
});

const readRateLimit = (headers: Headers): RateLimit | undefined => {
  const [limit, remaining, reset] = ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"].map(
    (name) => Number(headers.get(name) ?? Number.NaN),
  );
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  if (![limit, remaining, reset].every(Number.isFinite)) return undefined;
  return { limit, remaining, resetAt: reset * 1000 };
};

export const createDoClient = (options: DoClientOptions): DoClient => {
  const base = options.apiUrl.replace(/\/+$/, "");
  const fetch = options.fetch ?? globalThis.fetch;
  let limit: RateLimit | undefined;

  /** One attempt: the parsed JSON of a success, or a DoApiError. */
  const send = async (method: string, path: string, body: unknown): Promise<unknown> => {
    const now = Date.now();
    // A spent rate limit would only earn a 429: wait for its reset instead of asking.
    if (limit && limit.remaining <= 0 && limit.resetAt > now) {
      throw new DoApiError(
        `rate limit of ${limit.limit} spent until ${new Date(limit.resetAt).toISOString()}; not sent`,
        {
          status: 429,
          id: "too_many_requests",
          retryAfterMs: limit.resetAt - now,
        },
      );
    }
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      // The limit covers reading the body too.
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    limit = readRateLimit(response.headers) ?? limit;
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.ok) return json;
    const said = ErrorBody.safeParse(json);
    const requestId =
      response.headers.get("x-request-id") ?? (said.success ? said.data.request_id : undefined);
    const waited = retryAfterMs(response.headers.get("retry-after"), Date.now());
    const untilReset = response.status === 429 && limit ? Math.max(0, limit.resetAt - Date.now()) : undefined;
    const after = waited ?? untilReset;
    throw new DoApiError(
      (said.success ? said.data.message : undefined) ?? (text.slice(0, 200) || "(empty body)"),
      {
        status: response.status,
        ...(said.success && said.data.id ? { id: said.data.id } : {}),
        ...(requestId ? { requestId } : {}),
        ...(after !== undefined ? { retryAfterMs: after } : {}),
      },
    );
  };

  return {
    async request(op, method, path, schema, request = {}) {
      const json = await retry(
        async () => {
          try {
            return await send(method, path, request.body);
          } catch (error) {
            throw toAdapterError(error, op);
          }
        },
        { ...options.retry, retryable: retryDecision({ conflicts: request.conflicts ?? false }) },
      );
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      throw new AdapterError(
        "unavailable",
        CLOUD,
        `digitalocean-doks ${op}: unexpected answer: ${z.prettifyError(parsed.error)}`,
        { cause: parsed.error },
      );
    },
    rateLimit: () => limit,
  };
};
