import { AggregateAuthenticationError, CredentialUnavailableError } from "@azure/identity";
import { describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import { failureForStatus, retryDecision, toAdapterError } from "./errors.ts";

/** What `@azure/core-rest-pipeline` throws for an HTTP failure, built by hand. */
const restError = (
  statusCode: number | undefined,
  code: string,
  headers: Record<string, string> = {},
): Error =>
  Object.assign(new Error(`${code} happened`), {
    name: "RestError",
    statusCode,
    code,
    response: { headers: { get: (name: string) => headers[name.toLowerCase()] } },
  });

describe("ARM status to failure", () => {
  test.each([
    [400, "invalid"],
    [401, "unauthorized"],
    [403, "unauthorized"],
    [404, "not_found"],
    [408, "timeout"],
    [409, "conflict"],
    [412, "conflict"],
    [422, "invalid"],
    [429, "throttled"],
    [500, "unavailable"],
    [503, "unavailable"],
  ] as const)("%i is %s", (status, failure) => {
    expect(failureForStatus(status)).toBe(failure);
  });
});

describe("toAdapterError", () => {
  test("a RestError keeps ARM's code, message, request id and itself as cause", () => {
    const original = restError(409, "OperationNotAllowed", { "x-ms-request-id": "req-7" });
    const error = toAdapterError(original, "scale node pool");
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ failure: "conflict", cloud: "azure", requestId: "req-7", cause: original });
    expect(error.message).toBe(
      "azure-aks scale node pool: HTTP 409 OperationNotAllowed: OperationNotAllowed happened",
    );
  });

  test("a RestError without a status (nothing answered) is unavailable", () => {
    expect(toAdapterError(restError(undefined, "REQUEST_SEND_ERROR"), "get")).toMatchObject({
      failure: "unavailable",
    });
  });

  test.each([
    ["AbortError", "timeout"],
    ["CredentialUnavailableError", "unauthorized"],
    ["AuthenticationError", "unauthorized"],
    ["AggregateAuthenticationError", "unauthorized"],
    ["AuthenticationRequiredError", "unauthorized"],
    ["TypeError", "unavailable"],
  ] as const)("%s is %s", (name, failure) => {
    const original = Object.assign(new Error("boom"), { name });
    expect(toAdapterError(original, "op")).toMatchObject({ failure, cause: original });
  });

  test("a chain that found no credential is told in one short clause per source", () => {
    const chain = new AggregateAuthenticationError(
      [
        new CredentialUnavailableError(
          "EnvironmentCredential is unavailable. No underlying credential could be used. To troubleshoot, visit https://aka.ms/x.",
        ),
        new CredentialUnavailableError(
          "ManagedIdentityCredential: Network unreachable. Message: network_error",
        ),
        new CredentialUnavailableError("Error: Unable to execute PowerShell. Ensure that it is installed"),
      ],
      "ChainedTokenCredential authentication failed.",
    );
    const error = toAdapterError(chain, "get an ARM token");
    expect(error).toMatchObject({ failure: "unauthorized", cause: chain });
    expect(error.message).toBe(
      "azure-aks get an ARM token: no usable Azure credential: tried 3 sources: EnvironmentCredential is unavailable; " +
        "ManagedIdentityCredential: Network unreachable; Unable to execute PowerShell",
    );
  });

  test("a single credential error keeps its own message", () => {
    const error = toAdapterError(new CredentialUnavailableError("Azure CLI could not be found."), "op");
    expect(error.message).toBe("azure-aks op: no usable Azure credential: Azure CLI could not be found.");
  });

  test("an AdapterError passes through unchanged; anything else becomes unavailable", () => {
    const already = new AdapterError("invalid", "azure", "bad");
    expect(toAdapterError(already, "op")).toBe(already);
    expect(toAdapterError("a string", "op")).toMatchObject({
      failure: "unavailable",
      message: "azure-aks op: a string",
    });
  });
});

describe("retryDecision", () => {
  const mapped = (status: number, headers: Record<string, string> = {}): AdapterError =>
    toAdapterError(restError(status, "X", headers), "op");

  test("throttling waits what Retry-After asks", () => {
    expect(retryDecision({ conflicts: false })(mapped(429, { "retry-after": "3" }))).toEqual({
      retry: true,
      afterMs: 3000,
    });
    expect(retryDecision({ conflicts: false })(mapped(503))).toEqual({ retry: true });
  });

  test("conflicts are retried only for callers that re-read", () => {
    expect(retryDecision({ conflicts: false })(mapped(409))).toEqual({ retry: false });
    expect(retryDecision({ conflicts: true })(mapped(412))).toEqual({ retry: true });
  });

  test("other failures and foreign errors are not retried", () => {
    for (const status of [400, 401, 404])
      expect(retryDecision({ conflicts: true })(mapped(status)).retry).toBe(false);
    expect(retryDecision({ conflicts: true })(new Error("x"))).toEqual({ retry: false });
  });
});
