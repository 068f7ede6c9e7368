/** @datapilot/auth: the auth subgraph — users, organizations, memberships, tokens, JWKS. */
export { createAuthServer, migrateAuthSchema, JWKS_PATH, SCHEMA_FILE, MIGRATIONS_DIR } from './server.ts';
export type { AuthServer, AuthServerOptions } from './server.ts';
export { ensureUser } from './bootstrap.ts';
export { INVALID_CREDENTIALS, type AuthPayload, type SignupInput } from './accounts.ts';
export { hashPassword, verifyPassword, needsRehash, SCRYPT_PARAMS } from './passwords.ts';
export { checkEmail, checkPasswordStrength, checkOrgName, normalizeEmail } from './validation.ts';
export { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from './tokens.ts';
export {
  createLoginThrottle,
  loginThrottleKey,
  DEFAULT_LOGIN_MAX_FAILURES,
  DEFAULT_LOGIN_FAILURE_WINDOW_SECONDS,
  LOGIN_RATE_LIMITED,
  type LoginThrottle,
  type LoginThrottleOptions,
  type LoginAttempt,
} from './login-throttle.ts';
export { PUBLIC_FIELDS } from './resolvers/index.ts';
