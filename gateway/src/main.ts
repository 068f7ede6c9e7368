// Gateway bootstrap: configuration, composition, listen. See README "Configuration".
import { createLogger, createServiceAuthenticator, loadConfig, onShutdown } from '@datapilot/common';
import { exchangeWithAuth, withApiKeys } from './api-keys.ts';
import { GATEWAY_SERVICE_CONFIG } from './config.ts';
import { createGatewayServer } from './server.ts';
import { loadSubgraphDefs } from './subgraphs.ts';

const config = loadConfig(GATEWAY_SERVICE_CONFIG);
const logger = createLogger('gateway', config.LOG_LEVEL);

try {
  const subgraphs = await loadSubgraphDefs({
    auth: config.AUTH_URL,
    chat: config.CHAT_URL,
    chatWs: config.CHAT_WS_URL,
    lake: config.LAKE_URL,
    lakeWs: config.LAKE_WS_URL,
    graph: config.GRAPH_URL,
  });
  const gw = await createGatewayServer({
    subgraphs,
    authenticator: withApiKeys(createServiceAuthenticator(config.AUTH_JWKS_URL), exchangeWithAuth(config.AUTH_URL)),
    port: config.GATEWAY_PORT,
    host: config.GATEWAY_HOST,
    limits: { maxDepth: config.GATEWAY_MAX_QUERY_DEPTH, maxFields: config.GATEWAY_MAX_QUERY_FIELDS },
    logger,
  });
  onShutdown(logger, [() => gw.close()]);
} catch (e) {
  logger.error('gateway failed to start', { err: (e as Error).message });
  process.exit(1);
}
