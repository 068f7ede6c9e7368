-- Auth schema v4: signing keys encrypted at rest, and the instants that rotate them without downtime.
-- Applied by runMigrations(pool, 'auth', dir) with search_path = auth, public. See src/keys.ts for the rules.
--
-- A key's state follows from two instants (PostgreSQL's clock), so every replica derives the same one:
--   next     now < activates_at                      published in the JWKS, not signing
--   current  activates_at <= now < retired_at (NULL)  the one key that signs
--   retired  retired_at <= now                        published until retired_at + access-token TTL + clock
--                                                     tolerance (the service's settings), then dropped from the JWKS
-- Scheduling a successor sets successor.activates_at = predecessor.retired_at, so the signing periods never overlap
-- and never leave a gap.
--
-- The private half is no longer stored in clear: `private_key_sealed` holds the private JWK (JSON, UTF-8) encrypted
-- with AES-256-GCM under the service's key-encryption key (AUTH_KEY_ENCRYPTION_KEY): one version byte (1), the
-- 12-byte nonce, the ciphertext, the 16-byte tag; the additional authenticated data binds it to its kid. SQL cannot
-- encrypt without that key, so rows written by schema v1 keep `private_jwk` until the auth service's first start on
-- this schema seals them and clears it. A key that no longer signs keeps no private half at all (both NULL).

ALTER TABLE signing_keys
  ADD COLUMN activates_at timestamptz,
  ADD COLUMN private_key_sealed bytea CHECK (get_byte(private_key_sealed, 0) = 1 AND length(private_key_sealed) > 29),
  ALTER COLUMN private_jwk DROP NOT NULL;

-- v1 keys signed from their creation; the newest unretired one was the signing key. Older unretired ones (v1 never
-- retired a key, so only from a manual insert) stop signing when the newest began.
UPDATE signing_keys SET activates_at = created_at;
UPDATE signing_keys k
   SET retired_at = newest.created_at
  FROM (SELECT created_at, kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1) newest
 WHERE k.retired_at IS NULL AND k.kid <> newest.kid;

ALTER TABLE signing_keys
  ALTER COLUMN activates_at SET NOT NULL,
  ALTER COLUMN activates_at SET DEFAULT clock_timestamp(),
  ADD CONSTRAINT signing_keys_private_once CHECK (private_jwk IS NULL OR private_key_sealed IS NULL),
  ADD CONSTRAINT signing_keys_retired_after_active CHECK (retired_at IS NULL OR retired_at >= activates_at);

-- At most one key without an end (the current one, or the scheduled next one).
CREATE UNIQUE INDEX signing_keys_one_open_idx ON signing_keys ((true)) WHERE retired_at IS NULL;
CREATE INDEX signing_keys_activates_at_idx ON signing_keys (activates_at);
