-- Issue 6: PostgreSQL's own wall around each organization's uploads and runs. Applied by runMigrations(pool, 'lake',
-- dir) as the schema's OWNER (DATABASE_MIGRATION_URL); the service connects as datapilot_lake (DATABASE_URL), which
-- owns nothing here, so the policies below bind every statement it runs.

-- 1. The runtime role. Created here without LOGIN when missing (roles are cluster-wide: several databases of one
-- server share it); whoever provisions the server gives it LOGIN and a password (infra/postgres
-- provisionRuntimeRoles for `npm start` and the tests, compose/postgres/init.sh for Docker Compose).
-- Checked first: a migrating role without CREATEROLE (compose's owner) can apply this once the role exists.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datapilot_lake') THEN
    CREATE ROLE datapilot_lake NOLOGIN;
  END IF;
EXCEPTION
  -- 23505: another database's migration created it at the same moment.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
GRANT USAGE ON SCHEMA lake TO datapilot_lake;
GRANT SELECT, INSERT, UPDATE, DELETE ON uploads, pipeline_runs TO datapilot_lake;
-- The start-up check that no migration is pending (openServiceDatabase) reads this table.
GRANT SELECT ON schema_migrations TO datapilot_lake;

-- 2. Row-level security. The org comes from the transaction-local setting datapilot.org_id, which the data layer
-- sets before its first statement (inTenantTransaction, packages/common/src/pg.ts): from the verified token for a
-- request, from the run's or upload's own org_id for the run watcher. Unset, or left '' by an earlier transaction of
-- the pooled connection, it is NULL here and no row matches.
CREATE FUNCTION current_org_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('datapilot.org_id', true), '')::uuid $$;

ALTER TABLE uploads ENABLE ROW LEVEL SECURITY;
ALTER TABLE uploads FORCE ROW LEVEL SECURITY;
ALTER TABLE pipeline_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY org_wall ON uploads
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY org_wall ON pipeline_runs
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());

-- 3. The run watcher's one cross-org need: FINDING work. It is a background loop, not a request: no token says which
-- org to look at. Three functions answer only (org_id, id) pairs, each of a fixed condition, and nothing else; the
-- watcher then reads and writes each row in a tenant transaction of that row's own org (records.ts createRunLedger).
-- They are SECURITY DEFINER, so they run as their owner, the migrating role: a superuser passes the policies anyway,
-- and for an owner that is not one (FORCE binds it too) the two SELECT policies below admit exactly the rows the
-- functions look at. Only datapilot_lake may call them.
CREATE POLICY watcher_discovery ON pipeline_runs FOR SELECT TO CURRENT_USER
  USING (state IN ('PENDING', 'QUEUED', 'RUNNING'));
CREATE POLICY watcher_discovery ON uploads FOR SELECT TO CURRENT_USER
  USING (status = 'PENDING' OR incoming_swept_at IS NULL);

-- The runs not finished yet, oldest first (what the watcher drives through Airflow).
CREATE FUNCTION watcher_active_runs(lim integer) RETURNS TABLE (org_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT r.org_id, r.id FROM lake.pipeline_runs r
    WHERE r.state IN ('PENDING', 'QUEUED', 'RUNNING') ORDER BY r.created_at, r.id LIMIT lim
  $$;
-- PENDING uploads whose URL expired more than `grace_seconds` ago (to mark UPLOAD_EXPIRED), oldest first.
CREATE FUNCTION watcher_expired_uploads(grace_seconds integer, lim integer) RETURNS TABLE (org_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT u.org_id, u.id FROM lake.uploads u
    WHERE u.status = 'PENDING' AND u.expires_at < now() - make_interval(secs => grace_seconds)
    ORDER BY u.expires_at LIMIT lim
  $$;
-- Uploads whose URL expired more than `grace_seconds` ago and whose incoming key was not swept yet, oldest first.
CREATE FUNCTION watcher_unswept_uploads(grace_seconds integer, lim integer) RETURNS TABLE (org_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT u.org_id, u.id FROM lake.uploads u
    WHERE u.incoming_swept_at IS NULL AND u.expires_at < now() - make_interval(secs => grace_seconds)
    ORDER BY u.expires_at LIMIT lim
  $$;
REVOKE ALL ON FUNCTION watcher_active_runs(integer), watcher_expired_uploads(integer, integer),
  watcher_unswept_uploads(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watcher_active_runs(integer), watcher_expired_uploads(integer, integer),
  watcher_unswept_uploads(integer, integer) TO datapilot_lake;
