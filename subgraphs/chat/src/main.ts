// Bootstrap of the chat subgraph: configuration from the environment, migrations, then createChatServer.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  DEFAULT_PORTS,
  createLogger,
  createTokenVerifier,
  int,
  loadConfig,
  oneOf,
  str,
  url,
  onShutdown,
} from '@datapilot/common';
import { createLake, createSparkConnectClient } from '@datapilot/lake-core';
import { createChatServer, migrateChatSchema } from './server.ts';

const DEFAULT_LAKE_ROOT = fileURLToPath(new URL('../../../.local/data/lake', import.meta.url));

const config = loadConfig({
  DATABASE_URL: str('PostgreSQL URL; the chat subgraph owns schema `chat` (required)'),
  DATABASE_POOL_MAX: int('largest number of PostgreSQL connections', 10, 1, 200),
  CHAT_PORT: int('HTTP and WebSocket port of the chat subgraph', DEFAULT_PORTS.chat, 0, 65535),
  CHAT_HOST: str('interface the chat subgraph binds', '127.0.0.1'),
  CHAT_STREAM_DELAY_MS: int('pause between two streamed answer pieces, in milliseconds', 20, 0, 1_000),
  SPARK_REMOTE: str('Spark Connect connection string, sc://host:port[/;token=...]', 'sc://127.0.0.1:15002'),
  LAKE_ROOT: str('absolute path of the lake root as the Spark server sees it', DEFAULT_LAKE_ROOT),
  LAKE_QUERY_TIMEOUT_MS: int('deadline of one Spark statement, in milliseconds', 30_000, 1_000, 600_000),
  AUTH_JWKS_URL: url('JWKS of the auth subgraph', `http://127.0.0.1:${DEFAULT_PORTS.auth}/.well-known/jwks.json`),
  LOG_LEVEL: oneOf('log level', ['debug', 'info', 'warn', 'error'] as const, 'info'),
});

const logger = createLogger('chat', config.LOG_LEVEL);
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_MAX });
pool.on('error', (err) => logger.error('idle PostgreSQL client error', { err }));
const spark = createSparkConnectClient({ remote: config.SPARK_REMOTE, timeoutMs: config.LAKE_QUERY_TIMEOUT_MS });
const lake = createLake({ spark, lakeRoot: config.LAKE_ROOT, logger });

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
  onShutdown(logger, [() => server.close(), () => lake.close(), () => spark.close(), () => pool.end()]);
} catch (err) {
  logger.error('chat failed to start', { err });
  await pool.end().catch(() => undefined);
  process.exit(1);
}
