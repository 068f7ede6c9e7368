/**
 * The chat subgraph's server: Apollo Server 5 on a node:http server (HTTP GraphQL at /graphql) and graphql-ws on
 * the same port and path for subscriptions.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Pool } from 'pg';
import {
  bearerToken,
  closeServer,
  contextFromAuthorization,
  createFormatError,
  createGraphQLHttpServer,
  hasErrorCode,
  listen,
  runMigrations,
  sendJson,
  type Logger,
  type RequestContext,
  type TenantContext,
  type TokenVerifier,
  apolloLogger,
  MAX_BODY_BYTES,
} from '@datapilot/common';
import { createAnalyst, type Analyst } from './analyst/index.ts';
import { createMessageEventHub } from './events.ts';
import { createResolvers } from './resolvers/index.ts';
import { createResponder, type TenantLakes } from './responder.ts';

/** The SDL this server runs, the same file the gateway composes. */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));
/** The SQL migrations of schema `chat`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
/** GraphQL path, for HTTP and WebSocket alike. */
export const GRAPHQL_PATH = '/graphql';

/**
 * WebSocket close codes of this server (graphql-ws's own codes, e.g. 4400/4409/4429, keep their meaning):
 * 4401 no, bad or expired token (also sent when a connected token expires); 4403 is not used — another user's message
 * answers a NOT_FOUND error on that one subscription, so existence is not revealed and other subscriptions go on.
 */
export const WS_CLOSE = { UNAUTHORIZED: 4401 } as const;

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
  /** The lake per tenant (`createLake({spark, lakeRoot})` of @datapilot/lake-core). */
  lake: TenantLakes;
  /** Verifies access tokens (createTokenVerifier against the auth subgraph's JWKS). */
  verifier: TokenVerifier;
  /** TCP port (0 = a free port). */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  logger: Logger;
  /** The analyst (default: {@link createAnalyst} with its defaults). */
  analyst?: Analyst;
  /** Pause between two streamed text pieces, in milliseconds (default 20). */
  streamDelayMs?: number;
};

/** A running chat server. */
export type ChatServer = {
  /** HTTP base, e.g. `http://127.0.0.1:4002`; GraphQL at `${url}/graphql`. */
  url: string;
  /** `ws://host:port/graphql`: graphql-ws (subprotocol `graphql-transport-ws`). */
  wsUrl: string;
  /** Closes sockets (code 1001) and the HTTP server, waits for running answers (bounded), stops Apollo. */
  close(): Promise<void>;
};

/**
 * Starts the chat subgraph on `port`:
 * - POST/GET `/graphql`: queries and mutations (schema.graphql); a bad or expired `Authorization: Bearer` token
 *   answers UNAUTHENTICATED (HTTP 401) before any resolver; no token reaches no field (UNAUTHENTICATED).
 * - WebSocket `/graphql` (graphql-ws): subscriptions. `connection_init` must carry
 *   `{ authorization: "Bearer <jwt>" }`; missing/bad → close 4401. The socket is closed with 4401 when the token
 *   expires. Subscriptions run with the same {@link RequestContext} as HTTP requests.
 * - GET `/health`: 200 `{ status: "ok" }` when PostgreSQL answers, else 503.
 * Events come from an in-process hub: run ONE replica until they move to PostgreSQL LISTEN/NOTIFY.
 * @throws the listen error (EADDRINUSE) when the port is taken.
 */
export async function createChatServer(opts: ChatServerOptions): Promise<ChatServer> {
  const { pool, verifier, logger } = opts;
  const hub = createMessageEventHub();
  const analyst =
    opts.analyst ??
    createAnalyst({ onSampleError: (table, err) => logger.warn('value sample failed', { table, err }) });
  const responder = createResponder({
    pool,
    lakes: opts.lake,
    analyst,
    hub,
    logger,
    streamDelayMs: opts.streamDelayMs,
  });
  const schema = buildSubgraphSchema({
    typeDefs: parse(readFileSync(SCHEMA_FILE, 'utf8')),
    resolvers: createResolvers({ pool, hub, responder }) as never,
  });
  const formatError = createFormatError((err) => logger.error('unexpected error', { err }));

  const apollo = new ApolloServer<RequestContext>({
    schema,
    formatError,
    logger: apolloLogger(logger),
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();

  const http = createGraphQLHttpServer<RequestContext>({
    apollo,
    path: GRAPHQL_PATH,
    context: (req, requestId) => contextFromAuthorization(verifier, req.headers.authorization, requestId),
    routes: {
      '/health': async (_req, res) => {
        const ok = await pool.query('SELECT 1').then(
          () => true,
          () => false,
        );
        sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable' });
      },
    },
  });

  // graphql-ws on the same port and path. The tenant of each socket is kept beside it, never in client input.
  // Frames are bounded like HTTP bodies (the ws default would accept 100 MiB).
  const wss = new WebSocketServer({ server: http, path: GRAPHQL_PATH, maxPayload: MAX_BODY_BYTES });
  const tenants = new WeakMap<WebSocket, TenantContext>();
  const expiryTimers = new WeakMap<WebSocket, NodeJS.Timeout>();
  const format = (errors: readonly unknown[]) =>
    errors.map((e) => formatError((e as { toJSON?: () => GraphQLFormattedError }).toJSON?.() ?? (e as never), e));
  const wsServer = useServer<{ authorization?: unknown }>(
    {
      schema,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const header = ctx.connectionParams?.authorization;
        let tenant: TenantContext;
        try {
          const token = typeof header === 'string' ? bearerToken(header) : undefined;
          if (!token) throw new Error('no token');
          tenant = await verifier.verify(token);
        } catch (e) {
          const reason = hasErrorCode(e) ? (e as Error).message : 'A valid access token is required.';
          socket.close(WS_CLOSE.UNAUTHORIZED, reason.slice(0, 120));
          return false;
        }
        tenants.set(socket, tenant);
        // Max setTimeout is 2^31-1 ms (~24.8 days); tokens live minutes.
        const ms = Math.min(Math.max(tenant.expiresAtMs - Date.now(), 0), 2 ** 31 - 1);
        expiryTimers.set(
          socket,
          setTimeout(() => socket.close(WS_CLOSE.UNAUTHORIZED, 'The access token has expired.'), ms),
        );
        return true;
      },
      onClose: (ctx) => clearTimeout(expiryTimers.get(ctx.extra.socket)),
      context: (ctx): RequestContext => ({ tenant: tenants.get(ctx.extra.socket) ?? null, requestId: randomUUID() }),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => format(errors),
    },
    wss,
  );

  const url = await listen(http, opts.port, opts.host);
  const wsUrl = url.replace(/^http/, 'ws') + GRAPHQL_PATH;
  logger.info('chat subgraph listening', { url, wsUrl });
  return {
    url,
    wsUrl,
    async close() {
      for (const socket of wss.clients) socket.close(1001, 'Server shutting down.');
      await wsServer.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
      await closeServer(http);
      await responder.close();
      await apollo.stop();
    },
  };
}
