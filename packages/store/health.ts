import { type Cloud, HEALTH_CHECK_DEFAULTS, type StepTarget } from "#core";
import type { FailoverStatus, TargetFailover } from "#failover";
import type { ProbeState, ProbeStatus } from "#health";
import type { BackendKey } from "./backends.ts";
import { type Db, isoOrNull, jsonb } from "./db.ts";

/**
 * Claims up to `limit` live workloads whose health check is due at `now`, moving each one's next
 * check an interval on in the same statement: two health passes never probe a workload in the
 * same interval, and one that dies mid-pass leaves it for the next interval.
 */
export const claimHealthChecks = async (db: Db, now: Date, limit: number): Promise<string[]> => {
  const rows = await db<{ id: string }[]>`
    UPDATE workloads SET next_health_check_at = ${now}::timestamptz
      + COALESCE((health_check->>'intervalSeconds')::int, ${HEALTH_CHECK_DEFAULTS.intervalSeconds}::int) * interval '1 second'
    WHERE id IN (
      SELECT id FROM workloads
      WHERE deleted_at IS NULL AND next_health_check_at <= ${now}::timestamptz
      ORDER BY next_health_check_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id`;
  return rows.map((r) => r.id);
};

/** A running backend with what its probes found. */
export interface BackendHealth extends BackendKey, ProbeState {
  readonly url: string;
  readonly weight: number;
  readonly replicas: number;
  readonly scaledReplicas: number | null;
  readonly lastCheck: string | null;
  readonly lastError: string | null;
}

/** The running backends of a workload and their probe records (unknown for one never probed). */
export const listBackendHealth = async (db: Db, workloadId: string): Promise<BackendHealth[]> => {
  const rows = await db<
    {
      cloud: Cloud;
      region: string;
      revision: number;
      url: string | null;
      weight: number;
      replicas: number;
      status: ProbeStatus | null;
      successes: number | null;
      failures: number | null;
      scaled_replicas: number | null;
      last_check_at: Date | null;
      last_error: string | null;
    }[]
  >`
    SELECT b.cloud, b.region, b.revision, b.url, b.weight, b.replicas, h.status, h.successes, h.failures,
      h.scaled_replicas, h.last_check_at, h.last_error
    FROM backends b LEFT JOIN backend_health h USING (workload_id, cloud, region, revision)
    WHERE b.workload_id = ${workloadId} AND b.state = 'running'
    ORDER BY b.cloud, b.region, b.revision`;
  return rows.map((r) => ({
    cloud: r.cloud,
    region: r.region,
    revision: r.revision,
    url: r.url ?? "",
    weight: r.weight,
    replicas: r.replicas,
    status: r.status ?? "unknown",
    successes: r.successes ?? 0,
    failures: r.failures ?? 0,
    scaledReplicas: r.scaled_replicas,
    lastCheck: isoOrNull(r.last_check_at),
    lastError: r.last_error,
  }));
};

/** One probe's outcome for a backend, with the state it leads to. */
export interface ProbeRecord extends BackendKey {
  readonly state: ProbeState;
  readonly checkedAt: Date;
  /** Why the probe failed; null when it succeeded. */
  readonly error: string | null;
}

/** Stores probe outcomes, all in one statement; a backend removed meanwhile is skipped. */
export const recordProbes = async (
  db: Db,
  workloadId: string,
  records: readonly ProbeRecord[],
): Promise<void> => {
  if (records.length === 0) return;
  const rows = records.map((r) => ({
    cloud: r.cloud,
    region: r.region,
    revision: r.revision,
    status: r.state.status,
    successes: r.state.successes,
    failures: r.state.failures,
    checked_at: r.checkedAt.toISOString(),
    error: r.error,
  }));
  await db`
    INSERT INTO backend_health (workload_id, cloud, region, revision, status, successes, failures, last_check_at, last_error)
    SELECT ${workloadId}, p.cloud, p.region, p.revision, p.status, p.successes, p.failures, p.checked_at, p.error
    FROM jsonb_to_recordset(${jsonb(rows)}::text::jsonb)
      AS p(cloud text, region text, revision int, status text, successes int, failures int, checked_at timestamptz, error text)
    WHERE EXISTS (
      SELECT 1 FROM backends b
      WHERE b.workload_id = ${workloadId} AND b.cloud = p.cloud AND b.region = p.region AND b.revision = p.revision)
    ON CONFLICT (workload_id, cloud, region, revision) DO UPDATE SET
      status = EXCLUDED.status, successes = EXCLUDED.successes, failures = EXCLUDED.failures,
      last_check_at = EXCLUDED.last_check_at, last_error = EXCLUDED.last_error`;
};

