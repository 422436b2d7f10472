import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { DevsimError } from "#core";
import { toErrorResponse } from "./errors.ts";

const coded = (code: string): Error =>
  Object.assign(new Error(`failed: ${code} at /srv/app.js:1:2`), { code });

/** The answer of an app whose only route throws `error`. */
const answerTo = async (error: unknown) => {
  const app = new Hono();
  app.get("/", () => {
    throw error;
  });
  app.onError(toErrorResponse);
  const res = await app.request("/");
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
};

describe("toErrorResponse", () => {
  it.each([
    ["a refused connection", coded("ECONNREFUSED"), "ECONNREFUSED"],
    ["a connect timeout", coded("CONNECT_TIMEOUT"), "CONNECT_TIMEOUT"],
    ["a server shutting down", coded("57P01"), "57P01"],
    [
      "an internal error caused by a lost connection",
      new DevsimError("internal", "pass failed", {}, { cause: coded("CONNECTION_CLOSED") }),
      "CONNECTION_CLOSED",
    ],
  ])("answers %s with 503 unavailable and when to come back", async (_what, error, reason) => {
    expect(await answerTo(error)).toEqual({
      status: 503,
      retryAfter: "5",
      body: {
        error: {
          code: "unavailable",
          message: "the database is unreachable; try again shortly",
          details: { reason },
        },
      },
    });
  });

  it("keeps the status of a coded error even when its cause is a lost connection", async () => {
    const error = new DevsimError(
      "not_found",
      "workload 'x' not found",
      { workload: "x" },
      { cause: coded("ECONNRESET") },
    );
    expect(await answerTo(error)).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });

  it.each([
    ["a bug", new Error("undefined is not a function")],
    ["a constraint violation", coded("23505")],
  ])("answers %s with a bare 500 that leaks nothing", async (_what, error) => {
    const answer = await answerTo(error);
    expect(answer).toEqual({
      status: 500,
      retryAfter: null,
      body: { error: { code: "internal", message: "internal error", details: {} } },
    });
  });

  it("answers an internal DevsimError with its own message", async () => {
    const answer = await answerTo(new DevsimError("internal", "routing table cache entry without a value"));
    expect(answer).toMatchObject({
      status: 500,
      body: { error: { code: "internal", message: "routing table cache entry without a value" } },
    });
  });
});
