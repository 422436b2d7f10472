import postgres from "postgres";

export type Sql = postgres.Sql;

export interface ConnectOptions {
  /** Pool size (postgres.js default: 10). */
  readonly max?: number;
  /** Shown in pg_stat_activity, so operators can tell our connections apart. */
  readonly applicationName?: string;
  /**
   * How long opening a connection (TCP, startup, auth) may take before its queries fail with
   * CONNECT_TIMEOUT; 5 s by default. postgres.js waits 30 s, which would hold every request to a
   * database that has vanished from the network for that long.
   */
  readonly connectTimeoutSeconds?: number;
  /**
   * The longest pause before a new connection attempt after failed ones; 1 s by default. A query
   * waits out that pause before it can fail, and postgres.js lets it grow to 20 s.
   */
  readonly maxReconnectDelaySeconds?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;
export const DEFAULT_MAX_RECONNECT_DELAY_SECONDS = 1;

/**
 * Seconds to wait before the next connection attempt after `failures` failed ones: doubling from
 * 50 ms up to `maxSeconds`, less up to half of it at random so that many clients do not retry in step.
 */
export const reconnectDelaySeconds = (failures: number, maxSeconds: number, random = Math.random()): number =>
  Math.min(maxSeconds, 0.05 * 2 ** Math.max(0, failures - 1)) * (1 - random / 2);

/** Opens a lazy connection pool: nothing connects until the first query. */
export const connectDatabase = (url: string, options: ConnectOptions = {}): Sql =>
  postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS,
    backoff: (failures) =>
      reconnectDelaySeconds(
        failures,
        options.maxReconnectDelaySeconds ?? DEFAULT_MAX_RECONNECT_DELAY_SECONDS,
      ),
    // Notices ("relation … already exists, skipping") are expected chatter, not log lines.
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "devsim" },
  });

/**
 * Answers within `timeoutMs` whether a trivial query succeeds. A query to a server that is gone
 * waits for postgres.js's connect timeout, so the probe races a timer instead of awaiting it.
 */
export const databaseIsReachable = async (sql: Sql, timeoutMs: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  const probe = sql`select 1 as ok`.then(
    (rows) => rows[0]?.ok === 1,
    () => false,
  );
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, false);
  });
  try {
    return await Promise.race([probe, expired]);
  } finally {
    clearTimeout(timer);
  }
};
