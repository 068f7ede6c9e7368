// Bootstrap of the lake subgraph: configuration from the environment, migrations, then createLakeServer.
import pg from 'pg';
import { createLogger, createTokenVerifier, loadConfig, onShutdown } from '@datapilot/common';
import { createLakeFromConfig } from '@datapilot/lake-core';
import { LAKE_SERVICE_CONFIG } from './config.ts';
import { createAirflowClient } from './airflow/client.ts';
import { createLakeServer, migrateLakeSchema } from './server.ts';

const config = loadConfig(LAKE_SERVICE_CONFIG);
const logger = createLogger('lake', config.LOG_LEVEL);
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_MAX });
pool.on('error', (err) => logger.error('idle PostgreSQL client error', { err }));
const { spark, store, lake } = createLakeFromConfig(config, logger);

try {
  const applied = await migrateLakeSchema(pool);
  if (applied.length) logger.info('lake migrations applied', { versions: applied });
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
    },
    watchIntervalMs: config.RUN_WATCH_INTERVAL_MS,
    verifier: createTokenVerifier({ jwks: config.AUTH_JWKS_URL }),
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
  ]);
} catch (err) {
  logger.error('lake failed to start', { err });
  await pool.end().catch(() => undefined);
  process.exit(1);
}
