-- Auth schema v3: organizations as teams (issue 6, sections 1 and 3): the ANALYST role, invitations, API keys.
-- Applied by runMigrations(pool, 'auth', dir) with search_path = auth, public (unqualified names land in auth).

-- Roles are OWNER > ADMIN > ANALYST > VIEWER (packages/common/src/tenancy.ts ROLES). MEMBER becomes ANALYST:
-- what a MEMBER could do before (ask questions, upload) is what ANALYST may do now.
ALTER TABLE memberships DROP CONSTRAINT memberships_role_check;
UPDATE memberships SET role = 'ANALYST' WHERE role = 'MEMBER';
ALTER TABLE memberships
  ADD CONSTRAINT memberships_role_check CHECK (role IN ('OWNER', 'ADMIN', 'ANALYST', 'VIEWER'));

-- `members(first, after)` pages an organization's members in the order they joined: (created_at, user_id), the
-- keyset of packages/common/src/keyset.ts. This index serves that order and every lookup by org (it replaces
-- memberships_org_id_idx); counting an organization's owners reads it too.
CREATE INDEX memberships_org_order_idx ON memberships (org_id, created_at, user_id);
DROP INDEX memberships_org_id_idx;

-- Invitations to join an organization. The token (`dp_inv_` + 32 random bytes in base64url) is shown once to the
-- inviter; only the SHA-256 of the whole string is kept (a fast hash is enough for a 256-bit random secret).
-- An invitation is open while accepted_at and revoked_at are NULL and expires_at is in the future; it is used at
-- most once (accepted_at). At most one open invitation per (organization, email): inviting the same email again
-- revokes the earlier one (src/teams.ts), and this index makes concurrent invitations collide instead of both
-- staying open.
CREATE TABLE invitations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  -- trimmed and lower-cased like users.email (src/validation.ts)
  email       text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
  role        text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'ANALYST', 'VIEWER')),
  invited_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- 7 days after created_at (src/teams.ts INVITATION_TTL_SECONDS)
  expires_at  timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  revoked_at  timestamptz,
  CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
  CONSTRAINT invitations_used_once CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX invitations_open_email_key ON invitations (org_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_org_order_idx ON invitations (org_id, created_at, id);

-- API keys for pipelines and scripts. The secret (`dp_live_` + 32 random bytes in base64url) is shown once; only
-- the SHA-256 of the whole string is kept. A key acts as its creator within its organization, with the weaker of
-- its own role and the creator's current role (src/data/principal.ts); it stops working when revoked, expired, or
-- when its creator is no longer a member of the organization.
CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  created_by   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role         text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'ANALYST', 'VIEWER')),
  secret_hash  bytea NOT NULL CHECK (length(secret_hash) = 32),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL CHECK (expires_at > created_at),
  revoked_at   timestamptz,
  -- written at most once a minute per key (src/data/principal.ts LAST_USED_RESOLUTION_SECONDS)
  last_used_at timestamptz,
  CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
);
CREATE INDEX api_keys_org_order_idx ON api_keys (org_id, created_at, id);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by, org_id);
