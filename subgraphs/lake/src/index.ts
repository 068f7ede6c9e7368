/** @datapilot/lake: the lake subgraph (see schema.graphql). */
export { createLakeServer, SCHEMA_FILE, type LakeServer, type LakeServerOptions } from './server.ts';
export { createResolvers, MAX_PAGE_SIZE, type LakeContext } from './resolvers/index.ts';
