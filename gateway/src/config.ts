import { fileURLToPath } from 'node:url';
import {
  CORS_CONFIG,
  DEFAULT_PORTS,
  int,
  optStr,
  str,
  url,
  SERVICE_CONFIG,
  DEFAULT_BOUNDS,
  WS_SEND_CONFIG,
} from '@datapilot/common';

const P = DEFAULT_PORTS;

/** The gateway's variables (README, Configuration), for `loadConfig(GATEWAY_SERVICE_CONFIG)` in main.ts. */
export const GATEWAY_SERVICE_CONFIG = {
  ...SERVICE_CONFIG,
  ...CORS_CONFIG,
  ...WS_SEND_CONFIG,
  GATEWAY_PORT: int('HTTP and WebSocket port of the gateway', P.gateway, 0, 65535),
  GATEWAY_HOST: str('interface the gateway binds', '127.0.0.1'),
  GATEWAY_SUPERGRAPH_PATH: str(
    'the composed supergraph the gateway runs from (written by `npm run compose`)',
    fileURLToPath(new URL('../../supergraph.graphql', import.meta.url)),
  ),
  GATEWAY_TRUSTED_DOCUMENTS: optStr(
    'trusted documents: the path of a persisted-documents manifest (id → document) whose documents alone run, or ' +
      '`off`; unset: the SDK manifest (sdk/persisted-documents.json) in production, off in development ' +
      '(trusted-documents.ts)',
  ),
  AUTH_URL: url('auth subgraph GraphQL URL', `http://127.0.0.1:${P.auth}/graphql`),
  CHAT_URL: url('chat subgraph GraphQL URL', `http://127.0.0.1:${P.chat}/graphql`),
  CHAT_WS_URL: url('chat subgraph graphql-ws URL', `ws://127.0.0.1:${P.chat}/graphql`),
  LAKE_URL: url('lake subgraph GraphQL URL', `http://127.0.0.1:${P.lake}/graphql`),
  LAKE_WS_URL: url('lake subgraph graphql-ws URL', `ws://127.0.0.1:${P.lake}/graphql`),
  GRAPH_URL: url('graph subgraph GraphQL URL', `http://127.0.0.1:${P.graph}/graphql`),
  GATEWAY_MAX_QUERY_DEPTH: int('deepest field nesting of one operation', DEFAULT_BOUNDS.maxDepth, 1, 100),
  GATEWAY_MAX_QUERY_FIELDS: int(
    'most fields (aliases counted) one operation may select',
    DEFAULT_BOUNDS.maxFields,
    1,
    100_000,
  ),
};
