import {
  AccessDeniedException,
  ClientException,
  ClusterNotFoundException,
  ConflictException,
  ECSServiceException,
  InvalidParameterException,
  LimitExceededException,
  ServerException,
  ServiceNotActiveException,
  ServiceNotFoundException,
} from "@aws-sdk/client-ecs";
import { describe, expect, test } from "vitest";
import { AdapterError, type AdapterFailure } from "#core";
import { ecsErrorCode, ecsFailure, ecsRetryDecision, toAdapterError } from "./errors.ts";

const metadata = (httpStatusCode: number, requestId = "req-1") => ({ httpStatusCode, requestId });

/** A service error as the SDK builds one for a code it has no class for. */
const serviceError = (
  name: string,
  httpStatusCode: number,
  message = "said the cloud",
): ECSServiceException =>
  new ECSServiceException({
    name,
    $fault: httpStatusCode >= 500 ? "server" : "client",
    $metadata: metadata(httpStatusCode),
    message,
  });

const nodeError = (code: string): Error => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

const cases: readonly [string, unknown, AdapterFailure][] = [
  ["ThrottlingException", serviceError("ThrottlingException", 400, "Rate exceeded"), "throttled"],
  ["TooManyRequestsException", serviceError("TooManyRequestsException", 429), "throttled"],
  ["an unknown code with HTTP 429", serviceError("SlowDownPlease", 429), "throttled"],
  [
    "AccessDeniedException",
    new AccessDeniedException({ message: "no", $metadata: metadata(400) }),
    "unauthorized",
  ],
  ["UnrecognizedClientException", serviceError("UnrecognizedClientException", 400), "unauthorized"],
  ["InvalidSignatureException", serviceError("InvalidSignatureException", 400), "unauthorized"],
  ["ExpiredTokenException", serviceError("ExpiredTokenException", 400), "unauthorized"],
  ["ExpiredToken", serviceError("ExpiredToken", 400), "unauthorized"],
  ["an unknown code with HTTP 403", serviceError("Forbidden", 403), "unauthorized"],
  [
    "no credentials found by the default chain",
    Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    }),
    "unauthorized",
  ],
  [
    "ServiceNotFoundException",
    new ServiceNotFoundException({ message: "Service not found.", $metadata: metadata(400) }),
    "not_found",
  ],
  [
    "ClusterNotFoundException",
    new ClusterNotFoundException({ message: "Cluster not found.", $metadata: metadata(400) }),
    "not_found",
  ],
  [
    "ServiceNotActiveException",
    new ServiceNotActiveException({ message: "Service was not ACTIVE.", $metadata: metadata(400) }),
    "conflict",
  ],
  [
    "ConflictException",
    new ConflictException({ message: "clientToken reused", $metadata: metadata(400) }),
    "conflict",
  ],
  [
    "InvalidParameterException: not idempotent",
    new InvalidParameterException({
      message: "Creation of service was not idempotent.",
      $metadata: metadata(400),
    }),
    "conflict",
  ],
  [
    "InvalidParameterException: still draining",
    new InvalidParameterException({
      message: "Unable to Start a service that is still Draining.",
      $metadata: metadata(400),
    }),
    "conflict",
  ],
  ["ServerException", new ServerException({ message: "boom", $metadata: metadata(500) }), "unavailable"],
  ["ServiceUnavailable", serviceError("ServiceUnavailable", 503), "unavailable"],
  ["an unknown code with HTTP 502", serviceError("BadGateway", 502), "unavailable"],
  ["a refused connection", nodeError("ECONNREFUSED"), "unavailable"],
  ["a reset connection", nodeError("ECONNRESET"), "unavailable"],
  ["an unknown host", nodeError("ENOTFOUND"), "unavailable"],
  [
    "the HTTP handler's TimeoutError",
    Object.assign(new Error("exceeded 100 ms"), { name: "TimeoutError" }),
    "timeout",
  ],
  ["a socket ETIMEDOUT", nodeError("ETIMEDOUT"), "timeout"],
  [
    "InvalidParameterException",
    new InvalidParameterException({
      message: "desiredCount can't be less than 0.",
      $metadata: metadata(400),
    }),
    "invalid",
  ],
  [
    "ClientException",
    new ClientException({ message: "TaskDefinition not found.", $metadata: metadata(400) }),
    "invalid",
  ],
  [
    "LimitExceededException",
    new LimitExceededException({ message: "quota", $metadata: metadata(400) }),
    "invalid",
  ],
  ["an unknown code with HTTP 400", serviceError("SomethingNew", 400), "invalid"],
  ["something that is not an error at all", "a string", "unavailable"],
];

