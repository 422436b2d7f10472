import postgres from "postgres";

export type Sql = postgres.Sql;

export interface ConnectOptions {
  /** Pool size (postgres.js default: 10). */
  readonly max?: number;
  /** Shown in pg_stat_activity, so operators can tell our connections apart. */
  readonly applicationName?: string;
}

/** Opens a lazy connection pool: nothing connects until the first query. */
export const connectDatabase = (url: string, options: ConnectOptions = {}): Sql =>
  postgres(url, {
    max: options.max ?? 10,
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
