-- Auth schema v1: users, organizations, memberships, signing keys, refresh tokens.
-- Applied by runMigrations(pool, 'auth', dir) with search_path = auth, public (unqualified names land in auth).
-- Needs PostgreSQL 13+ (gen_random_uuid() in core); no extensions, so a non-superuser role can apply it.

-- Emails are stored trimmed and lower-cased by the service (see src/validation.ts); the CHECK keeps it so,
-- and the unique constraint makes "Alice@x.org" and "alice@x.org" one account (instead of the citext extension).
CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
  -- scrypt$<N>$<r>$<p>$<salt base64>$<key base64>, see src/passwords.ts
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE organizations (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org_id_idx ON memberships (org_id);

-- Ed25519 key pairs as JWKs (RFC 7517/8037). The newest row with retired_at IS NULL signs; the JWKS
-- serves every key not retired, plus keys retired less than a day ago (tokens they signed still verify).
-- kid is the RFC 7638 thumbprint of the public key.
CREATE TABLE signing_keys (
  kid         text PRIMARY KEY,
  alg         text NOT NULL CHECK (alg = 'EdDSA'),
  public_jwk  jsonb NOT NULL CHECK (NOT public_jwk ? 'd'),
  private_jwk jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  retired_at  timestamptz
);

-- Refresh tokens: only the SHA-256 of the 256-bit random token is stored. Each use revokes the token and
-- issues a new one in the same family; presenting a revoked token revokes the whole family (reuse detection).
CREATE TABLE refresh_tokens (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  family_id  uuid NOT NULL,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