describe("ECS error mapping", () => {
  test.each(cases)("%s → %s", (_name, error, failure) => {
    expect(ecsFailure(error)).toBe(failure);
    const mapped = toAdapterError(error, { region: "eu-west-1", operation: "CreateService" });
    expect(mapped).toBeInstanceOf(AdapterError);
    expect(mapped).toMatchObject({ failure, cloud: "aws", code: "cloud_error" });
    expect(mapped.cause).toBe(error);
    expect(mapped.message).toMatch(/^aws ecs eu-west-1: CreateService failed: /);
  });

  test("the request id of the answer is kept, in the error and its message", () => {
    const error = new ServiceNotFoundException({
      message: "Service not found.",
      $metadata: metadata(400, "abc-123"),
    });
    const mapped = toAdapterError(error, { region: "us-east-1", operation: "UpdateService" });
    expect(mapped.requestId).toBe("abc-123");
    expect(mapped.details).toMatchObject({ requestId: "abc-123", failure: "not_found" });
    expect(mapped.message).toBe(
      "aws ecs us-east-1: UpdateService failed: ServiceNotFoundException: Service not found. (HTTP 400, request id abc-123)",
    );
    expect(ecsErrorCode(mapped)).toBe("ServiceNotFoundException");
  });

  test("an error with no answer has no request id", () => {
    const mapped = toAdapterError(nodeError("ECONNREFUSED"), {
      region: "us-east-1",
      operation: "DescribeServices",
    });
    expect(mapped.requestId).toBeUndefined();
    expect(mapped.message).toBe(
      "aws ecs us-east-1: DescribeServices failed: Error: connect ECONNREFUSED 127.0.0.1:1",
    );
  });

  test("an AdapterError passes through unchanged", () => {
    const already = new AdapterError("conflict", "aws", "lost a race");
    expect(toAdapterError(already, { region: "us-east-1", operation: "CreateService" })).toBe(already);
  });

  test("throttled, unavailable and timeout are retried; the rest are not", () => {
    const decide = (error: unknown) =>
      ecsRetryDecision(toAdapterError(error, { region: "eu-west-1", operation: "DescribeServices" }));
    for (const [, error, failure] of cases) {
      const expected = failure === "throttled" || failure === "unavailable" || failure === "timeout";
      expect(decide(error).retry).toBe(expected);
    }
    expect(ecsRetryDecision(new Error("not mapped"))).toEqual({ retry: false });
  });

  test("a Retry-After header on the answer replaces the backoff", () => {
    const throttled = serviceError("ThrottlingException", 400, "Rate exceeded");
    Object.defineProperty(throttled, "$response", {
      value: { statusCode: 400, headers: { "Retry-After": "3" } },
    });
    const mapped = toAdapterError(throttled, { region: "eu-west-1", operation: "DescribeServices" });
    expect(ecsRetryDecision(mapped)).toEqual({ retry: true, afterMs: 3000 });
    expect(mapped.message).toContain("retry after 3");
    expect(
      ecsRetryDecision(
        toAdapterError(serviceError("ThrottlingException", 400), { region: "x", operation: "y" }),
      ),
    ).toEqual({
      retry: true,
    });
  });
});
