-- Once an upload's URL has expired, nothing can be PUT to its incoming key any more: the sweep deletes what is left
-- there (a file never completed, or one PUT again after completion) and records that it did.
ALTER TABLE uploads ADD COLUMN incoming_swept_at timestamptz;
CREATE INDEX uploads_incoming_sweep_idx ON uploads (expires_at) WHERE incoming_swept_at IS NULL;
