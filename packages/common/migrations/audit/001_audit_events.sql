-- The audit log (issue 6): security-relevant events of every service, one table, read by the auth subgraph's
-- `auditEvents` (OWNER and ADMIN). Applied by runMigrations(pool, 'audit', dir) as the schema's owner, by each service
-- that writes to it (auth and lake) at start; idempotent and safe from several processes at once.
-- Rows are only ever inserted: no runtime role may update or delete them.

DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['datapilot_auth', 'datapilot_chat', 'datapilot_lake'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

CREATE TABLE events (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id           uuid NOT NULL,
  occurred_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- who: the user, and the credential they acted with (a password session, an API key, or the system itself)
  actor_user_id    uuid,
  actor_credential text NOT NULL CHECK (actor_credential IN ('session', 'apiKey', 'system')),
  actor_session_id uuid,
  -- what: a dotted action name (see packages/common/src/audit.ts AUDIT_ACTIONS) and its target
  action           text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
  target_type      text CHECK (length(target_type) <= 40),
  target_id        text CHECK (length(target_id) <= 200),
  detail           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (length(detail::text) <= 4000),
  -- from where: the client's address as the edge saw it, its user agent, the request id
  client_address   text CHECK (length(client_address) <= 64),
  user_agent       text CHECK (length(user_agent) <= 256),
  request_id       text CHECK (length(request_id) <= 64)
);
-- Newest first, per organization: the order auditEvents pages in.
CREATE INDEX events_org_time_idx ON events (org_id, occurred_at DESC, id DESC);

CREATE FUNCTION current_org_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('datapilot.org_id', true), '')::uuid $$;

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
-- One organization's rows, for reading and for writing alike (a service cannot file an event under another org).
CREATE POLICY org_wall ON events USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());

GRANT USAGE ON SCHEMA audit TO datapilot_auth, datapilot_chat, datapilot_lake;
GRANT INSERT ON events TO datapilot_auth, datapilot_chat, datapilot_lake;
GRANT SELECT ON events TO datapilot_auth;
GRANT SELECT ON schema_migrations TO datapilot_auth, datapilot_chat, datapilot_lake;
