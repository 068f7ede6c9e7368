/**
 * The lake subgraph's server: Apollo Server 5 on the shared node:http server of @datapilot/common, with
 * GraphQL at `/graphql` (and `/`) and a health check at `/health`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import {
  closeServer,
  contextFromAuthorization,
  createFormatError,
  createGraphQLHttpServer,
  listen,
  sendJson,
  type Logger,
  type TokenVerifier,
  apolloLogger,
} from '@datapilot/common';
import type { Lake } from '@datapilot/lake-core';
import { createLakeData } from './data/lake-data.ts';
import { createResolvers, type LakeContext } from './resolvers/index.ts';

/** The SDL this server runs, the same file the gateway composes. */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));

/** Options of {@link createLakeServer}. */
export type LakeServerOptions = {
  /** The org-scoped lake (owned by the caller: `close()` does not close it). */
  lake: Lake;
  /** Verifies access tokens (the auth subgraph's JWKS in production, a local key in tests). */
  verifier: TokenVerifier;
  /** TCP port (0 = a free port). */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  logger: Logger;
};

/** A running lake server. */
export type LakeServer = {
  /** HTTP base, e.g. `http://127.0.0.1:4003`. */
  url: string;
  /** `${url}/graphql`. */
  graphqlUrl: string;
  /** Stops accepting requests, drains, stops Apollo. Does not close the lake. */
  close(): Promise<void>;
};

/**
 * Starts the lake subgraph (schema.graphql): `lakeTables`, `lakeTable(name)` and each table's columns, Delta
 * version, row count and rows (Relay connection). Every root field needs a valid access token: no token
 * answers UNAUTHENTICATED from the guard, a bad or expired one UNAUTHENTICATED (HTTP 401) before any
 * resolver. The org comes from the token alone. GET `/health`: 200 `{ status: "ok" }` when Spark Connect
 * answers `SELECT 1`, else 503 `{ status: "unavailable" }`.
 * @throws the listen error (EADDRINUSE) when the port is taken.
 */
export async function createLakeServer(opts: LakeServerOptions): Promise<LakeServer> {
  const { lake, verifier, logger } = opts;
  const apollo = new ApolloServer<LakeContext>({
    schema: buildSubgraphSchema({
      typeDefs: parse(readFileSync(SCHEMA_FILE, 'utf8')),
      resolvers: createResolvers() as never,
    }),
    formatError: createFormatError((err) => logger.error('unexpected error', { err })),
    logger: apolloLogger(logger),
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();

  const server = createGraphQLHttpServer<LakeContext>({
    apollo,
    context: async (req, requestId) => {
      const ctx = await contextFromAuthorization(verifier, req.headers.authorization, requestId);
      return { ...ctx, lake: ctx.tenant ? createLakeData(lake, ctx.tenant) : null };
    },
    routes: {
      '/health': async (_req, res) => {
        try {
          await lake.ping();
          sendJson(res, 200, { status: 'ok' });
        } catch (err) {
          logger.warn('health check failed', { err });
          sendJson(res, 503, { status: 'unavailable' });
        }
      },
    },
  });
  const url = await listen(server, opts.port, opts.host);
  logger.info('lake listening', { url: `${url}/graphql` });
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    async close() {
      await closeServer(server);
      await apollo.stop();
    },
  };
}
