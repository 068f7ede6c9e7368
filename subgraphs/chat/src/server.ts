/**
 * The chat subgraph's server: Apollo Server 5 on a node:http server (HTTP GraphQL at /graphql) and graphql-ws on
 * the same port and path for subscriptions.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Pool } from 'pg';
import {
  healthRoutes,
  attachGraphQLWebSocket,
  closeServer,
  contextFromRequest,
  guardSchema,
  createFormatError,
  createGraphQLHttpServer,
  listen,
  runMigrations,
  type Logger,
  type RequestContext,
  type Authenticator,
  apolloLogger,
  PARSE_OPTIONS,
  useOperationBounds,
  apolloModeOptions,
  apolloModePlugins,
} from '@datapilot/common';
import { createAnalyst, type Analyst } from './analyst/index.ts';
import { createMessageEventHub } from './events.ts';
import { createResolvers } from './resolvers/index.ts';
import { startReplicaWatch, type REPLICA_TIMING } from './replicas.ts';
import { createResponder, type TenantLakes } from './responder.ts';

/** The SDL this server runs, the same file the gateway composes. */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));
/** The SQL migrations of schema `chat`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
/** GraphQL path, for HTTP and WebSocket alike. */
export const GRAPHQL_PATH = '/graphql';

/** WebSocket close codes of this server: those of every subgraph ({@link attachGraphQLWebSocket}). */
export { WS_CLOSE } from '@datapilot/common';

/**
 * Applies the chat migrations (schema `chat`) idempotently; safe from several processes at once.
 * @returns the versions applied by this call.
 */
export function migrateChatSchema(pool: Pool): Promise<string[]> {
  return runMigrations(pool, 'chat', MIGRATIONS_DIR);
}

/** Options of {@link createChatServer}. */
export type ChatServerOptions = {
  /** PostgreSQL pool with the chat migrations applied (see {@link migrateChatSchema}); not ended by close(). */
  pool: Pool;
  /** The lake per tenant (`createLake({ spark, store })` of @datapilot/lake-core). */
  lake: TenantLakes;
  /**
   * Turns credentials into tenants with their current role (createServiceAuthenticator over the auth subgraph's
   * JWKS and principal check).
   */
  authenticator: Authenticator;
  /** TCP port (0 = a free port). */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  logger: Logger;
  /** The analyst (default: {@link createAnalyst} with its defaults). */
  analyst?: Analyst;
  /** Pause between two streamed text pieces, in milliseconds (default 20). */
  streamDelayMs?: number;
  /**
   * Answers one organization may have computed at once in this process; `sendMessage` beyond answers RATE_LIMITED
   * with `retryAfterSeconds` and stores nothing (CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG; default 2).
   */
  maxConcurrentQuestionsPerOrg?: number;
  /** The timing of the replica heartbeat and recovery sweep (replicas.ts; default REPLICA_TIMING). */
  replicaTiming?: Partial<typeof REPLICA_TIMING>;
};

/** A running chat server. */
export type ChatServer = {
  /** HTTP base, e.g. `http://127.0.0.1:4002`; GraphQL at `${url}/graphql`. */
  url: string;
  /** `ws://host:port/graphql`: graphql-ws (subprotocol `graphql-transport-ws`). */
  wsUrl: string;
  /** This replica's id (replicas.ts), stored on the messages it answers. */
  replicaId: string;
  /**
   * Closes sockets (code 1001) and the HTTP server, waits for running answers (bounded; those still running then end
   * FAILED/INTERRUPTED), removes the replica's heartbeat, stops its LISTEN connection and Apollo.
   */
  close(): Promise<void>;
};

/**
 * Starts the chat subgraph on `port`:
 * - POST/GET `/graphql`: queries and mutations (schema.graphql); a bad or expired `Authorization: Bearer` token
 *   answers UNAUTHENTICATED (HTTP 401) before any resolver; no token reaches no field (UNAUTHENTICATED).
 * - WebSocket `/graphql` (graphql-ws): subscriptions. `connection_init` must carry
 *   `{ authorization: "Bearer <jwt>" }`; missing/bad → close 4401. The socket is closed with 4401 when the token
 *   expires. Subscriptions run with the same {@link RequestContext} as HTTP requests.
 * - GET `/health` (alive) and `/ready` (PostgreSQL and Spark Connect answer), health.ts.
 * Replicas: run as many as needed on one database. Message events go through PostgreSQL (an outbox table and
 * LISTEN/NOTIFY, events.ts), so a subscriber on any replica follows an answer computed on any other; the answers a
 * dead replica left unfinished are ended FAILED/INTERRUPTED by a live one (replicas.ts).
 * @throws the listen error (EADDRINUSE) when the port is taken.
 */
export async function createChatServer(opts: ChatServerOptions): Promise<ChatServer> {
  const { pool, authenticator, logger } = opts;
  const replicaId = randomUUID();
  const hub = createMessageEventHub({ pool, logger });
  const analyst = opts.analyst ?? createAnalyst({ onWarning: (what, err) => logger.warn(what, { err }) });
  const responder = createResponder({
    pool,
    lakes: opts.lake,
    analyst,
    replicaId,
    hub,
    logger,
    streamDelayMs: opts.streamDelayMs,
    maxConcurrentPerOrg: opts.maxConcurrentQuestionsPerOrg,
  });
  const schema = guardSchema(
    buildSubgraphSchema({
      typeDefs: parse(readFileSync(SCHEMA_FILE, 'utf8')),
      resolvers: createResolvers({ pool, hub, responder }) as never,
    }),
  );
  const formatError = createFormatError((err) => logger.error('unexpected error', { err }));

  const apollo = new ApolloServer<RequestContext>({
    schema,
    formatError,
    logger: apolloLogger(logger),
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown (onShutdown); Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    ...apolloModeOptions(),
    // The bounds of every DataPilot GraphQL endpoint (bounds.ts): document size, input values, depth, fields, cost.
    plugins: [useOperationBounds(), ...apolloModePlugins()],
    parseOptions: PARSE_OPTIONS,
  });
  await apollo.start();

  const http = createGraphQLHttpServer<RequestContext>({
    apollo,
    path: GRAPHQL_PATH,
    context: (req, requestId) => contextFromRequest(authenticator, req, requestId),
    routes: {
      ...healthRoutes(
        {
          ...authenticator.dependencies,
          postgres: () => pool.query('SELECT 1'),
          ...(opts.lake.ping ? { spark: () => opts.lake.ping!() } : {}),
        },
        logger,
      ),
    },
  });

  const ws = attachGraphQLWebSocket({
    server: http,
    path: GRAPHQL_PATH,
    schema,
    authenticator,
    formatError,
    context: (base) => base,
  });

  let watch: Awaited<ReturnType<typeof startReplicaWatch>> | undefined;
  let url: string;
  try {
    watch = await startReplicaWatch({
      pool,
      replicaId,
      logger,
      isAnswering: (id) => responder.isAnswering(id),
      timing: opts.replicaTiming,
    });
    url = await listen(http, opts.port, opts.host);
  } catch (e) {
    // Nothing was answered yet: the heartbeat row and the LISTEN connection go.
    await watch?.stop();
    await hub.close();
    throw e;
  }
  const replicas = watch;
  const wsUrl = url.replace(/^http/, 'ws') + GRAPHQL_PATH;
  logger.info('chat subgraph listening', { url, wsUrl, replicaId });
  return {
    url,
    wsUrl,
    replicaId,
    async close() {
      await ws.close();
      await closeServer(http);
      await responder.close();
      await replicas.stop();
      await hub.close();
      await apollo.stop();
    },
  };
}
