// Bootstrap of the auth subgraph: configuration from the environment, then createAuthServer.
import pg from 'pg';
import { createLogger, loadConfig, onShutdown } from '@datapilot/common';
import { AUTH_SERVICE_CONFIG } from './config.ts';
import { createAuthServer } from './server.ts';

const config = loadConfig(AUTH_SERVICE_CONFIG);

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
