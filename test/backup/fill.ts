import type { Db, Sql } from "#store";

export interface FillOptions {
  readonly workloads: number;
  /** Rollout events per workload (each workload has one rollout). */
  readonly eventsPerWorkload: number;
}

/**
 * Fills a migrated control-plane database with workloads, revisions, rollouts, backends, events
 * and analysis results, in bulk SQL, with values that are easy to get wrong in a copy: NULLs,
 * quotes, newlines, tabs, backslashes, non-ASCII text, nested JSON, fractional weights and
 * microsecond timestamps.
 */
export const fillControlPlane = async (
  sql: Sql,
  { workloads, eventsPerWorkload }: FillOptions,
): Promise<void> => {
  await sql.begin(async (tx) => {
    await tx`INSERT INTO projects (name) VALUES ('backup-tests') ON CONFLICT (name) DO NOTHING`;
    await tx`
      INSERT INTO workloads (project_id, name, port, health_check, targets, strategy, stable_revision, latest_revision,
                             next_reconcile_at, lease_owner, created_at, updated_at, routing_version)
      SELECT p.id, 'w-' || g, 8080 + g % 3, '{"path": "/healthz"}',
             jsonb_build_array(jsonb_build_object('cloud', 'aws', 'region', 'us-east-1', 'replicas', g % 4 + 1)),
             '{"type": "canary", "steps": [{"weight": 10}, {"pause": {"seconds": 30}}]}',
             CASE WHEN g % 5 = 0 THEN NULL ELSE 1 END, 2,
             CASE WHEN g % 2 = 0 THEN NULL ELSE '2026-11-22 17:40:00.123456+00'::timestamptz + g * interval '1 second' END,
             CASE WHEN g % 7 = 0 THEN 'owner "quoted"' END,
             '2026-01-01 00:00:00.000001+00'::timestamptz + g * interval '1 minute', now(), g
      FROM generate_series(1, ${workloads}) AS g, projects p WHERE p.name = 'backup-tests'`;
    await tx`
      INSERT INTO revisions (workload_id, number, image, port, health_check, config_hash, sim)
      SELECT w.id, n, 'registry.example.com/app:' || n, 8080, '{"path": "/healthz"}', md5(w.name || n),
             CASE WHEN n = 2 THEN '{"errorRate": 0.1, "latencyMs": {"p50": 12.5}}'::jsonb END
      FROM workloads w CROSS JOIN generate_series(1, 2) AS n WHERE w.name LIKE 'w-%'`;
    await tx`
      INSERT INTO rollouts (workload_id, from_revision, to_revision, strategy, steps, current_step, status, message)
      SELECT w.id, 1, 2, w.strategy, '[{"weight": 10}, {"weight": 100}]', 1,
             CASE WHEN w.stable_revision IS NULL THEN 'progressing' ELSE 'succeeded' END,
             E'line one\nline two\twith tab, back\\slash and ''quotes'' — ünïcödé ✓'
      FROM workloads w WHERE w.name LIKE 'w-%'`;
    await tx`
      INSERT INTO backends (workload_id, cloud, region, revision, replicas, weight, url)
      SELECT w.id, 'aws', 'us-east-1', r.number, 2, CASE WHEN r.number = 1 THEN 0.1 + 0.2 ELSE 1.0 / 3 END,
             CASE WHEN r.number = 2 THEN 'http://10.0.0.' || (random() * 200)::int || ':8080' END
      FROM workloads w JOIN revisions r ON r.workload_id = w.id`;
    await tx`
      INSERT INTO events (workload_id, rollout_id, type, message, data, created_at)
      SELECT r.workload_id, r.id, 'step_' || (e % 5), 'step ' || e || E' of rollout\n' || r.id,
             jsonb_build_object('step', e, 'weights', jsonb_build_array(e % 100, 100 - e % 100), 'note', NULL),
             '2026-11-22 00:00:00+00'::timestamptz + e * interval '1.000001 second'
      FROM rollouts r CROSS JOIN generate_series(1, ${eventsPerWorkload}) AS e`;
    await tx`
      INSERT INTO analysis_results (rollout_id, step, verdict, metric, evidence)
      SELECT r.id, 1, 'pass', 'error_rate', '{"p": 0.042, "samples": [1, 2, 3]}' FROM rollouts r`;
  });
};

/** Every table of the public schema, as text rows in a stable order, to compare two databases. */
export const tableContents = async (db: Db): Promise<Record<string, string[]>> => {
  const tables = await db<{ name: string }[]>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
  const out: Record<string, string[]> = {};
  for (const { name } of tables) {
    const rows = await db.unsafe<{ row: string }[]>(
      `SELECT t::text AS row FROM public.${name} t ORDER BY t::text COLLATE "C"`,
    );
    out[name] = rows.map((r) => r.row);
  }
  return out;
};

/** Each sequence's state, to compare two databases. */
export const sequenceValues = async (db: Db): Promise<Record<string, string>> => {
  const seqs = await db<{ name: string }[]>`
    SELECT sequencename AS name FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename`;
  const out: Record<string, string> = {};
  for (const { name } of seqs) {
    const [v] = await db.unsafe<{ state: string }[]>(
      `SELECT last_value::text || '/' || is_called::text AS state FROM public.${name}`,
    );
    out[name] = v?.state ?? "";
  }
  return out;
};

/** Index and constraint definitions of the public schema, to compare two schemas. */
export const schemaShape = async (db: Db): Promise<string[]> => {
  const rows = await db<{ def: string }[]>`
    SELECT indexdef AS def FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT conrelid::regclass::text || ': ' || pg_get_constraintdef(oid) FROM pg_constraint
    -- Postgres 18 lists NOT NULL as constraints too; 15 keeps them only on the columns.
    WHERE connamespace = 'public'::regnamespace AND contype <> 'n'
    ORDER BY 1`;
  return rows.map((r) => r.def);
};

/** How many relations (tables, views, sequences…) a database holds outside the system's schemas. */
export const relationCount = async (db: Db): Promise<number> => {
  const [row] = await db<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'`;
  return row?.n ?? -1;
};
