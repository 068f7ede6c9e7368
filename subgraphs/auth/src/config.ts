import { base64Bytes, databaseConfig, DEFAULT_PORTS, devSecret, int, oneOf, str } from '@datapilot/common';
import { DEFAULT_KEY_PUBLISH_LEAD_SECONDS, DEFAULT_KEY_ROTATION_DAYS, DEVELOPMENT_KEY_ENCRYPTION_KEY } from './keys.ts';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from './tokens.ts';
import { DEFAULT_LOGIN_FAILURE_WINDOW_SECONDS, DEFAULT_LOGIN_MAX_FAILURES } from './login-throttle.ts';

/** The auth subgraph's variables (README, Configuration), for `loadConfig(AUTH_SERVICE_CONFIG)` in main.ts. */
export const AUTH_SERVICE_CONFIG = {
  ...databaseConfig('auth', 'datapilot_auth'),
  AUTH_PORT: int('HTTP port of the auth subgraph', DEFAULT_PORTS.auth, 0, 65535),
  AUTH_HOST: str('interface the auth subgraph binds', '127.0.0.1'),
  ACCESS_TOKEN_TTL_SECONDS: int('access-token lifetime in seconds', DEFAULT_ACCESS_TOKEN_TTL_SECONDS, 60, 86_400),
  REFRESH_TOKEN_TTL_SECONDS: int(
    'refresh-token lifetime in seconds',
    DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
    300,
    365 * 86_400,
  ),
  LOGIN_MAX_FAILURES: int(
    'failed logins per email within the window before login answers RATE_LIMITED',
    DEFAULT_LOGIN_MAX_FAILURES,
    1,
    1000,
  ),
  LOGIN_FAILURE_WINDOW_SECONDS: int(
    'sliding window of login throttling, in seconds',
    DEFAULT_LOGIN_FAILURE_WINDOW_SECONDS,
    1,
    86_400,
  ),
  AUTH_KEY_ENCRYPTION_KEY: devSecret(
    base64Bytes(
      'key that encrypts the signing keys at rest (AES-256-GCM), base64 of 32 bytes (default: a public development key)',
      32,
      DEVELOPMENT_KEY_ENCRYPTION_KEY,
    ),
    'the base64 of 32 random bytes (openssl rand -base64 32), the same for every auth replica and kept: the keys ' +
      'in auth.signing_keys are encrypted with it',
  ),
  AUTH_KEY_PUBLISH_LEAD_SECONDS: int(
    'seconds a new signing key is in the JWKS before it signs; at least how long verifiers (and caches) keep the JWKS',
    DEFAULT_KEY_PUBLISH_LEAD_SECONDS,
    0,
    7 * 86_400,
  ),
  AUTH_KEY_ROTATION_DAYS: int(
    'days a signing key signs before the auth service rotates it by itself; 0 = only `npm run keys:rotate`',
    DEFAULT_KEY_ROTATION_DAYS,
    0,
    3650,
  ),
  LOG_LEVEL: oneOf('log level', ['debug', 'info', 'warn', 'error'] as const, 'info'),
};
