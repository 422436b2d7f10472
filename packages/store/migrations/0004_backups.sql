-- Every backup taken and every restore drill run, with its outcome: what the backup metrics and
-- the operators' questions ("when did the last backup succeed?") are answered from.
CREATE TABLE backup_runs (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('backup', 'drill')),
  -- The backup taken, or the one the drill restored; null when none got that far.
  backup_id text,
  status text NOT NULL CHECK (status IN ('succeeded', 'failed')),
  started_at timestamptz NOT NULL,
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  size_bytes bigint,
  row_count bigint,
  error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX backup_runs_latest ON backup_runs (kind, status, started_at DESC);

-- Events of the system itself (a restore drill) concern no workload.
ALTER TABLE events ALTER COLUMN workload_id DROP NOT NULL;
