/** @datapilot/auth: the auth subgraph — users, organizations, memberships, tokens, JWKS. */
export { createAuthServer, migrateAuthSchema, JWKS_PATH, SCHEMA_FILE, MIGRATIONS_DIR } from './server.ts';
export type { AuthServer, AuthServerOptions } from './server.ts';
export { ensureUser } from './bootstrap.ts';
export { INVALID_CREDENTIALS, type AuthPayload, type SignupInput } from './accounts.ts';
export { hashPassword, verifyPassword, needsRehash, SCRYPT_PARAMS } from './passwords.ts';
export { checkEmail, checkPasswordStrength, checkOrgName, normalizeEmail } from './validation.ts';
export {
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
  API_KEY_PREFIX,
  INVITATION_TOKEN_PREFIX,
} from './tokens.ts';
export { currentPrincipal, LAST_USED_RESOLUTION_SECONDS, type Principal, type PrincipalRef } from './data/principal.ts';
export { INVITATION_TTL_SECONDS } from './teams.ts';
export { apiKeyExpiry, API_KEY_DEFAULT_TTL_DAYS, API_KEY_MAX_TTL_DAYS, INVALID_API_KEY } from './api-keys.ts';
export { checkGrant, checkKeepsOwner, checkManage } from './team-rules.ts';
export { MAX_LIST_PAGE } from './resolvers/index.ts';
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
export {
  scheduleKeyRotation,
  listSigningKeys,
  sealPrivateJwk,
  openPrivateJwk,
  SigningKeyDecryptionError,
  DEFAULT_KEY_PUBLISH_LEAD_SECONDS,
  DEFAULT_KEY_ROTATION_DAYS,
  DEVELOPMENT_KEY_ENCRYPTION_KEY,
  type SigningKeyInfo,
} from './keys.ts';
export { AUTH_SERVICE_CONFIG } from './config.ts';
