import { DEFAULT_PORTS, int, str, NEO4J_CONFIG, SERVICE_CONFIG } from '@datapilot/common';

/** The graph subgraph's variables (README, Configuration), for `loadConfig(GRAPH_SERVICE_CONFIG)` in main.ts. */
export const GRAPH_SERVICE_CONFIG = {
  ...SERVICE_CONFIG,
  ...NEO4J_CONFIG,
  GRAPH_PORT: int('port of the graph subgraph', DEFAULT_PORTS.graph, 0, 65535),
  GRAPH_HOST: str('interface the graph subgraph binds', '127.0.0.1'),
};
