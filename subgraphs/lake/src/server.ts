/**
 * The lake subgraph's server: Apollo Server 5 on the shared node:http server of @datapilot/common, with
 * GraphQL at `/graphql` (and `/`), graphql-ws subscriptions on the same path, and a health check at `/health`.
 */
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
  runMigrations,
  createFormatError,
  createGraphQLHttpServer,
  listen,
  type Logger,
  type RequestContext,
  type Authenticator,
  apolloLogger,
  PARSE_OPTIONS,
  useOperationBounds,
  apolloModeOptions,
  apolloModePlugins,
  migrateAuditSchema,
} from '@datapilot/common';
import type { Lake, ObjectStore } from '@datapilot/lake-core';
import { createLakeData, type LakeDataDeps } from './data/lake-data.ts';
import { createResolvers, type LakeContext } from './resolvers/index.ts';
import { createRunEvents } from './runs/events.ts';
import { INGEST_DAG_ID } from './runs/pipeline.ts';
import { startRunWatcher, type AirflowApi } from './runs/watcher.ts';
import { DEFAULT_MAX_UPLOADS_IN_PROGRESS, type UploadLimits } from './uploads.ts';

/** The SDL this server runs, the same file the gateway composes. */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));
/** The SQL migrations of schema `lake`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
/** GraphQL path, for HTTP and WebSocket alike. */
export const GRAPHQL_PATH = '/graphql';

/**
 * Default {@link UploadLimits}: 1 GiB, 15-minute URLs, 100 uploads per organization waiting for their file, 100 in
 * progress.
 */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxBytes: 1 << 30,
  urlTtlSeconds: 900,
  maxPending: 100,
  maxInProgress: DEFAULT_MAX_UPLOADS_IN_PROGRESS,
};

/**
 * Applies the lake migrations (schema `lake`) and the audit log's (schema `audit`, which it writes to) idempotently; safe from several processes at once.
 * @returns the versions applied by this call.
 */
export async function migrateLakeSchema(pool: Pool): Promise<string[]> {
  const own = await runMigrations(pool, 'lake', MIGRATIONS_DIR);
  return [...own, ...(await migrateAuditSchema(pool)).map((v) => `audit/${v}`)];
}

/** The orchestrator's API as the lake server uses it: the watcher's calls plus a readiness probe. */
export type Orchestrator = AirflowApi & {
  /** Resolves when the ingest DAG can be triggered. @throws DataPilotError UPSTREAM_* otherwise. */
  ready(dagId: string): Promise<void>;
};

/** Options of {@link createLakeServer}. */
export type LakeServerOptions = {
  /** The org-scoped lake (owned by the caller: `close()` does not close it). */
  lake: Lake;
  /** The lake's object store (owned by the caller). */
  store: ObjectStore;
  /** PostgreSQL with the lake migrations applied ({@link migrateLakeSchema}); not ended by close(). */
  pool: Pool;
  /** Airflow's REST API (`createAirflowClient`). */
  airflow: Orchestrator;
  /** Upload limits (default {@link DEFAULT_UPLOAD_LIMITS}). */
  limits?: UploadLimits;
  /** Pause between two run watcher cycles, in milliseconds (default 1 000). */
  watchIntervalMs?: number;
  /** Upload sweep timing (defaults: an hour's grace after expiry, a sweep a minute); see runs/watcher.ts. */
  sweep?: { uploadGraceSeconds?: number; intervalMs?: number };
  /**
   * Turns credentials into tenants with their current role: createServiceAuthenticator (the auth subgraph's JWKS and
   * principal check) in production; a local key and `tokenRoleOnly` in tests of this subgraph alone.
   */
  authenticator: Authenticator;
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
  /** `ws://host:port/graphql` (graphql-ws). */
  wsUrl: string;
  /** Runs one run watcher cycle now and waits for it (tests). */
  watchNow(): Promise<void>;
  /** Stops the watcher, closes sockets, stops accepting requests, drains, stops Apollo. Does not close the lake. */
  close(): Promise<void>;
};

/**
 * Starts the lake subgraph (schema.graphql): the org's tables (columns, Delta version, row count, rows), uploads
 * (presigned PUT into the org's bronze prefix, completion), pipeline runs (Airflow DAG runs, their tasks and quality
 * report) and `pipelineRunEvents` over graphql-ws; and the run watcher (runs/watcher.ts) that drives Airflow.
 * Every root field needs a valid access token: no token answers UNAUTHENTICATED from the guard, a bad or expired one
 * UNAUTHENTICATED (HTTP 401) before any resolver. The org comes from the token alone. GET `/health`: 200
 * `{ status: "ok" }` when Spark Connect, PostgreSQL and the object store answer, else 503 naming what failed
 * (Airflow is not needed for reads and uploads, so it is not part of it).
 * @throws the listen error (EADDRINUSE) when the port is taken.
 */
export async function createLakeServer(opts: LakeServerOptions): Promise<LakeServer> {
  const { lake, store, pool, airflow, authenticator, logger } = opts;
  const runEvents = createRunEvents();
  const watcher = startRunWatcher({
    pool,
    store,
    airflow,
    events: runEvents,
    logger,
    intervalMs: opts.watchIntervalMs,
    uploadGraceSeconds: opts.sweep?.uploadGraceSeconds,
    sweepIntervalMs: opts.sweep?.intervalMs,
  });
  const deps: LakeDataDeps = {
    lake,
    store,
    pool,
    runEvents,
    limits: opts.limits ?? DEFAULT_UPLOAD_LIMITS,
    kick: () => watcher.kick(),
    orchestratorReady: () => airflow.ready(INGEST_DAG_ID),
  };
  const schema = guardSchema(
    buildSubgraphSchema({
      typeDefs: parse(readFileSync(SCHEMA_FILE, 'utf8')),
      resolvers: createResolvers() as never,
    }),
  );
  const formatError = createFormatError((err) => logger.error('unexpected error', { err }));
  const apollo = new ApolloServer<LakeContext>({
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

  const withData = (ctx: RequestContext): LakeContext => ({
    ...ctx,
    lake: ctx.tenant ? createLakeData(deps, ctx.tenant) : null,
  });
  const server = createGraphQLHttpServer<LakeContext>({
    apollo,
    path: GRAPHQL_PATH,
    context: async (req, requestId) => withData(await contextFromRequest(authenticator, req, requestId)),
    routes: {
      // Airflow is reported but does not decide: reads and uploads work without it, runs wait for it.
      ...healthRoutes(
        {
          ...authenticator.dependencies,
          spark: () => lake.ping(),
          postgres: () => pool.query('SELECT 1'),
          objectStore: () => store.ping(),
          airflow: { check: () => airflow.ready(INGEST_DAG_ID), optional: true },
        },
        logger,
      ),
    },
  });
  const ws = attachGraphQLWebSocket({
    server,
    path: GRAPHQL_PATH,
    schema,
    authenticator,
    formatError,
    context: withData,
  });
  const url = await listen(server, opts.port, opts.host);
  const wsUrl = url.replace(/^http/, 'ws') + GRAPHQL_PATH;
  logger.info('lake listening', { url: `${url}/graphql`, wsUrl });
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl,
    watchNow: () => watcher.cycle(),
    async close() {
      await watcher.stop();
      await ws.close();
      await closeServer(server);
      await apollo.stop();
    },
  };
}
