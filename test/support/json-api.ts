/** What a JSON call answered: the status and the parsed body (null for an empty one). */
export interface JsonAnswer<T> {
  readonly status: number;
  readonly json: T;
}

/**
 * Calls `base` + `path` with `body` (if any) as JSON, as a client of devsim's API would, and parses
 * the answer. The type is the caller's claim about the body, not checked.
 */
export const callJson = async <T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonAnswer<T>> => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
};
