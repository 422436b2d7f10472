import type { RolloutEvent } from "#core";
import { type Db, iso, jsonb } from "./db.ts";

interface EventRow {
  id: string;
  workload: string;
  rollout_id: string | null;
  type: string;
  message: string;
  data: Record<string, unknown>;
  created_at: Date;
}

const toEvent = (r: EventRow): RolloutEvent => ({
  id: Number(r.id),
  workload: r.workload,
  rolloutId: r.rollout_id,
  type: r.type,
  message: r.message,
  data: r.data,
  createdAt: iso(r.created_at),
});

export interface EventInput {
  readonly workloadId: string;
  readonly rolloutId?: string | null;
  readonly type: string;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export const appendEvent = async (db: Db, e: EventInput): Promise<void> => {
  await db`
    INSERT INTO events (workload_id, rollout_id, type, message, data)
    VALUES (${e.workloadId}, ${e.rolloutId ?? null}, ${e.type}, ${e.message}, ${jsonb(e.data ?? {})}::text::jsonb)`;
};

export interface SystemEventInput {
  readonly type: string;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Records an event of the system itself, which concerns no workload (a restore drill, say). */
export const appendSystemEvent = async (db: Db, e: SystemEventInput): Promise<void> => {
  await db`
    INSERT INTO events (workload_id, type, message, data)
    VALUES (NULL, ${e.type}, ${e.message}, ${jsonb(e.data ?? {})}::text::jsonb)`;
};

export interface EventPage {
  readonly afterId?: number;
  readonly limit: number;
}

/** Events of a rollout in order, a page at a time (keyset pagination on the id). */
export const listRolloutEvents = async (
  db: Db,
  rolloutId: string,
  page: EventPage,
): Promise<RolloutEvent[]> => {
  const rows = await db<EventRow[]>`
    SELECT e.id::text, w.name AS workload, e.rollout_id, e.type, e.message, e.data, e.created_at
    FROM events e JOIN workloads w ON w.id = e.workload_id
    WHERE e.rollout_id = ${rolloutId} AND e.id > ${page.afterId ?? 0}
    ORDER BY e.id LIMIT ${page.limit}`;
  return rows.map(toEvent);
};

/**
 * A rollout's events with ids in (`afterId`, `throughId`] recorded at or after `since`: events a
 * follower reading by id may have passed because their transaction committed after one with a
 * higher id. In id order.
 */
export const listLateRolloutEvents = async (
  db: Db,
  rolloutId: string,
  window: { readonly afterId: number; readonly throughId: number; readonly since: Date },
): Promise<RolloutEvent[]> => {
  const rows = await db<EventRow[]>`
    SELECT e.id::text, w.name AS workload, e.rollout_id, e.type, e.message, e.data, e.created_at
    FROM events e JOIN workloads w ON w.id = e.workload_id
    WHERE e.rollout_id = ${rolloutId} AND e.id > ${window.afterId} AND e.id <= ${window.throughId}
      AND e.created_at >= ${window.since}
    ORDER BY e.id`;
  return rows.map(toEvent);
};
