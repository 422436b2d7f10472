import { describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import { DoApiError, failureForStatus, retryDecision, toAdapterError } from "./errors.ts";

describe("DigitalOcean status to failure", () => {
  test.each([
    [400, "invalid"],
    [401, "unauthorized"],
    [403, "unauthorized"],
    [404, "not_found"],
    [409, "conflict"],
    [422, "invalid"],
    [429, "throttled"],
    [500, "unavailable"],
    [503, "unavailable"],
    [504, "timeout"],
  ] as const)("%i is %s", (status, failure) => {
    expect(failureForStatus(status)).toBe(failure);
  });
});

describe("toAdapterError", () => {
  test("an API error keeps its id, message and request id, and is the cause", () => {
    const original = new DoApiError("API Rate limit exceeded.", {
      status: 429,
      id: "too_many_requests",
      requestId: "req-4",
      retryAfterMs: 2000,
    });
    const error = toAdapterError(original, "list clusters");
    expect(error).toMatchObject({
      failure: "throttled",
      cloud: "digitalocean",
      requestId: "req-4",
      cause: original,
    });
    expect(error.message).toBe(
      "digitalocean-doks list clusters: HTTP 429 too_many_requests: API Rate limit exceeded.",
    );
  });

  test.each([
    ["TimeoutError", "timeout"],
    ["AbortError", "timeout"],
    ["TypeError", "unavailable"],
  ] as const)("a thrown %s is %s", (name, failure) => {
    expect(toAdapterError(Object.assign(new Error("x"), { name }), "op").failure).toBe(failure);
  });

  test("an AdapterError passes through", () => {
    const already = new AdapterError("invalid", "digitalocean", "bad");
    expect(toAdapterError(already, "op")).toBe(already);
  });
});

describe("retryDecision", () => {
  const mapped = (status: number, retryAfterMs?: number): AdapterError =>
    toAdapterError(
      new DoApiError("m", { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }),
      "op",
    );

  test("waits what the API asked; conflicts only for callers that re-read", () => {
    expect(retryDecision({ conflicts: false })(mapped(429, 1500))).toEqual({ retry: true, afterMs: 1500 });
    expect(retryDecision({ conflicts: false })(mapped(502))).toEqual({ retry: true });
    expect(retryDecision({ conflicts: false })(mapped(409))).toEqual({ retry: false });
    expect(retryDecision({ conflicts: true })(mapped(409))).toEqual({ retry: true });
    expect(retryDecision({ conflicts: true })(mapped(404))).toEqual({ retry: false });
  });
});
