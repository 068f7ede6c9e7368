import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { Driver } from 'neo4j-driver';
import {
  healthRoutes,
  closeServer,
  createFormatError,
  createGraphQLHttpServer,
  listen,
  type Logger,
  type Authenticator,
  PARSE_OPTIONS,
  useOperationBounds,
  apolloModeOptions,
  apolloModePlugins,
} from '@datapilot/common';
import { createGraphContext, type GraphContext } from './context.ts';
import { buildGraphSchema } from './schema.ts';
import { traceCypher } from './cypher-spans.ts';

/** Dependencies of {@link createGraphServer}. */
export type GraphServerDeps = {
  /** Neo4j driver (owned by the caller, who closes it after `close()`). */
  driver: Driver;
  /** Turns credentials into tenants with their current role (`createServiceAuthenticator`; tests: `tokenRoleOnly`). */
  authenticator: Authenticator;
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** Interface to bind (default 127.0.0.1; a container binds 0.0.0.0). */
  host?: string;
  logger: Logger;
};

/**
 * Starts the graph subgraph: @neo4j/graphql's Federation 2 subgraph schema (see schema.graphql) behind
 * Apollo Server 5 on `POST /graphql`, plus `GET /health` (alive) and `/ready` (Neo4j answers), health.ts.
 *
 * Auth: each request's bearer token is verified here (a bad or expired one answers UNAUTHENTICATED, HTTP 401);
 * its `org` claim becomes `$jwt.org`, which @neo4j/graphql's @authorization rules compile into every Cypher
 * query. Without a token every root field but `_service` answers UNAUTHENTICATED. Errors leave through
 * `createFormatError` (internals masked as INTERNAL, no stack traces).
 * @returns the base URL (`http://127.0.0.1:<port>`) and `close()`, which stops accepting requests.
 * @throws Error when the schema does not build or the port cannot be bound.
 */
export async function createGraphServer(deps: GraphServerDeps): Promise<{ url: string; close(): Promise<void> }> {
  const { logger } = deps;
  // With tracing on, each Cypher query @neo4j/graphql sends is a span of the request (cypher-spans.ts).
  const schema = await buildGraphSchema({ driver: traceCypher(deps.driver) });
  const apollo = new ApolloServer<GraphContext>({
    schema,
    formatError: createFormatError((err) => logger.error('request failed', { err })),
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown (onShutdown: server, then the driver); Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    ...apolloModeOptions(),
    // Federated traces (ftv1) are for Apollo Studio, which DataPilot does not use. The bounds are those of every
    // DataPilot GraphQL endpoint (bounds.ts): document size, input values, depth, fields, cost.
    plugins: [ApolloServerPluginInlineTraceDisabled(), useOperationBounds(), ...apolloModePlugins()],
    parseOptions: PARSE_OPTIONS,
  });
  await apollo.start();
  const http = createGraphQLHttpServer<GraphContext>({
    apollo,
    context: (req, requestId) => createGraphContext(deps.authenticator, req, requestId),
    routes: healthRoutes({ ...deps.authenticator.dependencies, neo4j: () => deps.driver.verifyConnectivity() }, logger),
  });
  const url = await listen(http, deps.port, deps.host);
  logger.info('graph subgraph listening', { url: `${url}/graphql` });
  return {
    url,
    async close() {
      await closeServer(http);
      await apollo.stop();
    },
  };
}
