// Codes that mean "the database cannot be reached right now", as opposed to "the query is wrong".
// Socket errors come from Node (https://nodejs.org/api/errors.html#common-system-errors); CONNECT_TIMEOUT
// and CONNECTION_* from postgres.js (https://github.com/porsager/postgres#error-handling); SQLSTATE
// class 08 (connection exception) and 57P01–57P03 (shutdown, crash, starting up) from the server
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P02",
  "57P03",
]);

const codeOf = (error: object): string | undefined =>
  "code" in error && typeof error.code === "string" ? error.code : undefined;

/** How deep to look through causes: wrappers nest an error once or twice, never more. */
const MAX_DEPTH = 5;

/**
 * The code that shows the database was unreachable when `error` happened, looking through `cause`
 * chains and AggregateErrors (Node reports a failed connection to every address of a host as one)
 * but not into failed fetches; undefined when the error says nothing of the kind.
 *
 * @example
 * unreachableReason(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })) // "ECONNREFUSED"
 */
export const unreachableReason = (error: unknown, depth = 0): string | undefined => {
  if (depth > MAX_DEPTH || typeof error !== "object" || error === null) return undefined;
  // fetch rejects a network failure with a TypeError (https://fetch.spec.whatwg.org/#concept-network-error):
  // a refused connection inside one is another service's, never the database's.
  if (error instanceof TypeError) return undefined;
  const code = codeOf(error);
  if (code !== undefined && (UNREACHABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const reason = unreachableReason(inner, depth + 1);
      if (reason !== undefined) return reason;
    }
  }
  return "cause" in error ? unreachableReason(error.cause, depth + 1) : undefined;
};

/** Whether `error` means the database could not be reached: answer 503 and try again, not 500. */
export const isDatabaseUnreachable = (error: unknown): boolean => unreachableReason(error) !== undefined;
