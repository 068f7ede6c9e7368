import { DEFAULT_PORTS, int, oneOf, str } from '@datapilot/common';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from './tokens.ts';
import { DEFAULT_LOGIN_FAILURE_WINDOW_SECONDS, DEFAULT_LOGIN_MAX_FAILURES } from './login-throttle.ts';

/** The auth subgraph's variables (README, Configuration), for `loadConfig(AUTH_SERVICE_CONFIG)` in main.ts. */
export const AUTH_SERVICE_CONFIG = {
  DATABASE_URL: str('PostgreSQL URL; the auth subgraph owns schema `auth` (required)'),
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
  DATABASE_POOL_MAX: int('largest number of PostgreSQL connections', 10, 1, 200),
  LOG_LEVEL: oneOf('log level', ['debug', 'info', 'warn', 'error'] as const, 'info'),
};
