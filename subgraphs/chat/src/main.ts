// Bootstrap of the chat subgraph: configuration from the environment, migrations, then createChatServer.
import pg from 'pg';
import {
  DEFAULT_PORTS,
  createLogger,
  createTokenVerifier,
  int,
  loadConfig,
  str,
  onShutdown,
  SERVICE_CONFIG,
} from '@datapilot/common';
import { LAKE_CONFIG, createLakeFromConfig } from '@datapilot/lake-core';
import { createChatServer, migrateChatSchema } from './server.ts';

const config = loadConfig({
  ...SERVICE_CONFIG,
  ...LAKE_CONFIG,
  DATABASE_URL: str('PostgreSQL URL; the chat subgraph owns schema `chat` (required)'),
  DATABASE_POOL_MAX: int('largest number of PostgreSQL connections', 10, 1, 200),
  CHAT_PORT: int('HTTP and WebSocket port of the chat subgraph', DEFAULT_PORTS.chat, 0, 65535),
  CHAT_HOST: str('interface the chat subgraph binds', '127.0.0.1'),
  CHAT_STREAM_DELAY_MS: int('pause between two streamed answer pieces, in milliseconds', 20, 0, 1_000),
});

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
