/** @datapilot/lake: the lake subgraph (see schema.graphql). */
export {
  createLakeServer,
  migrateLakeSchema,
  DEFAULT_UPLOAD_LIMITS,
  SCHEMA_FILE,
  type LakeServer,
  type LakeServerOptions,
  type Orchestrator,
} from './server.ts';
export { createResolvers, MAX_PAGE_SIZE, type LakeContext } from './resolvers/index.ts';
export { createAirflowClient } from './airflow/client.ts';
export { LAKE_SERVICE_CONFIG } from './config.ts';
