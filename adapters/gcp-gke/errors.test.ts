import { describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import {
  failureForCode,
  failureForHttpStatus,
  readGoogleFailure,
  retryDecision,
  toAdapterError,
} from "./errors.ts";

/** What gaxios throws for a non-2xx answer under the REST transport: the status, headers, the body as message. */
const gaxiosError = (status: number, body: unknown, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(JSON.stringify(body)), {
    name: "GaxiosError",
    status,
    code: status,
    response: { headers: new Headers(headers) },
  });

const googleBody = (code: number, status: string, details: unknown[] = []) => ({
  error: { code, message: `${status} said`, status, details },
});

describe("canonical codes and HTTP statuses to failures", () => {
  test.each([
    ["INVALID_ARGUMENT", "invalid"],
    ["DEADLINE_EXCEEDED", "timeout"],
    ["NOT_FOUND", "not_found"],
    ["ALREADY_EXISTS", "conflict"],
    ["PERMISSION_DENIED", "unauthorized"],
    ["RESOURCE_EXHAUSTED", "throttled"],
    ["FAILED_PRECONDITION", "conflict"],
    ["ABORTED", "conflict"],
    ["INTERNAL", "unavailable"],
    ["UNAVAILABLE", "unavailable"],
    ["UNAUTHENTICATED", "unauthorized"],
  ] as const)("%s is %s, by name and by number", (name, failure) => {
    expect(failureForCode(name)).toBe(failure);
  });

  test("numbers are the same codes", () => {
    expect(failureForCode(5)).toBe("not_found");
    expect(failureForCode(8)).toBe("throttled");
    expect(failureForCode(42)).toBeUndefined();
  });

  test.each([
    [400, "invalid"],
    [401, "unauthorized"],
    [403, "unauthorized"],
    [404, "not_found"],
    [409, "conflict"],
    [429, "throttled"],
    [500, "unavailable"],
    [504, "timeout"],
  ] as const)("HTTP %i is %s", (status, failure) => {
    expect(failureForHttpStatus(status)).toBe(failure);
  });
});

describe("readGoogleFailure", () => {
  test("a gaxios error: status, canonical code, message, RequestInfo and RetryInfo", () => {
    const error = gaxiosError(
      429,
      googleBody(429, "RESOURCE_EXHAUSTED", [
        { "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: "req-9" },
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "1.5s" },
      ]),
    );
    expect(readGoogleFailure(error)).toEqual({
      httpStatus: 429,
      code: "RESOURCE_EXHAUSTED",
      message: "RESOURCE_EXHAUSTED said",
      requestId: "req-9",
      retryAfterMs: 1500,
    });
  });

  test("a Retry-After header wins over RetryInfo", () => {
    const error = gaxiosError(
      503,
      googleBody(503, "UNAVAILABLE", [
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "9s" },
      ]),
      { "retry-after": "2" },
    );
    expect(readGoogleFailure(error).retryAfterMs).toBe(2000);
  });

  test("a body that is not Google's error JSON keeps the status and the text", () => {
    expect(readGoogleFailure(gaxiosError(502, "<html>bad gateway</html>"))).toEqual({
      httpStatus: 502,
      message: '"<html>bad gateway</html>"',
    });
  });

  test("gax's GoogleError: a numeric code and decoded details", () => {
    const error = Object.assign(new Error("5 NOT_FOUND: gone"), {
      code: 5,
      statusDetails: [{ requestId: "req-1" }, { retryDelay: { seconds: "3", nanos: 500_000_000 } }],
    });
    expect(readGoogleFailure(error)).toEqual({
      code: 5,
      message: "5 NOT_FOUND: gone",
      requestId: "req-1",
      retryAfterMs: 3500,
    });
  });
});

describe("toAdapterError", () => {
  test("keeps the request id and the original error", () => {
    const original = gaxiosError(
      404,
      googleBody(404, "NOT_FOUND", [
        { "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: "r-2" },
      ]),
    );
    const error = toAdapterError(original, "get cluster x");
    expect(error).toMatchObject({ failure: "not_found", cloud: "gcp", requestId: "r-2", cause: original });
    expect(error.message).toBe("gcp-gke get cluster x: HTTP 404 NOT_FOUND: NOT_FOUND said");
  });

  test("the canonical code wins over the HTTP status (GKE's 400 FAILED_PRECONDITION is a conflict)", () => {
    expect(toAdapterError(gaxiosError(400, googleBody(400, "FAILED_PRECONDITION")), "op").failure).toBe(
      "conflict",
    );
  });

  test("missing application default credentials are unauthorized; a refused connection is unavailable", () => {
    const adc = new Error(
      "Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication",
    );
    expect(toAdapterError(adc, "op").failure).toBe("unauthorized");
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(toAdapterError(refused, "op").failure).toBe("unavailable");
  });

  test("an AdapterError passes through; a non-error becomes unavailable", () => {
    const already = new AdapterError("timeout", "gcp", "late");
    expect(toAdapterError(already, "op")).toBe(already);
    expect(toAdapterError(42, "op")).toMatchObject({ failure: "unavailable" });
  });
});

describe("retryDecision", () => {
  test("throttling waits the RetryInfo delay; conflicts only when the caller re-reads", () => {
    const throttled = toAdapterError(
      gaxiosError(
        429,
        googleBody(429, "RESOURCE_EXHAUSTED", [
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "4s" },
        ]),
      ),
      "op",
    );
    expect(retryDecision({ conflicts: false })(throttled)).toEqual({ retry: true, afterMs: 4000 });
    const conflict = toAdapterError(gaxiosError(409, googleBody(409, "ABORTED")), "op");
    expect(retryDecision({ conflicts: false })(conflict)).toEqual({ retry: false });
    expect(retryDecision({ conflicts: true })(conflict)).toEqual({ retry: true });
    expect(
      retryDecision({ conflicts: true })(
        toAdapterError(gaxiosError(403, googleBody(403, "PERMISSION_DENIED")), "op"),
      ),
    ).toEqual({ retry: false });
  });
});
