-- Projects own workloads; access control will be granted per project.
CREATE TABLE projects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO projects (name) VALUES ('default');

CREATE TABLE workloads (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL REFERENCES projects (id),
  name text NOT NULL,
  port integer NOT NULL,
  health_check jsonb NOT NULL,
  targets jsonb NOT NULL,
  strategy jsonb NOT NULL,
  stable_revision integer,
  latest_revision integer NOT NULL DEFAULT 0,
  -- The reconciler claims a workload when it is due and holds it under a lease while it works.
  next_reconcile_at timestamptz DEFAULT now(),
  lease_owner text,
  lease_expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX workloads_due ON workloads (next_reconcile_at) WHERE next_reconcile_at IS NOT NULL;
-- Names route traffic (Host: <name>.…), so a live name is unique across projects; deleted ones keep history.
CREATE UNIQUE INDEX workloads_live_name ON workloads (name) WHERE deleted_at IS NULL;

CREATE TABLE revisions (
  workload_id uuid NOT NULL REFERENCES workloads (id),
  number integer NOT NULL,
  image text NOT NULL,
  port integer NOT NULL,
  health_check jsonb NOT NULL,
  config_hash text NOT NULL,
  sim jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workload_id, number)
);

CREATE TABLE rollouts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workload_id uuid NOT NULL REFERENCES workloads (id),
  from_revision integer,
  to_revision integer NOT NULL,
  strategy jsonb NOT NULL,
  steps jsonb NOT NULL,
  current_step integer NOT NULL DEFAULT 0,
  step_started_at timestamptz,
  status text NOT NULL CHECK (status IN ('progressing', 'paused', 'succeeded', 'failed', 'aborted', 'rolled_back')),
  message text,
  -- Grows with every step transition; a transition applies only at the version it was planned at.
  version integer NOT NULL DEFAULT 0,
  progress_deadline_seconds integer NOT NULL DEFAULT 600,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
-- At most one rollout in flight per workload, enforced where races happen.
CREATE UNIQUE INDEX rollouts_one_active ON rollouts (workload_id) WHERE status IN ('progressing', 'paused');
CREATE INDEX rollouts_by_workload ON rollouts (workload_id, created_at DESC);

-- One row per revision per target: what should run there and what share of traffic it gets.
CREATE TABLE backends (
  workload_id uuid NOT NULL REFERENCES workloads (id),
  cloud text NOT NULL,
  region text NOT NULL,
  revision integer NOT NULL,
  replicas integer NOT NULL,
  weight double precision NOT NULL DEFAULT 0,
  url text,
  state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'removing')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workload_id, cloud, region, revision)
);

CREATE TABLE events (
  id bigserial PRIMARY KEY,
  workload_id uuid NOT NULL REFERENCES workloads (id),
  rollout_id uuid REFERENCES rollouts (id),
  type text NOT NULL,
  message text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_by_rollout ON events (rollout_id, id);
CREATE INDEX events_by_workload ON events (workload_id, id);

-- Orders routing table publications, so readers can tell newer from older.
CREATE SEQUENCE routing_version;
