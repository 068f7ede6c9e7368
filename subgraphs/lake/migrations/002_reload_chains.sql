-- reloadTable replays a table's loaded uploads as a chain of runs (the latest OVERWRITE, then each later APPEND, in
-- order): they share chain_id, and a failed step cancels the steps after it.
ALTER TABLE pipeline_runs ADD COLUMN chain_id uuid;
-- Position of a run in its chain (0 = the OVERWRITE).
ALTER TABLE pipeline_runs ADD COLUMN chain_step integer;
CREATE INDEX pipeline_runs_chain_idx ON pipeline_runs (org_id, chain_id) WHERE chain_id IS NOT NULL;

-- The expiry sweep: PENDING uploads by expiry.
CREATE INDEX uploads_pending_expiry_idx ON uploads (expires_at) WHERE status = 'PENDING';
