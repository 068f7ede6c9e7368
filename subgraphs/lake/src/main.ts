// Bootstrap of the lake subgraph: configuration from the environment, then createLakeServer.
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
import { createLakeServer } from './server.ts';

const config = loadConfig({
  ...SERVICE_CONFIG,
  ...LAKE_CONFIG,
  LAKE_PORT: int('HTTP port of the lake subgraph', DEFAULT_PORTS.lake, 0, 65535),
  LAKE_HOST: str('interface the lake subgraph binds', '127.0.0.1'),
});

const logger = createLogger('lake', config.LOG_LEVEL);

try {
  const { spark, lake } = createLakeFromConfig(config, logger);
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
