import { AdapterError, type AdapterFailure, retryAfterMs } from "#core";
import { cloudRetryDecision } from "../managed-kubernetes/index.ts";

export const CLOUD = "azure";

/** What the Azure SDK's RestError carries that matters here (read structurally, not by class). */
interface RestErrorLike {
  readonly name: string;
  readonly message: string;
  readonly statusCode?: number;
  readonly code?: string;
  readonly response?: { readonly headers: { get(name: string): string | undefined } };
}

const asRestError = (error: unknown): RestErrorLike | undefined =>
  error instanceof Error && error.name === "RestError" ? (error as RestErrorLike) : undefined;

/** Errors `@azure/identity` throws when no credential works or a token is refused. */
const CREDENTIAL_ERRORS = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AggregateAuthenticationError",
  "AuthenticationRequiredError",
]);

/** A message's first sentence, without the SDK's "Error: " in front. */
const firstSentence = (message: string): string => {
  const text = message.replace(/^Error: /, "").trim();
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end);
};

/**
 * What a credential error says, short: a chain that tried every source (DefaultAzureCredential's
 * AggregateAuthenticationError, whose message runs to a screenful) becomes one clause per source;
 * each source's whole text stays in the error's `cause`.
 */
const credentialProblem = (error: Error): string => {
  const tried = (error as Error & { readonly errors?: unknown }).errors;
  if (!Array.isArray(tried) || tried.length === 0) return error.message;
  const reasons = tried.map((e) => firstSentence(e instanceof Error ? e.message : String(e)));
  return `tried ${reasons.length} sources: ${reasons.join("; ")}`;
};

/** ARM's HTTP status → our failure (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors). */
export const failureForStatus = (status: number): AdapterFailure => {
  if (status === 429) return "throttled";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 409 || status === 412) return "conflict";
  if (status === 408) return "timeout";
  if (status >= 500) return "unavailable";
  return "invalid";
};

/**
 * Maps whatever the Azure SDK or `@azure/identity` threw to one AdapterError, keeping ARM's request
 * id (`x-ms-request-id`) and the original error as `cause`.
 */
export const toAdapterError = (error: unknown, op: string): AdapterError => {
  if (error instanceof AdapterError) return error;
  const prefix = `azure-aks ${op}`;
  if (!(error instanceof Error)) return new AdapterError("unavailable", CLOUD, `${prefix}: ${String(error)}`);
  if (error.name === "AbortError") {
    return new AdapterError("timeout", CLOUD, `${prefix}: no answer in time`, { cause: error });
  }
  if (CREDENTIAL_ERRORS.has(error.name)) {
    return new AdapterError(
      "unauthorized",
      CLOUD,
      `${prefix}: no usable Azure credential: ${credentialProblem(error)}`,
      {
        cause: error,
      },
    );
  }
  const rest = asRestError(error);
  if (rest) {
    const requestId = rest.response?.headers.get("x-ms-request-id");
    const ids = requestId ? { requestId } : {};
    if (rest.statusCode === undefined) {
      return new AdapterError("unavailable", CLOUD, `${prefix}: ARM unreachable: ${rest.message}`, {
        cause: error,
        ...ids,
      });
    }
    const code = rest.code ? `${rest.code}: ` : "";
    return new AdapterError(
      failureForStatus(rest.statusCode),
      CLOUD,
      `${prefix}: HTTP ${rest.statusCode} ${code}${rest.message}`,
      { cause: error, ...ids },
    );
  }
  return new AdapterError("unavailable", CLOUD, `${prefix}: ${error.message}`, { cause: error });
};

/** The wait ARM asked for (its Retry-After), in ms. */
export const retryAfterOf = (error: AdapterError): number | undefined => {
  const cause = asRestError(error.cause);
  return cause ? retryAfterMs(cause.response?.headers.get("retry-after"), Date.now()) : undefined;
};

/** Retries what may pass later, after ARM's Retry-After; conflicts too when the caller re-reads before writing again. */
export const retryDecision = cloudRetryDecision(retryAfterOf);
