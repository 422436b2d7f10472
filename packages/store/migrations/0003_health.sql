-- Where a failed target's traffic goes; null reads as the default policy.
ALTER TABLE workloads ADD COLUMN failover jsonb;
-- When the workload's backends are probed next; a health pass claims a workload by moving it on.
ALTER TABLE workloads ADD COLUMN next_health_check_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX workloads_health_due ON workloads (next_health_check_at) WHERE deleted_at IS NULL;

-- Why the reconciler holds a rollout (its workload is degraded); null while it may advance.
ALTER TABLE rollouts ADD COLUMN held_reason text;

-- What the probes say of each backend. Goes with its backend.
CREATE TABLE backend_health (
  workload_id uuid NOT NULL,
  cloud text NOT NULL,
  region text NOT NULL,
  revision integer NOT NULL,
  status text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'healthy', 'unhealthy')),
  -- Consecutive results of one kind up to the last probe; one of the two is always 0.
  successes integer NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  last_check_at timestamptz,
  last_error text,
  -- Replicas failover scaled this backend to so it absorbs a failed target's share; null at its own count.
  scaled_replicas integer,
  PRIMARY KEY (workload_id, cloud, region, revision),
  FOREIGN KEY (workload_id, cloud, region, revision) REFERENCES backends ON DELETE CASCADE
);

-- A target that failed over or is taking its traffic back; no row means it serves its full share.
CREATE TABLE target_failover (
  workload_id uuid NOT NULL REFERENCES workloads (id),
  cloud text NOT NULL,
  region text NOT NULL,
  status text NOT NULL CHECK (status IN ('healthy', 'failed', 'recovering')),
  -- Percent of its normal share of the weights it takes now.
  traffic_percent double precision NOT NULL CHECK (traffic_percent >= 0 AND traffic_percent <= 100),
  since timestamptz NOT NULL,
  next_step_at timestamptz,
  PRIMARY KEY (workload_id, cloud, region)
);
