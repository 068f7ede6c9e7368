-- The lake subgraph's records: uploads (raw files announced, then put into the org's bronze area) and pipeline
-- runs (one Airflow DAG run of `datapilot_ingest` each). Every row carries org_id, and every lookup by id is
-- (org_id, id): a row of another organization is never reached. Applied by runMigrations(pool, 'lake', dir).

CREATE TABLE uploads (
  org_id uuid NOT NULL,
  id uuid NOT NULL,
  table_name text NOT NULL CHECK (table_name ~ '^[a-z][a-z0-9_]{0,62}$'),
  -- The name the client announced (shown back to it) and the stored object's key under the org's bronze prefix.
  file_name text NOT NULL CHECK (char_length(file_name) BETWEEN 1 AND 255),
  object_key text NOT NULL,
  format text NOT NULL CHECK (format IN ('CSV', 'JSON', 'NDJSON', 'PARQUET')),
  mode text NOT NULL CHECK (mode IN ('OVERWRITE', 'APPEND')),
  size_bytes bigint NOT NULL CHECK (size_bytes > 0),
  content_type text NOT NULL,
  max_bad_records integer NOT NULL DEFAULT 0 CHECK (max_bad_records >= 0),
  status text NOT NULL CHECK (status IN ('PENDING', 'UPLOADED', 'LOADING', 'LOADED', 'FAILED')),
  -- Why the upload FAILED: a stable code and a sentence the user can act on.
  error_code text,
  error_message text,
  created_by uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- When the presigned URL stops working.
  expires_at timestamptz NOT NULL,
  completed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (org_id, id),
  UNIQUE (object_key)
);
-- uploads(first, after): newest first, keyset (created_at, id).
CREATE INDEX uploads_org_created_idx ON uploads (org_id, created_at DESC, id DESC);
-- reloadTable: the latest upload of a table.
CREATE INDEX uploads_org_table_created_idx ON uploads (org_id, table_name, created_at DESC);

CREATE TABLE pipeline_runs (
  org_id uuid NOT NULL,
  id uuid NOT NULL,
  upload_id uuid NOT NULL,
  table_name text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('OVERWRITE', 'APPEND')),
  -- UPLOAD: started by completeUpload; RELOAD: started by reloadTable.
  reason text NOT NULL CHECK (reason IN ('UPLOAD', 'RELOAD')),
  dag_id text NOT NULL,
  -- Chosen by DataPilot (from the run id), so a repeated trigger can never start a second DAG run.
  dag_run_id text NOT NULL UNIQUE,
  -- PENDING: recorded here, not yet accepted by Airflow (waiting for an earlier run of the table, or for Airflow).
  state text NOT NULL CHECK (state IN ('PENDING', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILED')),
  triggered_by uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  queued_at timestamptz,
  started_at timestamptz,
  ended_at timestamptz,
  -- [{"name", "state", "tries", "durationMs", "startedAt", "endedAt"}] as Airflow last reported them.
  tasks jsonb NOT NULL DEFAULT '[]',
  -- The quality task's report (see schema.graphql QualityReport).
  quality jsonb,
  delta_version integer,
  error_code text,
  error_message text,
  -- Why the trigger has not happened yet (Airflow unreachable), for the user; cleared once Airflow accepts it.
  waiting_reason text,
  -- Increases on every change: the event sequence of pipelineRunEvents.
  revision integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, upload_id) REFERENCES uploads (org_id, id)
);
-- pipelineRuns(first, after, table): newest first, keyset (created_at, id).
CREATE INDEX pipeline_runs_org_created_idx ON pipeline_runs (org_id, created_at DESC, id DESC);
CREATE INDEX pipeline_runs_org_table_created_idx ON pipeline_runs (org_id, table_name, created_at DESC, id DESC);
-- The run watcher: every run not yet finished, across organizations, oldest first.
CREATE INDEX pipeline_runs_active_idx ON pipeline_runs (created_at) WHERE state IN ('PENDING', 'QUEUED', 'RUNNING');
