/** What one probe found. */
export interface ProbeOutcome {
  readonly ok: boolean;
  /** Why it failed, for people; null on success. */
  readonly error: string | null;
}

const reason = (error: unknown): string => {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error && "code" in cause && typeof cause.code === "string") return cause.code;
    return cause instanceof Error ? cause.message : error.message;
  }
  return String(error);
};

/**
 * Probes one backend: `GET <url><path>`, a 2xx answer within `timeoutMs` is a success, anything
 * else (another status, a refused or reset connection, no answer in time) a failure. Throws only
 * when `signal` aborts, since the probe then says nothing about the backend.
 *
 * @example await probeBackend("http://10.0.0.7:8080", "/healthz", 2_000)
 */
export const probeBackend = async (
  url: string,
  path: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeOutcome> => {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(`${url.replace(/\/+$/, "")}${path}`, {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: "manual",
      headers: { "user-agent": "devsim-health" },
    });
    await res.body?.cancel();
    return res.ok ? { ok: true, error: null } : { ok: false, error: `answered ${res.status}` };
  } catch (error) {
    signal?.throwIfAborted();
    if (timeout.aborted) return { ok: false, error: `no answer within ${timeoutMs} ms` };
    return { ok: false, error: reason(error) };
  }
};
