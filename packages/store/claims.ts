import type { Db } from "./db.ts";

/**
 * Claims up to `limit` workloads that are due, for `leaseMs`. One statement, so it needs no open
 * transaction: `SKIP LOCKED` lets copies claim side by side without waiting on each other.
 *
 * A claimed workload falls due again when its lease expires (`next_reconcile_at` moves with the
 * lease), so work held by a copy that died is picked up by another. A reconcile request made while
 * the lease is held moves `next_reconcile_at` away from the lease expiry; release keeps it.
 */
export const claimDueWorkloads = async (
  db: Db,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<string[]> => {
  const rows = await db<{ id: string }[]>`
    WITH expiry AS (SELECT now() + ${leaseMs}::int * interval '1 millisecond' AS at)
    UPDATE workloads SET lease_owner = ${owner}, lease_expires_at = expiry.at, next_reconcile_at = expiry.at
    FROM expiry
    WHERE id IN (
      SELECT id FROM workloads
      WHERE next_reconcile_at <= now() AND (lease_expires_at IS NULL OR lease_expires_at < now())
      ORDER BY next_reconcile_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id`;
  return rows.map((r) => r.id);
};

/** Extends a lease this owner still holds; false means it was lost and the work must stop. */
export const renewLease = async (db: Db, id: string, owner: string, leaseMs: number): Promise<boolean> => {
  const rows = await db`
    WITH expiry AS (SELECT now() + ${leaseMs}::int * interval '1 millisecond' AS at)
    UPDATE workloads SET lease_expires_at = expiry.at,
      next_reconcile_at = CASE WHEN next_reconcile_at = lease_expires_at THEN expiry.at ELSE next_reconcile_at END
    FROM expiry
    WHERE id = ${id} AND lease_owner = ${owner} AND lease_expires_at > now()`;
  return rows.count === 1;
};

/** Gives a workload back, due again after `delayMs`, or only on request with null. */
export const releaseWorkload = async (
  db: Db,
  id: string,
  owner: string,
  delayMs: number | null,
): Promise<void> => {
  await db`
    UPDATE workloads SET lease_owner = NULL, lease_expires_at = NULL,
      next_reconcile_at = CASE
        WHEN next_reconcile_at = lease_expires_at
          THEN now() + ${delayMs}::int * interval '1 millisecond'
        ELSE LEAST(next_reconcile_at, now() + ${delayMs}::int * interval '1 millisecond')
      END
    WHERE id = ${id} AND lease_owner = ${owner}`;
};
