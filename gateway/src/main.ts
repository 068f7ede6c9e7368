// Gateway bootstrap: configuration, composition, listen. See README "Configuration".
import {
  DEFAULT_PORTS,
  createLogger,
  createTokenVerifier,
  int,
  loadConfig,
  url,
  onShutdown,
  SERVICE_CONFIG,
} from '@datapilot/common';
import { createGatewayServer } from './server.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { loadSubgraphDefs } from './subgraphs.ts';

const P = DEFAULT_PORTS;
const config = loadConfig({
  ...SERVICE_CONFIG,
  GATEWAY_PORT: int('HTTP and WebSocket port of the gateway', P.gateway, 0, 65535),
  AUTH_URL: url('auth subgraph GraphQL URL', `http://127.0.0.1:${P.auth}/graphql`),
  CHAT_URL: url('chat subgraph GraphQL URL', `http://127.0.0.1:${P.chat}/graphql`),
  CHAT_WS_URL: url('chat subgraph graphql-ws URL', `ws://127.0.0.1:${P.chat}/graphql`),
  LAKE_URL: url('lake subgraph GraphQL URL', `http://127.0.0.1:${P.lake}/graphql`),
  LAKE_WS_URL: url('lake subgraph graphql-ws URL', `ws://127.0.0.1:${P.lake}/graphql`),
  GRAPH_URL: url('graph subgraph GraphQL URL', `http://127.0.0.1:${P.graph}/graphql`),
  GATEWAY_MAX_QUERY_DEPTH: int('deepest field nesting of one operation', DEFAULT_LIMITS.maxDepth, 1, 100),
  GATEWAY_MAX_QUERY_FIELDS: int(
    'most fields (aliases counted) one operation may select',
    DEFAULT_LIMITS.maxFields,
    1,
    100_000,
  ),
});
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
    verifier: createTokenVerifier({ jwks: config.AUTH_JWKS_URL }),
    port: config.GATEWAY_PORT,
    limits: { maxDepth: config.GATEWAY_MAX_QUERY_DEPTH, maxFields: config.GATEWAY_MAX_QUERY_FIELDS },
    logger,
  });
  onShutdown(logger, [() => gw.close()]);
} catch (e) {
  logger.error('gateway failed to start', { err: (e as Error).message });
  process.exit(1);
}