/** Records the replicas failover scaled a backend to, or null once it is back at its own count. */
export const setScaledReplicas = async (
  db: Db,
  workloadId: string,
  key: BackendKey,
  replicas: number | null,
): Promise<void> => {
  await db`
    INSERT INTO backend_health (workload_id, cloud, region, revision, scaled_replicas)
    SELECT ${workloadId}, ${key.cloud}, ${key.region}, ${key.revision}, ${replicas}::int
    FROM backends WHERE workload_id = ${workloadId} AND cloud = ${key.cloud} AND region = ${key.region}
      AND revision = ${key.revision}
    ON CONFLICT (workload_id, cloud, region, revision) DO UPDATE SET scaled_replicas = EXCLUDED.scaled_replicas`;
};

/** A target's failover state as stored. */
export interface TargetFailoverRecord extends StepTarget, TargetFailover {}

interface TargetFailoverRow {
  cloud: Cloud;
  region: string;
  status: FailoverStatus;
  traffic_percent: number;
  since: Date;
  next_step_at: Date | null;
}

const toTargetFailover = (r: TargetFailoverRow): TargetFailoverRecord => ({
  cloud: r.cloud,
  region: r.region,
  status: r.status,
  percent: r.traffic_percent,
  since: r.since.getTime(),
  nextStepAt: r.next_step_at?.getTime() ?? null,
});

/** Every target of a workload with a failover history; a target not listed serves its full share. */
export const listTargetFailover = async (db: Db, workloadId: string): Promise<TargetFailoverRecord[]> => {
  const rows = await db<TargetFailoverRow[]>`
    SELECT cloud, region, status, traffic_percent, since, next_step_at FROM target_failover
    WHERE workload_id = ${workloadId} ORDER BY cloud, region`;
  return rows.map(toTargetFailover);
};

/**
 * Stores a target's failover state. A change of its traffic percent moves the workload's routing
 * version in the same statement, like every other change to what routers should do.
 */
export const setTargetFailover = async (
  db: Db,
  workloadId: string,
  state: TargetFailoverRecord,
): Promise<void> => {
  const since = new Date(state.since);
  const nextStepAt = state.nextStepAt === null ? null : new Date(state.nextStepAt);
  await db`
    WITH before AS (
      SELECT traffic_percent FROM target_failover
      WHERE workload_id = ${workloadId} AND cloud = ${state.cloud} AND region = ${state.region}
    ), saved AS (
      INSERT INTO target_failover (workload_id, cloud, region, status, traffic_percent, since, next_step_at)
      VALUES (${workloadId}, ${state.cloud}, ${state.region}, ${state.status}, ${state.percent}, ${since}, ${nextStepAt})
      ON CONFLICT (workload_id, cloud, region) DO UPDATE SET status = EXCLUDED.status,
        traffic_percent = EXCLUDED.traffic_percent, since = EXCLUDED.since, next_step_at = EXCLUDED.next_step_at
      RETURNING traffic_percent
    ), bump AS (
      UPDATE workloads SET routing_version = routing_version + 1
      WHERE id = ${workloadId}
        AND (SELECT traffic_percent FROM saved) IS DISTINCT FROM COALESCE((SELECT traffic_percent FROM before), 100)
    )
    SELECT 1`;
};

/** Forgets the failover state of targets where nothing of the workload runs any more. */
export const forgetVacatedTargets = async (db: Db, workloadId: string): Promise<void> => {
  await db`
    WITH gone AS (
      DELETE FROM target_failover f
      WHERE f.workload_id = ${workloadId} AND NOT EXISTS (
        SELECT 1 FROM backends b
        WHERE b.workload_id = f.workload_id AND b.cloud = f.cloud AND b.region = f.region AND b.state = 'running')
      RETURNING f.traffic_percent
    ), bump AS (
      UPDATE workloads SET routing_version = routing_version + 1
      WHERE id = ${workloadId} AND EXISTS (SELECT 1 FROM gone WHERE traffic_percent < 100)
    )
    SELECT 1`;
};

/** A target that does not take its full share: failed over, or recovering. */
export interface DegradedTarget extends StepTarget {
  readonly status: FailoverStatus;
  readonly percent: number;
}

/** The targets of a workload that run something and take less than their full share. */
export const listDegradedTargets = async (db: Db, workloadId: string): Promise<DegradedTarget[]> => {
  const rows = await db<{ cloud: Cloud; region: string; status: FailoverStatus; traffic_percent: number }[]>`
    SELECT f.cloud, f.region, f.status, f.traffic_percent FROM target_failover f
    WHERE f.workload_id = ${workloadId} AND f.traffic_percent < 100 AND EXISTS (
      SELECT 1 FROM backends b
      WHERE b.workload_id = f.workload_id AND b.cloud = f.cloud AND b.region = f.region AND b.state = 'running')
    ORDER BY f.cloud, f.region`;
  return rows.map((r) => ({
    cloud: r.cloud,
    region: r.region,
    status: r.status,
    percent: r.traffic_percent,
  }));
};
