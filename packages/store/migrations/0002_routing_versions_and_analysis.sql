-- A workload's routing table version moves in the same statement as any change to its weights,
-- so a snapshot that sees a version sees exactly the weights that version describes.
ALTER TABLE workloads ADD COLUMN routing_version bigint NOT NULL DEFAULT 0;
DROP SEQUENCE routing_version;

-- A backend marked for removal keeps serving requests in flight, and stays ready for an instant
-- switch back, until this time.
ALTER TABLE backends ADD COLUMN remove_after timestamptz;

-- Every verdict an analysis reached, with the evidence behind it.
CREATE TABLE analysis_results (
  id bigserial PRIMARY KEY,
  rollout_id uuid NOT NULL REFERENCES rollouts (id),
  step integer NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('running', 'pass', 'fail', 'inconclusive', 'error')),
  metric text,
  evidence jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analysis_results_by_rollout ON analysis_results (rollout_id, id);
