-- Auth schema v5 (issue 6, section 4): PostgreSQL's own wall around each organization's rows. Applied by
-- runMigrations(pool, 'auth', dir) as the schema's OWNER (DATABASE_MIGRATION_URL); the service connects as
-- datapilot_auth (DATABASE_URL), which owns nothing here, so the policies below bind every statement it runs.
--
-- The policies read three transaction-local settings, set by the data layer before its statements
-- (inTenantTransaction / setDbScope, packages/common/src/pg.ts); unset or '' they admit nothing:
--   datapilot.org_id       the organization of the verified token (or of the row a presented secret names)
--   datapilot.user_id      the verified user: after a password check, from a token's `sub`, or from the refresh
--                          token / API key row a presented secret names
--   datapilot.secret_hash  hex SHA-256 of a secret the caller presents (refresh token, API key, invitation token)
-- Tenant tables: organizations, memberships, refresh_tokens, invitations, api_keys. Not tenant tables, so no policy:
-- users (one account across organizations; login finds it by email before any org is known), login_failures (keyed
-- by an email hash), signing_keys (the service's own keys), schema_migrations.
--
-- The cross-org paths that exist on purpose, each through the narrowest door:
--   * sign-in, `organizations`, `switchOrganization`: a user reads their OWN memberships and organizations in every
--     org (user_id = datapilot.user_id), never another user's; writes stay in datapilot.org_id.
--   * refresh, `exchangeApiKey`, `acceptInvitation`: the caller holds a secret; the one row stored with its hash is
--     visible (and lockable) before its org is known; the flow then sets the org (and user) of that row.
--   * the principal check: from the token (`sid`, `sub`, `org`): the user's own sessions (a refresh-token family may
--     continue into another org on switchOrganization) and the org's keys.

-- 1. The runtime role. Created here without LOGIN when missing (roles are cluster-wide); whoever provisions the
-- server gives it LOGIN and a password (infra/postgres provisionRuntimeRoles; compose/postgres/init.sh).
-- Checked first: a migrating role without CREATEROLE (compose's owner) can apply this once the role exists.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datapilot_auth') THEN
    CREATE ROLE datapilot_auth NOLOGIN;
  END IF;
EXCEPTION
  -- 23505: another database's migration created it at the same moment.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
GRANT USAGE ON SCHEMA auth TO datapilot_auth;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, organizations, memberships, refresh_tokens, invitations, api_keys,
  login_failures, signing_keys TO datapilot_auth;
-- The start-up check that no migration is pending (openServiceDatabase) reads this table.
GRANT SELECT ON schema_migrations TO datapilot_auth;
-- A later migration that adds a table grants datapilot_auth what it needs, and gives it policies if it holds an org.

-- 2. The settings as values (NULL when unset). Inlined by the planner: `org_id = current_org_id()` uses the indexes.
CREATE FUNCTION current_org_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('datapilot.org_id', true), '')::uuid $$;
CREATE FUNCTION current_user_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('datapilot.user_id', true), '')::uuid $$;
CREATE FUNCTION current_secret_hash() RETURNS bytea
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT decode(NULLIF(current_setting('datapilot.secret_hash', true), ''), 'hex') $$;

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;

-- 3. Policies. PERMISSIVE policies of one command are OR-ed; a command without a policy admits nothing.

-- organizations: the org itself, plus (reading only) the organizations the user is a member of.
CREATE POLICY org_read ON organizations FOR SELECT
  USING (id = current_org_id()
         OR id IN (SELECT m.org_id FROM memberships m WHERE m.user_id = current_user_id()));
CREATE POLICY org_insert ON organizations FOR INSERT WITH CHECK (id = current_org_id());
CREATE POLICY org_update ON organizations FOR UPDATE
  USING (id = current_org_id()) WITH CHECK (id = current_org_id());
CREATE POLICY org_delete ON organizations FOR DELETE USING (id = current_org_id());

-- memberships: the org's, plus (reading only) the user's own in every org.
CREATE POLICY org_read ON memberships FOR SELECT
  USING (org_id = current_org_id() OR user_id = current_user_id());
CREATE POLICY org_insert ON memberships FOR INSERT WITH CHECK (org_id = current_org_id());
CREATE POLICY org_update ON memberships FOR UPDATE
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY org_delete ON memberships FOR DELETE USING (org_id = current_org_id());

-- refresh_tokens: the org's, the user's own sessions in every org (read and revoke: sign-out ends a family wherever
-- it went), and the one token whose secret was presented (read and lock it, revoke it or its family).
CREATE POLICY org_read ON refresh_tokens FOR SELECT
  USING (org_id = current_org_id() OR user_id = current_user_id() OR token_hash = current_secret_hash());
CREATE POLICY org_insert ON refresh_tokens FOR INSERT
  WITH CHECK (org_id = current_org_id() AND user_id = current_user_id());
CREATE POLICY org_update ON refresh_tokens FOR UPDATE
  USING (org_id = current_org_id() OR user_id = current_user_id() OR token_hash = current_secret_hash())
  WITH CHECK (org_id = current_org_id() OR user_id = current_user_id() OR token_hash = current_secret_hash());
CREATE POLICY org_delete ON refresh_tokens FOR DELETE USING (org_id = current_org_id());

-- invitations: the org's, and the one whose token was presented (acceptInvitation, signup with an invitation).
CREATE POLICY org_read ON invitations FOR SELECT
  USING (org_id = current_org_id() OR token_hash = current_secret_hash());
CREATE POLICY org_insert ON invitations FOR INSERT WITH CHECK (org_id = current_org_id());
CREATE POLICY org_update ON invitations FOR UPDATE
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY org_delete ON invitations FOR DELETE USING (org_id = current_org_id());

-- api_keys: the org's, and the one whose secret was presented (exchangeApiKey, a key used as a bearer credential).
CREATE POLICY org_read ON api_keys FOR SELECT
  USING (org_id = current_org_id() OR secret_hash = current_secret_hash());
CREATE POLICY org_insert ON api_keys FOR INSERT WITH CHECK (org_id = current_org_id());
CREATE POLICY org_update ON api_keys FOR UPDATE
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY org_delete ON api_keys FOR DELETE USING (org_id = current_org_id());
