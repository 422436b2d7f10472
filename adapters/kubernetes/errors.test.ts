import { ApiException } from "@kubernetes/client-node";
import { describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import { failureForStatus, retryDecision, statusOf, toAdapterError } from "./errors.ts";

/** What the client throws for a refused call: the Status as text, and the answer's headers. */
const refusal = (code: number, reason: string, message: string, headers: Record<string, string> = {}) =>
  new ApiException<string>(
    code,
    "Unknown API Status Code!",
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      code,
    }),
    { "content-type": "application/json", "audit-id": "0c4a7e1e-93b4-4b5b-9a0b-6f3f1f3f9c11", ...headers },
  );

describe("failureForStatus", () => {
  test.each([
    [400, "BadRequest", "invalid"],
    [401, "Unauthorized", "unauthorized"],
    [403, "Forbidden", "unauthorized"],
    [404, "NotFound", "not_found"],
    [405, "MethodNotAllowed", "invalid"],
    [409, "Conflict", "conflict"],
    [409, "AlreadyExists", "conflict"],
    [410, "Expired", "invalid"],
    [415, "UnsupportedMediaType", "invalid"],
    [422, "Invalid", "invalid"],
    [429, "TooManyRequests", "throttled"],
    [500, "InternalError", "unavailable"],
    [500, "ServerTimeout", "timeout"],
    [502, undefined, "unavailable"],
    [503, "ServiceUnavailable", "unavailable"],
    [504, "Timeout", "timeout"],
    [504, undefined, "timeout"],
  ])("HTTP %i %s is %s", (code, reason, failure) => {
    expect(failureForStatus(code, reason)).toBe(failure);
  });
});

describe("toAdapterError", () => {
  test("a Status answer becomes one AdapterError with the server's message, Audit-Id and the original as cause", () => {
    const original = refusal(
      409,
      "Conflict",
      'Operation cannot be fulfilled on deployments.apps "shop-r3": the object has been modified',
    );
    const error = toAdapterError(original, "azure", "kubernetes azure/westeurope: scale devsim-shop/shop-r3");
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      failure: "conflict",
      cloud: "azure",
      requestId: "0c4a7e1e-93b4-4b5b-9a0b-6f3f1f3f9c11",
      code: "cloud_error",
    });
    expect(error.message).toBe(
      'kubernetes azure/westeurope: scale devsim-shop/shop-r3: HTTP 409 Conflict: Operation cannot be fulfilled on deployments.apps "shop-r3": the object has been modified',
    );
    expect(error.cause).toBe(original);
  });

  test("throttling says when to come back", () => {
    const error = toAdapterError(
      refusal(429, "TooManyRequests", "the server has received too many requests", { "retry-after": "3" }),
      "gcp",
      "describe",
    );
    expect(error.failure).toBe("throttled");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("(retry after 3 s)");
  });

  test("a 401 the client hands over without a body still maps, with its request id", () => {
    const error = toAdapterError(
      new ApiException(401, "Unauthorized", undefined, { "audit-id": "a-1" }),
      "digitalocean",
      "deploy",
    );
    expect(error).toMatchObject({ failure: "unauthorized", requestId: "a-1" });
    expect(error.message).toBe("deploy: HTTP 401 Unauthorized");
  });

  test("a body that is not a Status is quoted, shortened", () => {
    const error = toAdapterError(
      new ApiException(502, "x", `<html>${"x".repeat(500)}</html>`, {}),
      "gcp",
      "describe",
    );
    expect(error.failure).toBe("unavailable");
    expect(error.message.length).toBeLessThan(260);
    expect(error).toMatchObject({ requestId: undefined });
  });

  test("a refused connection is unavailable, naming the socket error", () => {
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" }),
    });
    const error = toAdapterError(refused, "azure", "deploy");
    expect(error).toMatchObject({ failure: "unavailable", cause: refused });
    expect(error.message).toContain("ECONNREFUSED");
  });

  test("a request aborted by its time limit is a timeout", () => {
    const timedOut = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    expect(toAdapterError(timedOut, "azure", "describe").failure).toBe("timeout");
    const aborted = new DOMException("This operation was aborted", "AbortError");
    Object.defineProperty(aborted, "cause", { value: timedOut });
    expect(toAdapterError(aborted, "azure", "describe").failure).toBe("timeout");
  });

  test("an unreadable answer is unavailable", () => {
    expect(toAdapterError(new SyntaxError("Unexpected token <"), "gcp", "describe").failure).toBe(
      "unavailable",
    );
  });

  test("an AdapterError passes through unchanged", () => {
    const own = new AdapterError("unauthorized", "gcp", "no token");
    expect(toAdapterError(own, "gcp", "deploy")).toBe(own);
  });
});

describe("statusOf", () => {
  test("reads a Status from text or an object, and nothing else", () => {
    const status = {
      kind: "Status",
      code: 404,
      reason: "NotFound",
      message: 'deployments.apps "x" not found',
    };
    expect(statusOf(JSON.stringify(status))).toMatchObject(status);
    expect(statusOf(status)).toMatchObject(status);
    expect(statusOf("<html>")).toBeUndefined();
    expect(statusOf({ kind: "Deployment" })).toBeUndefined();
    expect(statusOf(undefined)).toBeUndefined();
  });
});

describe("retryDecision", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  test.each([
    [refusal(429, "TooManyRequests", "slow down"), true],
    [refusal(500, "InternalError", "oops"), true],
    [refusal(503, "ServiceUnavailable", "down"), true],
    [refusal(504, "Timeout", "slow"), true],
    [refusal(409, "Conflict", "modified"), true],
    [refusal(400, "BadRequest", "no"), false],
    [refusal(401, "Unauthorized", "who"), false],
    [refusal(403, "Forbidden", "no"), false],
    [refusal(404, "NotFound", "gone"), false],
    [refusal(422, "Invalid", "bad"), false],
  ])("%#: retries %s", (original, retry) => {
    expect(retryDecision(toAdapterError(original, "gcp", "op"), now).retry).toBe(retry);
  });

  test("honours Retry-After in seconds and as an HTTP date", () => {
    const seconds = toAdapterError(refusal(429, "TooManyRequests", "x", { "retry-after": "2" }), "gcp", "op");
    expect(retryDecision(seconds, now)).toEqual({ retry: true, afterMs: 2_000 });
    const date = toAdapterError(
      refusal(503, "ServiceUnavailable", "x", { "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }),
      "gcp",
      "op",
    );
    expect(retryDecision(date, now)).toEqual({ retry: true, afterMs: 5_000 });
    const none = toAdapterError(refusal(503, "ServiceUnavailable", "x"), "gcp", "op");
    expect(retryDecision(none, now)).toEqual({ retry: true });
  });

  test("anything but an AdapterError is not retried", () => {
    expect(retryDecision(new Error("bug"), now)).toEqual({ retry: false });
  });
});
