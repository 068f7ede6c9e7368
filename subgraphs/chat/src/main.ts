// Bootstrap of the chat subgraph: configuration from the environment, migrations, then createChatServer.
import type pg from 'pg';
import {
  createLogger,
  createServiceAuthenticator,
  loadConfig,
  onShutdown,
  openServiceDatabase,
  startTracing,
} from '@datapilot/common';
import { createLakeFromConfig } from '@datapilot/lake-core';
import { CHAT_SERVICE_CONFIG } from './config.ts';
import { createChatServer, MIGRATIONS_DIR } from './server.ts';

const config = loadConfig(CHAT_SERVICE_CONFIG);

const logger = createLogger('chat', config.LOG_LEVEL);
const tracing = await startTracing('chat', logger);
const { spark, store, lake } = createLakeFromConfig(config, logger);

// Migrations as the schema's owner (DATABASE_MIGRATION_URL), requests as the runtime role (DATABASE_URL).
let db: pg.Pool | undefined;
try {
  const pool = (db = await openServiceDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.DATABASE_MIGRATION_URL,
    schema: 'chat',
    migrationsDir: MIGRATIONS_DIR,
    poolMax: config.DATABASE_POOL_MAX,
    logger,
  }));
  const server = await createChatServer({
    pool,
    lake,
    authenticator: createServiceAuthenticator(config.AUTH_JWKS_URL),
    port: config.CHAT_PORT,
    host: config.CHAT_HOST,
    logger,
    streamDelayMs: config.CHAT_STREAM_DELAY_MS,
    maxConcurrentQuestionsPerOrg: config.CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG,
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
  logger.error('chat failed to start', { err });
  await db?.end().catch(() => undefined);
  process.exit(1);
}
