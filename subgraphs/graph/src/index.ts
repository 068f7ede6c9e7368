/** @datapilot/graph: the graph subgraph (the catalog's datasets and their lineage, read from Neo4j through @neo4j/graphql). */
export { createGraphServer, type GraphServerDeps } from './server.ts';
export { graphSubgraphSdl } from './sdl.ts';
export { buildGraphSchema } from './schema.ts';
export { createGraphContext, type GraphContext, type GraphJwt } from './context.ts';
export { ensureGraphSchema } from './data/datasets.ts';
