// Bootstrap of the chat subgraph: configuration from the environment, migrations, then createChatServer.
import pg from 'pg';
import { createLogger, createTokenVerifier, loadConfig, onShutdown } from '@datapilot/common';
import { createLakeFromConfig } from '@datapilot/lake-core';
import { CHAT_SERVICE_CONFIG } from './config.ts';
import { createChatServer, migrateChatSchema } from './server.ts';

const config = loadConfig(CHAT_SERVICE_CONFIG);

const logger = createLogger('chat', config.LOG_LEVEL);
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_MAX });
pool.on('error', (err) => logger.error('idle PostgreSQL client error', { err }));
const { spark, store, lake } = createLakeFromConfig(config, logger);

try {
  const applied = await migrateChatSchema(pool);
  if (applied.length) logger.info('chat migrations applied', { versions: applied });
  const server = await createChatServer({
    pool,
    lake,
    verifier: createTokenVerifier({ jwks: config.AUTH_JWKS_URL }),
    port: config.CHAT_PORT,
    host: config.CHAT_HOST,
    logger,
    streamDelayMs: config.CHAT_STREAM_DELAY_MS,
  });
  onShutdown(logger, [
    () => server.close(),
    () => lake.close(),
    () => spark.close(),
    () => store.close(),
    () => pool.end(),
  ]);
} catch (err) {
  logger.error('chat failed to start', { err });
  await pool.end().catch(() => undefined);
  process.exit(1);
}
