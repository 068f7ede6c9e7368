/**
 * The auth subgraph's server: Apollo Server 5 on a node:http server (createGraphQLHttpServer from
 * @datapilot/common) so that the JWKS and the health check share its port with GraphQL.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Pool } from 'pg';
import {
  healthRoutes,
  closeServer,
  contextFromRequest,
  createAuthenticator,
  guardSchema,
  createFormatError,
  createGraphQLHttpServer,
  createTokenVerifier,
  inTenantTransaction,
  JWKS_CACHE_MAX_AGE_SECONDS,
  listen,
  runMigrations,
  sendJson,
  type Logger,
  type RequestContext,
  apolloLogger,
  PRINCIPAL_PATH,
  PARSE_OPTIONS,
  useOperationBounds,
  apolloModeOptions,
  apolloModePlugins,
  migrateAuditSchema,
} from '@datapilot/common';
import { createAccountService } from './accounts.ts';
import { createApiKeyService } from './api-keys.ts';
import { principalRoute } from './principal-route.ts';
import { currentPrincipal } from './data/principal.ts';
import { createSessionIssuer } from './sessions.ts';
import { createTeamService } from './teams.ts';
import { createSigningKeyStore } from './keys.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { createResolvers } from './resolvers/index.ts';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from './tokens.ts';

/** The SDL this server runs, the same file the gateway composes. */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));
/** The SQL migrations of schema `auth`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
/** Path of the JWKS (RFC 8414 / OpenID Connect discovery convention). */
export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * Applies the auth migrations (schema `auth`) and the audit log's (schema `audit`, which it writes to) idempotently; safe from several processes at once.
 * @returns the versions applied by this call.
 */
export async function migrateAuthSchema(pool: Pool): Promise<string[]> {
  const own = await runMigrations(pool, 'auth', MIGRATIONS_DIR);
  return [...own, ...(await migrateAuditSchema(pool)).map((v) => `audit/${v}`)];
}

/** Options of {@link createAuthServer}. */
export type AuthServerOptions = {
  /** PostgreSQL pool; the server does not end it. */
  pool: Pool;
  /** TCP port (0 = a free port). */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  logger: Logger;
  /** Access-token lifetime in seconds (default 900). */
  accessTokenTtlSeconds?: number;
  /** Refresh-token lifetime in seconds (default 2 592 000 = 30 days). */
  refreshTokenTtlSeconds?: number;
  /**
   * Login throttling: failed logins per email allowed within the window before `login` answers RATE_LIMITED
   * (integer ≥ 1; default 10). Give every replica the same value. See login-throttle.ts.
   */
  loginMaxFailures?: number;
  /** Login throttling: length of the sliding window, in seconds (integer ≥ 1; default 900 = 15 minutes). */
  loginFailureWindowSeconds?: number;
  /** Signing keys (keys.ts): the 32-byte key-encryption key (default: the development key, with a warning). */
  keyEncryptionKey?: Uint8Array;
  /** Signing keys: seconds a new key is published before it signs (default 600). */
  keyPublishLeadSeconds?: number;
  /** Signing keys: seconds a key signs before this service rotates it by itself (default 0 = never). */
  keyRotationPeriodSeconds?: number;
  /** Signing keys: pause between two checks of the keys, in milliseconds (default lead / 4, at most 30 s). */
  keyCheckIntervalMs?: number;
};

/** A running auth server. */
export type AuthServer = {
  /** HTTP base, e.g. `http://127.0.0.1:4001`; GraphQL at `${url}/graphql` (and `/`). */
  url: string;
  /** `${url}/graphql`. */
  graphqlUrl: string;
  /** `${url}/.well-known/jwks.json`: the public signing keys (RFC 7517), for createTokenVerifier. */
  jwksUrl: string;
  /** Stops accepting requests, drains, stops Apollo. Does not end the pool. */
  close(): Promise<void>;
};

