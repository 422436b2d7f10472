import { z } from "zod";
import { AdapterError } from "./errors.ts";

/**
 * How hard to try a call that may fail for a while (a throttled or flaky cloud API). Backoff is
 * exponential with full jitter: the wait before retry n is drawn uniformly from
 * [0, min(maxMs, baseMs · 2^(n-1))), which spreads retrying clients apart
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */
export const RetryPolicy = z.strictObject({
  /** Attempts in all, the first included; 1 means never retry. */
  attempts: z.int().min(1).max(100).default(5),
  /** No attempt starts later than this many ms after the first one started. */
  budgetMs: z.int().min(0).max(3_600_000).default(10_000),
  /** Ceiling of the first backoff, doubled for each later one. */
  baseMs: z.int().min(0).max(60_000).default(100),
  /** Upper bound on any backoff ceiling. */
  maxMs: z.int().min(0).max(600_000).default(2_000),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;
export type RetryPolicyInput = z.input<typeof RetryPolicy>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = RetryPolicy.parse({});

/** What to do after a failed attempt. */
export interface RetryDecision {
  readonly retry: boolean;
  /** The wait the other side asked for (its Retry-After), in ms; it replaces the computed backoff. */
  readonly afterMs?: number;
}

export interface RetryEvent {
  /** The attempt that just failed, from 1. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: unknown;
}

export interface RetryOptions extends Partial<RetryPolicy> {
  /** Classifies a failure; anything it says not to retry is thrown at once. */
  readonly retryable: (error: unknown) => RetryDecision;
  /** Source of randomness in [0, 1) for the jitter. Default Math.random. */
  readonly random?: () => number;
  /** Waits between attempts. Default a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Clock in ms for the budget. Default Date.now. */
  readonly now?: () => number;
  /** Told before each wait, e.g. to log the retry. */
  readonly onRetry?: (event: RetryEvent) => void;
}

const timer = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The full-jitter wait before retry number `retry` (1 for the first retry). */
export const backoffMs = (
  retry: number,
  { baseMs, maxMs }: Pick<RetryPolicy, "baseMs" | "maxMs">,
  random: () => number,
): number => random() * Math.min(maxMs, baseMs * 2 ** (retry - 1));

/**
 * Calls `fn` until it succeeds, `retryable` refuses, the attempts run out, or the next attempt could
 * not start within the budget; then throws the last error unchanged, so callers keep their typed
 * errors. A Retry-After longer than what is left of the budget ends the retries at once: waiting
 * less than the server asked would only be refused again.
 *
 * @example
 * await retry((attempt) => client.send(request), {
 *   retryable: (e) => ({ retry: isThrottle(e), afterMs: retryAfterOf(e) }),
 * });
 */
export const retry = async <T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> => {
  const { retryable, random = Math.random, sleep = timer, now = Date.now, onRetry } = options;
  const { attempts, budgetMs, baseMs, maxMs } = RetryPolicy.parse({
    attempts: options.attempts,
    budgetMs: options.budgetMs,
    baseMs: options.baseMs,
    maxMs: options.maxMs,
  });
  const deadline = now() + budgetMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts) throw error;
      const decision = retryable(error);
      if (!decision.retry) throw error;
      const delayMs = decision.afterMs ?? backoffMs(attempt, { baseMs, maxMs }, random);
      if (now() + delayMs > deadline) throw error;
      onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
};

/**
 * `retry` for a cloud call: when it gives up on an AdapterError it would otherwise have retried
 * (the attempts or the budget ran out), the error it throws says after how many attempts and how
 * long, so an operator can tell a flaky API from a dead one. Other errors pass unchanged.
 */
export const retryCloudCall = async <T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> => {
  const now = options.now ?? Date.now;
  const started = now();
  let attempts = 0;
  try {
    return await retry((attempt) => {
      attempts = attempt;
      return fn(attempt);
    }, options);
  } catch (error) {
    if (!(error instanceof AdapterError) || attempts < 2 || !options.retryable(error).retry) throw error;
    const spent = `gave up after ${attempts} attempts in ${now() - started} ms`;
    throw new AdapterError(error.failure, error.cloud, `${error.message} (${spent})`, {
      cause: error.cause,
      ...(error.requestId ? { requestId: error.requestId } : {}),
    });
  }
};

/**
 * Reads a Retry-After header (https://www.rfc-editor.org/rfc/rfc9110#field.retry-after): either
 * delay-seconds or an HTTP-date. Gives the wait in ms (0 for a date in the past), or undefined when
 * the header is absent or malformed.
 */
export const retryAfterMs = (value: string | null | undefined, nowMs: number): number | undefined => {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with a day name; this keeps Date.parse from reading "1.5" as a date.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};
