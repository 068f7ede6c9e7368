// Bootstrap of the graph subgraph: config, Neo4j driver, server, SIGTERM → close.
import neo4j from 'neo4j-driver';
import {
  createLogger,
  createTokenVerifier,
  DEFAULT_PORTS,
  int,
  loadConfig,
  str,
  url,
  onShutdown,
  SERVICE_CONFIG,
} from '@datapilot/common';
import { ensureGraphSchema } from './data/datasets.ts';
import { createGraphServer } from './server.ts';

const cfg = loadConfig({
  ...SERVICE_CONFIG,
  NEO4J_URI: url('Bolt URI of Neo4j', 'bolt://127.0.0.1:7688'),
  NEO4J_USER: str('Neo4j user', 'neo4j'),
  NEO4J_PASSWORD: str('Neo4j password', 'datapilot-dev'),
  GRAPH_PORT: int('port of the graph subgraph', DEFAULT_PORTS.graph, 0, 65535),
});
const logger = createLogger('graph', cfg.LOG_LEVEL);
const driver = neo4j.driver(cfg.NEO4J_URI, neo4j.auth.basic(cfg.NEO4J_USER, cfg.NEO4J_PASSWORD));
try {
  await driver.verifyConnectivity();
  await ensureGraphSchema(driver);
} catch (e) {
  logger.error('cannot use Neo4j', { uri: cfg.NEO4J_URI, err: e });
  await driver.close();
  process.exit(1);
}
const server = await createGraphServer({
  driver,
  verifier: createTokenVerifier({ jwks: cfg.AUTH_JWKS_URL }),
  port: cfg.GRAPH_PORT,
  logger,
});
onShutdown(logger, [() => server.close(), () => driver.close()]);
