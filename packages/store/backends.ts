import type { Backend, Cloud } from "#core";
import type { Db } from "./db.ts";

export type BackendState = "running" | "removing";

/** A backend as the control plane keeps it: what should run, where, and with what share. */
export interface BackendRecord extends Backend {
  readonly replicas: number;
  readonly state: BackendState;
  readonly url: string;
  /** When the row last changed: for a backend being removed, when it left traffic. */
  readonly updatedAt: string;
}

interface BackendRow {
  cloud: Cloud;
  region: string;
  revision: number;
  replicas: number;
  weight: number;
  url: string | null;
  state: BackendState;
  updated_at: Date;
}

const toBackend = ({ updated_at, ...r }: BackendRow): BackendRecord => ({
  ...r,
  url: r.url ?? "",
  updatedAt: updated_at.toISOString(),
});

export interface BackendKey {
  readonly cloud: Cloud;
  readonly region: string;
  readonly revision: number;
}

export const listBackends = async (db: Db, workloadId: string): Promise<BackendRecord[]> => {
  const rows = await db<BackendRow[]>`
    SELECT cloud, region, revision, replicas, weight, url, state, updated_at FROM backends
    WHERE workload_id = ${workloadId} ORDER BY cloud, region, revision`;
  return rows.map(toBackend);
};

/** Records that a revision should run in a target, before the cloud is asked, so a crash leaves a trace. */
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
    DO UPDATE SET replicas = EXCLUDED.replicas, state = 'running', updated_at = now()`;
};

/** Stores the endpoint the cloud gave; returns whether it changed. */
export const setBackendUrl = async (
  db: Db,
  workloadId: string,
  key: BackendKey,
  url: string,
): Promise<boolean> => {
  const rows = await db`
    UPDATE backends SET url = ${url}, updated_at = now()
    WHERE workload_id = ${workloadId} AND cloud = ${key.cloud} AND region = ${key.region}
      AND revision = ${key.revision} AND url IS DISTINCT FROM ${url}`;
  return rows.count === 1;
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
    UPDATE backends SET weight = CASE WHEN revision = ${to} THEN ${weight}::double precision ELSE 0 END,
      updated_at = now()
    WHERE workload_id = ${workloadId} AND cloud = ${target.cloud} AND region = ${target.region}`;
};

/** Takes a backend out of traffic and marks it for removal from its cloud. */
export const markBackendRemoving = async (db: Db, workloadId: string, key: BackendKey): Promise<void> => {
  await db`
    UPDATE backends SET state = 'removing', weight = 0, updated_at = now()
    WHERE workload_id = ${workloadId} AND cloud = ${key.cloud} AND region = ${key.region} AND revision = ${key.revision}`;
};

/** Takes every backend of a workload out of traffic and marks it for removal. */
export const markAllBackendsRemoving = async (db: Db, workloadId: string): Promise<void> => {
  await db`UPDATE backends SET state = 'removing', weight = 0, updated_at = now() WHERE workload_id = ${workloadId}`;
};

export const deleteBackend = async (db: Db, workloadId: string, key: BackendKey): Promise<void> => {
  await db`
    DELETE FROM backends
    WHERE workload_id = ${workloadId} AND cloud = ${key.cloud} AND region = ${key.region} AND revision = ${key.revision}`;
};

/** The next routing table version: it orders publications across every process. */
export const nextRoutingVersion = async (db: Db): Promise<number> => {
  const [row] = await db<{ v: string }[]>`SELECT nextval('routing_version')::text AS v`;
  return Number(row?.v ?? 0);
};
