// Gateway bootstrap: configuration, composition, listen. See README "Configuration".
import {
  createLogger,
  createServiceAuthenticator,
  isProduction,
  loadConfig,
  onShutdown,
  startTracing,
} from '@datapilot/common';
import { exchangeWithAuth, withApiKeys } from './api-keys.ts';
import { GATEWAY_SERVICE_CONFIG } from './config.ts';
import { createGatewayServer } from './server.ts';
import { readFile } from 'node:fs/promises';
import { supergraphFromSdl } from './compose.ts';
import { loadTrustedDocuments, trustedDocumentsSetting } from './trusted-documents.ts';

const config = loadConfig(GATEWAY_SERVICE_CONFIG);
const logger = createLogger('gateway', config.LOG_LEVEL);
const tracing = await startTracing('gateway', logger);

try {
  // The committed supergraph (`npm run compose`), with each subgraph at its configured endpoint.
  const supergraph = supergraphFromSdl(await readFile(config.GATEWAY_SUPERGRAPH_PATH, 'utf8'), {
    auth: { url: config.AUTH_URL },
    chat: { url: config.CHAT_URL, wsUrl: config.CHAT_WS_URL },
    lake: { url: config.LAKE_URL, wsUrl: config.LAKE_WS_URL },
    graph: { url: config.GRAPH_URL },
  });
  const gw = await createGatewayServer({
    supergraph,
    authenticator: withApiKeys(createServiceAuthenticator(config.AUTH_JWKS_URL), exchangeWithAuth(config.AUTH_URL)),
    port: config.GATEWAY_PORT,
    host: config.GATEWAY_HOST,
    cors: config.CORS_ORIGINS,
    limits: { maxDepth: config.GATEWAY_MAX_QUERY_DEPTH, maxFields: config.GATEWAY_MAX_QUERY_FIELDS },
    sendBounds: { maxPendingMessages: config.WS_MAX_PENDING_MESSAGES, maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES },
    trustedDocuments: await loadTrustedDocuments(
      trustedDocumentsSetting(config.GATEWAY_TRUSTED_DOCUMENTS, isProduction()),
    ),
    logger,
  });
  onShutdown(logger, [() => gw.close(), () => tracing.shutdown()]);
} catch (e) {
  logger.error('gateway failed to start', { err: (e as Error).message });
  process.exit(1);
}
