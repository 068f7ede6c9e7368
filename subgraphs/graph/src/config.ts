import { DEFAULT_PORTS, devSecret, int, str, url, SERVICE_CONFIG } from '@datapilot/common';

/** The graph subgraph's variables (README, Configuration), for `loadConfig(GRAPH_SERVICE_CONFIG)` in main.ts. */
export const GRAPH_SERVICE_CONFIG = {
  ...SERVICE_CONFIG,
  NEO4J_URI: url('Bolt URI of Neo4j', 'bolt://127.0.0.1:7688'),
  NEO4J_USER: str('Neo4j user', 'neo4j'),
  // 'datapilot-test' is the test suite's (test/global-setup.ts); the default is also compose's and infra/neo4j's.
  NEO4J_PASSWORD: devSecret(str('Neo4j password', 'datapilot-dev'), 'the password of your Neo4j user', [
    'datapilot-test',
  ]),
  GRAPH_PORT: int('port of the graph subgraph', DEFAULT_PORTS.graph, 0, 65535),
  GRAPH_HOST: str('interface the graph subgraph binds', '127.0.0.1'),
};