/**
 * Starts the auth subgraph: applies the migrations, loads or creates the signing key, and serves
 * - POST/GET `/graphql` (and `/`): the subgraph (schema.graphql; signup, login, refreshToken public, all else
 *   needs a token verified against this server's own keys — a bad or expired token answers UNAUTHENTICATED,
 *   HTTP 401, before any resolver);
 * - GET `/.well-known/jwks.json`: public keys only (`kty`, `crv`, `x`, `kid`, `alg` EdDSA, `use` sig),
 *   `cache-control: public, max-age=300` (JWKS_CACHE_MAX_AGE_SECONDS); the next, current and recently retired
 *   signing keys (keys.ts: rotation without downtime);
 * - GET `/health` (alive) and `/ready` (PostgreSQL answers), health.ts.
 * `login` is throttled per email (state in `auth.login_failures`, shared by every replica on the database; see
 * login-throttle.ts): RATE_LIMITED with `extensions.retryAfterSeconds` after `loginMaxFailures` failures within
 * `loginFailureWindowSeconds`.
 * @throws RangeError when `loginMaxFailures` or `loginFailureWindowSeconds` is not an integer ≥ 1;
 *   the PostgreSQL error when the database is unreachable or a migration fails; the listen error
 *   (EADDRINUSE) when the port is taken.
 */
export async function createAuthServer(opts: AuthServerOptions): Promise<AuthServer> {
  const { pool, logger } = opts;
  const throttle = createLoginThrottle({
    pool,
    logger,
    maxFailures: opts.loginMaxFailures,
    windowSeconds: opts.loginFailureWindowSeconds,
  });
  const applied = await migrateAuthSchema(pool);
  if (applied.length) logger.info('auth migrations applied', { versions: applied });
  const accessTokenTtlSeconds = opts.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  const keys = await createSigningKeyStore({
    pool,
    logger,
    accessTokenTtlSeconds,
    encryptionKey: opts.keyEncryptionKey,
    publishLeadSeconds: opts.keyPublishLeadSeconds,
    rotationPeriodSeconds: opts.keyRotationPeriodSeconds,
    checkIntervalMs: opts.keyCheckIntervalMs,
  });
  const sessions = createSessionIssuer({
    keys,
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds: opts.refreshTokenTtlSeconds ?? DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
  });
  const accounts = createAccountService({ pool, sessions, throttle });
  const teams = createTeamService({ pool, sessions });
  const apiKeys = createApiKeyService({ pool, sessions });
  const verifier = createTokenVerifier({ jwks: keys.getKey });
  // Auth checks its own tokens against its own keys, and sessions against its own tables, uncached: a change is seen by the next request here.
  const authenticator = createAuthenticator({
    verifier,
    principal: (t) => inTenantTransaction(pool, t, (c) => currentPrincipal(c, t)),
  });

  const apollo = new ApolloServer<RequestContext>({
    schema: guardSchema(
      buildSubgraphSchema({
        typeDefs: parse(readFileSync(SCHEMA_FILE, 'utf8')),
        resolvers: createResolvers({ pool, accounts, teams, apiKeys }) as never,
      }),
    ),
    formatError: createFormatError((err) => logger.error('unexpected error', { err })),
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

  const server = createGraphQLHttpServer<RequestContext>({
    apollo,
    context: (req, requestId) => contextFromRequest(authenticator, req, requestId),
    routes: {
      [PRINCIPAL_PATH]: principalRoute(pool, verifier),
      [JWKS_PATH]: async (_req, res) =>
        sendJson(res, 200, await keys.jwks(), { 'cache-control': `public, max-age=${JWKS_CACHE_MAX_AGE_SECONDS}` }),
      ...healthRoutes({ postgres: () => pool.query('SELECT 1') }, logger),
    },
  });
  const url = await listen(server, opts.port, opts.host);
  logger.info('auth listening', { url: `${url}/graphql`, kid: keys.signing.kid });
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    jwksUrl: `${url}${JWKS_PATH}`,
    async close() {
      keys.close();
      await closeServer(server);
      await apollo.stop();
    },
  };
}
