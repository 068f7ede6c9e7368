// Bootstrap of the auth subgraph: configuration from the environment, then createAuthServer.
import pg from 'pg';
import { createLogger, int, loadConfig, oneOf, str, DEFAULT_PORTS, onShutdown } from '@datapilot/common';
import { createAuthServer } from './server.ts';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from './tokens.ts';
import { DEFAULT_LOGIN_FAILURE_WINDOW_SECONDS, DEFAULT_LOGIN_MAX_FAILURES } from './login-throttle.ts';

const config = loadConfig({
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
});

const logger = createLogger('auth', config.LOG_LEVEL);
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_MAX });
pool.on('error', (err) => logger.error('idle PostgreSQL client error', { err }));

try {
  const server = await createAuthServer({
    pool,
    port: config.AUTH_PORT,
    host: config.AUTH_HOST,
    logger,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    loginMaxFailures: config.LOGIN_MAX_FAILURES,
    loginFailureWindowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
  });
  onShutdown(logger, [() => server.close(), () => pool.end()]);
} catch (err) {
  logger.error('auth failed to start', { err });
  await pool.end().catch(() => undefined);
  process.exit(1);
}
