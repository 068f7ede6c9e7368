// Bootstrap of the auth subgraph: configuration from the environment, then createAuthServer.
import type pg from 'pg';
import {
  createLogger,
  loadConfig,
  onShutdown,
  openServiceDatabase,
  startTracing,
  AUDIT_SCHEMA,
} from '@datapilot/common';
import { AUTH_SERVICE_CONFIG } from './config.ts';
import { createAuthServer, MIGRATIONS_DIR } from './server.ts';

const config = loadConfig(AUTH_SERVICE_CONFIG);

const logger = createLogger('auth', config.LOG_LEVEL);
const tracing = await startTracing('auth', logger);
// Migrations as the schema's owner (DATABASE_MIGRATION_URL), requests as the runtime role (DATABASE_URL).
let db: pg.Pool | undefined;
try {
  const pool = (db = await openServiceDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.DATABASE_MIGRATION_URL,
    schema: 'auth',
    migrationsDir: MIGRATIONS_DIR,
    alsoSchemas: [AUDIT_SCHEMA],
    poolMax: config.DATABASE_POOL_MAX,
    logger,
  }));
  const server = await createAuthServer({
    pool,
    port: config.AUTH_PORT,
    host: config.AUTH_HOST,
    logger,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    loginMaxFailures: config.LOGIN_MAX_FAILURES,
    loginFailureWindowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
    keyEncryptionKey: config.AUTH_KEY_ENCRYPTION_KEY,
    keyPublishLeadSeconds: config.AUTH_KEY_PUBLISH_LEAD_SECONDS,
    keyRotationPeriodSeconds: config.AUTH_KEY_ROTATION_DAYS * 86_400,
  });
  onShutdown(logger, [() => server.close(), () => pool.end(), () => tracing.shutdown()]);
} catch (err) {
  logger.error('auth failed to start', { err });
  await db?.end().catch(() => undefined);
  process.exit(1);
}
