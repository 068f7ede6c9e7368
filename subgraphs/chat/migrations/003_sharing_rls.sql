-- Issue 6: conversations shared with the organization, and PostgreSQL's own wall around each organization's rows.
-- Applied by runMigrations(pool, 'chat', dir) as the schema's OWNER (DATABASE_MIGRATION_URL); the service itself
-- connects as datapilot_chat (DATABASE_URL), which owns nothing here, so the policies below bind every statement.

-- 1. Sharing: a conversation is private to its creator until the creator shares it; then every member of its
-- organization may read it (messages, events, entity references), and still only the creator may write to it.
ALTER TABLE conversations ADD COLUMN shared boolean NOT NULL DEFAULT false;
-- conversations(first, after) lists the caller's own conversations and the org's shared ones, newest first.
CREATE INDEX conversations_shared_created_idx ON conversations (org_id, created_at DESC, id DESC) WHERE shared;

-- 2. The runtime role. Created here without LOGIN when missing (roles are cluster-wide: several databases of one
-- server share it); whoever provisions the server gives it LOGIN and a password (infra/postgres
-- provisionRuntimeRoles for `npm start` and the tests, compose/postgres/init.sh for Docker Compose).
-- Checked first: a migrating role without CREATEROLE (compose's owner) can apply this once the role exists.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datapilot_chat') THEN
    CREATE ROLE datapilot_chat NOLOGIN;
  END IF;
EXCEPTION
  -- 23505: another database's migration created it at the same moment.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
GRANT USAGE ON SCHEMA chat TO datapilot_chat;
GRANT SELECT, INSERT, UPDATE, DELETE ON conversations, messages TO datapilot_chat;
-- The start-up check that no migration is pending (openServiceDatabase) reads this table.
GRANT SELECT ON schema_migrations TO datapilot_chat;

-- 3. Row-level security. The org comes from the transaction-local setting datapilot.org_id, which the data layer
-- sets from the verified token before its first statement (inTenantTransaction, packages/common/src/pg.ts).
-- Unset, or left '' by an earlier transaction of the pooled connection, it is NULL here and no row matches.
CREATE FUNCTION current_org_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('datapilot.org_id', true), '')::uuid $$;

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
-- One policy per table, for every command and every role (FORCE: the owner too; only a superuser or a BYPASSRLS
-- role escapes, and the service refuses to run as either). WITH CHECK: no row can be written into another org.
CREATE POLICY org_wall ON conversations
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY org_wall ON messages
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
