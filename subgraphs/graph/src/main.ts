// Bootstrap of the graph subgraph: config, Neo4j driver, server, SIGTERM → close.
import neo4j from 'neo4j-driver';
import { createLogger, createServiceAuthenticator, loadConfig, onShutdown, startTracing } from '@datapilot/common';
import { GRAPH_SERVICE_CONFIG } from './config.ts';
import { ensureGraphSchema } from './data/datasets.ts';
import { createGraphServer } from './server.ts';

const cfg = loadConfig(GRAPH_SERVICE_CONFIG);
const logger = createLogger('graph', cfg.LOG_LEVEL);
const tracing = await startTracing('graph', logger);
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
  authenticator: createServiceAuthenticator(cfg.AUTH_JWKS_URL),
  port: cfg.GRAPH_PORT,
  host: cfg.GRAPH_HOST,
  logger,
});
onShutdown(logger, [() => server.close(), () => driver.close(), () => tracing.shutdown()]);
