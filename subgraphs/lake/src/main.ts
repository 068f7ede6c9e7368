// Bootstrap of the lake subgraph: configuration from the environment, then createLakeServer.
import { fileURLToPath } from 'node:url';
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
import { createLakeServer } from './server.ts';

const DEFAULT_LAKE_ROOT = fileURLToPath(new URL('../../../.local/data/lake', import.meta.url));

const config = loadConfig({
  LAKE_PORT: int('HTTP port of the lake subgraph', DEFAULT_PORTS.lake, 0, 65535),
  LAKE_HOST: str('interface the lake subgraph binds', '127.0.0.1'),
  SPARK_REMOTE: str('Spark Connect connection string, sc://host:port[/;token=...]', 'sc://127.0.0.1:15002'),
  LAKE_ROOT: str('absolute path of the lake root as the Spark server sees it', DEFAULT_LAKE_ROOT),
  LAKE_QUERY_TIMEOUT_MS: int('deadline of one Spark statement, in milliseconds', 30_000, 1_000, 600_000),
  AUTH_JWKS_URL: url('JWKS of the auth subgraph', `http://127.0.0.1:${DEFAULT_PORTS.auth}/.well-known/jwks.json`),
  LOG_LEVEL: oneOf('log level', ['debug', 'info', 'warn', 'error'] as const, 'info'),
});

const logger = createLogger('lake', config.LOG_LEVEL);

try {
  const spark = createSparkConnectClient({ remote: config.SPARK_REMOTE, timeoutMs: config.LAKE_QUERY_TIMEOUT_MS });
  const lake = createLake({ spark, lakeRoot: config.LAKE_ROOT, logger });
  const server = await createLakeServer({
    lake,
    verifier: createTokenVerifier({ jwks: config.AUTH_JWKS_URL }),
    port: config.LAKE_PORT,
    host: config.LAKE_HOST,
    logger,
  });
  onShutdown(logger, [() => server.close(), () => lake.close(), () => spark.close()]);
} catch (err) {
  logger.error('lake failed to start', { err });
  process.exit(1);
}
