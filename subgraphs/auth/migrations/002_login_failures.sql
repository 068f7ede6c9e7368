-- Auth schema v2: login throttling (F4). See src/login-throttle.ts for the rule and its source
-- (OWASP Authentication Cheat Sheet, "Login Throttling" / "Account Lockout").
-- Applied by runMigrations(pool, 'auth', dir) with search_path = auth, public.

-- The recent failed logins of one email, shared by every auth replica. One row per normalised email
-- (trimmed, lower-cased: src/validation.ts normalizeEmail), keyed by the SHA-256 of its UTF-8 bytes: whatever was
-- typed into the email field (sometimes a password) is not kept in clear, and any input length fits the index.
-- `failed_at` holds the attempts inside the observation window, oldest first, at most the configured maximum
-- (an attempt is counted before its password is checked and the row is deleted when the password is right).
-- To lift a lockout by hand:
--   DELETE FROM auth.login_failures WHERE email_sha256 = sha256(convert_to('alice@example.org', 'UTF8'));
CREATE TABLE login_failures (
  email_sha256   bytea PRIMARY KEY CHECK (length(email_sha256) = 32),
  failed_at      timestamptz[] NOT NULL CHECK (cardinality(failed_at) >= 1),
  -- the newest element of failed_at; rows whose newest failure left the window are pruned by this
  last_failed_at timestamptz NOT NULL
);
CREATE INDEX login_failures_last_failed_at_idx ON login_failures (last_failed_at);
