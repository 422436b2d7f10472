import {
  type Backend,
  type BackendWeight,
  type Cloud,
  DEFAULT_FAILOVER_POLICY,
  FailoverPolicy,
  type RoutingTable,
  type Target,
} from "#core";
import { effectiveWeights, type Overlay, type RolloutBackend, type TargetTraffic } from "#failover";
import { type Db, isoOrNull, jsonb } from "./db.ts";

export type BackendState = "running" | "removing";

/** A backend as the control plane keeps it: what should run, where, and with what share. */
export interface BackendRecord extends Backend {
  readonly replicas: number;
  readonly state: BackendState;
  readonly url: string;
  /** For a backend being removed: when its cloud deployment may go. */
  readonly removeAfter: string | null;
  /** Replicas failover scaled it to, to absorb a failed target's share; null at its own count. */
  readonly scaledReplicas: number | null;
}

interface BackendRow {
  cloud: Cloud;
  region: string;
  revision: number;
  replicas: number;
  weight: number;
  url: string | null;
  state: BackendState;
  remove_after: Date | null;
  scaled_replicas: number | null;
}

const toBackend = ({ remove_after, scaled_replicas, ...r }: BackendRow): BackendRecord => ({
  ...r,
  url: r.url ?? "",
  removeAfter: isoOrNull(remove_after),
  scaledReplicas: scaled_replicas,
});

export interface BackendKey {
  readonly cloud: Cloud;
  readonly region: string;
  readonly revision: number;
}

const matches = (db: Db, workloadId: string, key: BackendKey) =>
  db`workload_id = ${workloadId} AND cloud = ${key.cloud} AND region = ${key.region} AND revision = ${key.revision}`;

/** A statement fragment that moves the workload's routing version; every weight change includes it. */
const bump = (db: Db, workloadId: string) =>
  db`bump AS (UPDATE workloads SET routing_version = routing_version + 1 WHERE id = ${workloadId})`;

export const listBackends = async (db: Db, workloadId: string): Promise<BackendRecord[]> => {
  const rows = await db<BackendRow[]>`
    SELECT b.cloud, b.region, b.revision, b.replicas, b.weight, b.url, b.state, b.remove_after, h.scaled_replicas
    FROM backends b LEFT JOIN backend_health h USING (workload_id, cloud, region, revision)
    WHERE b.workload_id = ${workloadId} ORDER BY b.cloud, b.region, b.revision`;
  return rows.map(toBackend);
};

/**
 * Records that a revision should run in a target, before the cloud is asked, so a crash leaves a
 * trace. A backend being removed is taken back.
 */
export const recordBackend = async (
  db: Db,
  workloadId: string,
  key: BackendKey,
  replicas: number,
): Promise<void> => {
  await db`
    INSERT INTO backends (workload_id, cloud, region, revision, replicas)
    VALUES (${workloadId}, ${key.cloud}, ${key.region}, ${key.revision}, ${replicas})
    ON CONFLICT (workload_id, cloud, region, revision)
    DO UPDATE SET replicas = EXCLUDED.replicas, state = 'running', remove_after = NULL, updated_at = now()`;
};

/** Stores the endpoint the cloud gave; returns whether it changed. */
export const setBackendUrl = async (
  db: Db,
  workloadId: string,
  key: BackendKey,
  url: string,
): Promise<boolean> => {
  const [row] = await db<{ n: number }[]>`
    WITH changed AS (
      UPDATE backends SET url = ${url}, updated_at = now()
      WHERE ${matches(db, workloadId, key)} AND url IS DISTINCT FROM ${url} RETURNING 1
    ), ${bump(db, workloadId)}
    SELECT count(*)::int AS n FROM changed`;
  return (row?.n ?? 0) > 0;
};

/** Gives a target's traffic to one revision (or to none) in one statement, so no reader sees half of it. */
export const shiftTargetWeight = async (
  db: Db,
  workloadId: string,
  target: { readonly cloud: Cloud; readonly region: string },
  to: number | null,
  weight: number,
): Promise<void> => {
  await db`
    WITH changed AS (
      UPDATE backends SET weight = CASE WHEN revision = ${to} THEN ${weight}::double precision ELSE 0 END,
        updated_at = now()
      WHERE workload_id = ${workloadId} AND cloud = ${target.cloud} AND region = ${target.region}
    ), ${bump(db, workloadId)}
    SELECT 1`;
};

/**
 * Sets every weight of a workload in one statement: the backends listed get theirs (and are taken
 * back if they were being removed), all others 0.
 */
