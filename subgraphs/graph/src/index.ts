/** @datapilot/graph: the graph subgraph (Dataset catalog in Neo4j through @neo4j/graphql) and its data layer. */
export { createGraphServer, type GraphServerDeps } from './server.ts';
export { graphSubgraphSdl } from './sdl.ts';
export { buildGraphSchema } from './schema.ts';
export { createGraphContext, type GraphContext, type GraphJwt } from './context.ts';
export {
  ensureGraphSchema,
  upsertDatasets,
  deleteMissingDatasets,
  type DatasetInput,
  type DatasetColumnInput,
} from './data/datasets.ts';
