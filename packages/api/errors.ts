import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { DevsimError, type ErrorCode } from "#core";
import { unreachableReason } from "#store";

/** The one place where error codes become HTTP statuses. */
const STATUS: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  unavailable: 503,
  cloud_error: 502,
  internal: 500,
};

/** What a 503 for an unreachable database asks clients to wait before trying again. */
export const RETRY_AFTER_SECONDS = 5;

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
}

const body = (code: string, message: string, details: Readonly<Record<string, unknown>> = {}): ErrorBody => ({
  error: { code, message, details },
});

/** Turns a zod failure into a 400 that names the first offending field and lists every issue. */
export const validationError = (error: ZodError, where: string): DevsimError => {
  const issues = error.issues.map((i) => ({ field: i.path.join(".") || where, message: i.message }));
  const first = issues[0] ?? { field: where, message: "invalid" };
  return new DevsimError("invalid_input", `${first.field}: ${first.message}`, { field: first.field, issues });
};

/** What an error thrown by our code answers, whatever carries the answer (a response, an event stream). */
export interface ErrorAnswer {
  readonly status: ContentfulStatusCode;
  readonly body: ErrorBody;
  /** How long clients should wait before trying again, when the failure is passing. */
  readonly retryAfterSeconds?: number;
}

export const errorAnswer = (error: unknown): ErrorAnswer => {
  if (error instanceof DevsimError && error.code !== "internal") {
    return { status: STATUS[error.code], body: body(error.code, error.message, error.details) };
  }
  // Looked for through causes too, so an internal error that wraps a lost connection is a 503 as well.
  const reason = unreachableReason(error);
  if (reason !== undefined) {
    // The database is gone for a while, not broken: clients should come back, not report a bug.
    return {
      status: 503,
      body: body("unavailable", "the database is unreachable; try again shortly", { reason }),
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    };
  }
  if (error instanceof DevsimError)
    return { status: 500, body: body(error.code, error.message, error.details) };
  return { status: 500, body: body("internal", "internal error") };
};

/** Maps anything thrown by a handler to our error body; nothing leaks a stack trace. */
export const toErrorResponse = (error: unknown, c: Context): Response => {
  if (error instanceof HTTPException) {
    const status = error.status;
    // Hono's validators refuse a body without a JSON content type before any schema sees it.
    if (status === 415) {
      return c.json(
        body("invalid_input", "the body must be JSON, sent with 'content-type: application/json'", {
          field: "content-type",
        }),
        415,
      );
    }
    const code = status === 400 ? "invalid_input" : status === 404 ? "not_found" : "http_error";
    return c.json(body(code, error.message || "bad request"), status as ContentfulStatusCode);
  }
  const answer = errorAnswer(error);
  if (answer.retryAfterSeconds !== undefined) c.header("retry-after", String(answer.retryAfterSeconds));
  return c.json(answer.body, answer.status);
};

export const notFoundResponse = (c: Context): Response =>
  c.json(body("not_found", `no route for ${c.req.method} ${c.req.path}`, { path: c.req.path }), 404);