export const setWorkloadWeights = async (
  db: Db,
  workloadId: string,
  weights: readonly BackendWeight[],
): Promise<void> => {
  await db`
    WITH wanted AS (
      SELECT * FROM jsonb_to_recordset(${jsonb(weights)}::text::jsonb)
        AS w(cloud text, region text, revision int, weight double precision)
    ), merged AS (
      SELECT b.cloud, b.region, b.revision, wanted.weight
      FROM backends b LEFT JOIN wanted USING (cloud, region, revision)
      WHERE b.workload_id = ${workloadId}
    ), changed AS (
      UPDATE backends b SET
        weight = COALESCE(m.weight, 0),
        state = CASE WHEN m.weight IS NULL THEN b.state ELSE 'running' END,
        remove_after = CASE WHEN m.weight IS NULL THEN b.remove_after ELSE NULL END,
        updated_at = now()
      FROM merged m
      WHERE b.workload_id = ${workloadId} AND b.cloud = m.cloud AND b.region = m.region AND b.revision = m.revision
    ), ${bump(db, workloadId)}
    SELECT 1`;
};

/** Takes a backend out of traffic and marks it for removal from its cloud after `keepMs`. */
export const markBackendRemoving = async (
  db: Db,
  workloadId: string,
  key: BackendKey,
  keepMs: number,
): Promise<void> => {
  await db`
    WITH changed AS (
      UPDATE backends SET state = 'removing', weight = 0, updated_at = now(),
        remove_after = now() + ${keepMs}::int * interval '1 millisecond'
      WHERE ${matches(db, workloadId, key)} AND state = 'running'
    ), ${bump(db, workloadId)}
    SELECT 1`;
};

/** Takes every backend of a workload out of traffic and marks it for removal after `keepMs`. */
export const markAllBackendsRemoving = async (db: Db, workloadId: string, keepMs: number): Promise<void> => {
  await db`
    WITH changed AS (
      UPDATE backends SET state = 'removing', weight = 0, updated_at = now(),
        remove_after = now() + ${keepMs}::int * interval '1 millisecond'
      WHERE workload_id = ${workloadId} AND state = 'running'
    ), ${bump(db, workloadId)}
    SELECT 1`;
};

export const deleteBackend = async (db: Db, workloadId: string, key: BackendKey): Promise<void> => {
  await db`DELETE FROM backends WHERE ${matches(db, workloadId, key)} AND state = 'removing'`;
};

/** A backend as the rollout weighted it, with its endpoint. */
export interface RoutedBackend extends RolloutBackend {
  readonly url: string;
}

/** A workload's routing as routers get it, and how failover made it so. */
export interface RoutingState {
  readonly table: RoutingTable;
  /** The failover overlay: moves, whether every target is down, each target's shares. */
  readonly overlay: Overlay<RoutedBackend>;
  readonly policy: FailoverPolicy;
}

/**
 * A workload's routing, read in one statement so the version, the weights and the failover state
 * all come from the same snapshot: the backends that receive traffic (running, weighted, with an
 * endpoint), with the failover overlay applied, so every publisher publishes effective weights.
 */
export const readRoutingState = async (db: Db, workloadId: string): Promise<RoutingState | null> => {
  const [row] = await db<
    {
      name: string;
      version: string;
      targets: Target[];
      failover: unknown;
      backends: RoutedBackend[];
      traffic: TargetTraffic[];
    }[]
  >`
    SELECT w.name, w.routing_version::text AS version, w.targets, w.failover,
      COALESCE((
        SELECT jsonb_agg(jsonb_build_object('cloud', b.cloud, 'region', b.region, 'revision', b.revision,
                 'weight', b.weight, 'url', b.url, 'replicas', b.replicas) ORDER BY b.cloud, b.region, b.revision)
        FROM backends b
        WHERE b.workload_id = w.id AND b.state = 'running' AND b.weight > 0 AND b.url IS NOT NULL
      ), '[]'::jsonb) AS backends,
      COALESCE((
        SELECT jsonb_agg(jsonb_build_object('cloud', f.cloud, 'region', f.region, 'percent', f.traffic_percent))
        FROM target_failover f WHERE f.workload_id = w.id AND f.traffic_percent < 100
      ), '[]'::jsonb) AS traffic
    FROM workloads w WHERE w.id = ${workloadId}`;
  if (!row) return null;
  const policy = row.failover === null ? DEFAULT_FAILOVER_POLICY : FailoverPolicy.parse(row.failover);
  const overlay = effectiveWeights({
    backends: row.backends,
    traffic: row.traffic,
    policy,
    targets: row.targets,
  });
  const backends: Backend[] = overlay.backends.map((b) => ({
    cloud: b.cloud,
    region: b.region,
    revision: b.revision,
    weight: b.weight,
    url: b.url,
  }));
  return { table: { workload: row.name, version: Number(row.version), backends }, overlay, policy };
};

/** A workload's routing table with effective weights (see `readRoutingState`). */
export const readRoutingTable = async (db: Db, workloadId: string): Promise<RoutingTable | null> =>
  (await readRoutingState(db, workloadId))?.table ?? null;
