// Bootstrap of the lake subgraph: configuration from the environment, migrations, then createLakeServer.
import type pg from 'pg';
import {
  createLogger,
  createServiceAuthenticator,
  loadConfig,
  onShutdown,
  openServiceDatabase,
  startTracing,
  AUDIT_SCHEMA,
} from '@datapilot/common';
import { createLakeFromConfig } from '@datapilot/lake-core';
import { LAKE_SERVICE_CONFIG } from './config.ts';
import { createAirflowClient } from './airflow/client.ts';
import { createLakeServer, MIGRATIONS_DIR } from './server.ts';

const config = loadConfig(LAKE_SERVICE_CONFIG);
const logger = createLogger('lake', config.LOG_LEVEL);
const tracing = await startTracing('lake', logger);
const { spark, store, lake } = createLakeFromConfig(config, logger);

// Migrations as the schema's owner (DATABASE_MIGRATION_URL), requests as the runtime role (DATABASE_URL).
let db: pg.Pool | undefined;
try {
  const pool = (db = await openServiceDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.DATABASE_MIGRATION_URL,
    schema: 'lake',
    migrationsDir: MIGRATIONS_DIR,
    alsoSchemas: [AUDIT_SCHEMA],
    poolMax: config.DATABASE_POOL_MAX,
    logger,
  }));
  const server = await createLakeServer({
    lake,
    store,
    pool,
    airflow: createAirflowClient({
      url: config.AIRFLOW_URL,
      username: config.AIRFLOW_USERNAME,
      password: config.AIRFLOW_PASSWORD,
    }),
    limits: {
      maxBytes: config.UPLOAD_MAX_BYTES,
      urlTtlSeconds: config.UPLOAD_URL_TTL_SECONDS,
      maxPending: config.UPLOAD_MAX_PENDING,
      maxInProgress: config.LAKE_MAX_CONCURRENT_UPLOADS_PER_ORG,
    },
    watchIntervalMs: config.RUN_WATCH_INTERVAL_MS,
    authenticator: createServiceAuthenticator(config.AUTH_JWKS_URL),
    port: config.LAKE_PORT,
    host: config.LAKE_HOST,
    logger,
  });
  onShutdown(logger, [
    () => server.close(),
    () => lake.close(),
    () => spark.close(),
    () => store.close(),
    () => pool.end(),
    () => tracing.shutdown(),
  ]);
} catch (err) {
  logger.error('lake failed to start', { err });
  await db?.end().catch(() => undefined);
  process.exit(1);
}
