/**
 * A lake subgraph for tests, on the real engines the test run started (test/global-setup.ts): a fresh PostgreSQL
 * database, the run's S3Proxy bucket (`LAKE_BUCKET`, the one the Airflow workers write to), Spark Connect, and either
 * the run's Airflow with the real `datapilot_ingest` DAG or — `airflow: 'down'` — an Airflow address where nothing
 * listens. Tokens are signed with a local Ed25519 key, so no auth service is needed.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import pg from 'pg';
import {
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  createLogger,
  createTokenVerifier,
  type Role,
  createAuthenticator,
  tokenRoleOnly,
} from '@datapilot/common';
import { createLakeFromConfig, type Lake, type ObjectStore, type SparkConnectClient } from '@datapilot/lake-core';
import { startTestDatabase, type TestDatabase } from '../../../../infra/postgres/testing.ts';
import { freePort } from '../../../../infra/net.ts';
import { codes, collectSubscription, gql, type GqlResponse } from '../../../../test/e2e/client.ts';
import { createAirflowClient } from '../../src/airflow/client.ts';
import { createLakeServer, migrateLakeSchema, type LakeServer } from '../../src/index.ts';
import type { UploadLimits } from '../../src/uploads.ts';

export { codes };

/** Signs access tokens the harness's servers accept. */
export type Signer = (orgId: string, opts?: { userId?: string; role?: Role; expiresAt?: number }) => Promise<string>;

/** A running lake subgraph with what it runs on. */
export type LakeHarness = {
  server: LakeServer;
  pool: pg.Pool;
  store: ObjectStore;
  lake: Lake;
  spark: SparkConnectClient;
  sign: Signer;
  /** POSTs an operation with a token. */
  gql<T = Record<string, any>>(
    query: string,
    variables: Record<string, unknown>,
    token?: string,
  ): Promise<GqlResponse<T>>;
  /** Subscribes over graphql-ws until the stream ends (or `timeoutMs`). */
  subscribe(
    query: string,
    variables: Record<string, unknown>,
    token: string,
    timeoutMs?: number,
  ): ReturnType<typeof collectSubscription>;
  /** Starts another server on the same database and bucket (e.g. one whose Airflow is down). */
  another(opts: { airflow: 'run' | 'down' }): Promise<LakeServer>;
  close(): Promise<void>;
};

/** Environment the harness needs (set by test/global-setup.ts). */
function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through vitest (test/global-setup.ts)`);
  return v;
}

/**
 * Starts the harness.
 * @param opts.airflow `run`: the test run's Airflow (AIRFLOW_URL); `down`: a closed port.
 * @param opts.limits upload limits (default: the server's defaults).
 */
export async function startLakeHarness(
  opts: {
    airflow?: 'run' | 'down';
    limits?: UploadLimits;
    watchIntervalMs?: number;
    sweep?: { uploadGraceSeconds?: number; intervalMs?: number };
    /** A Spark Connect server of the test's own (default the run's, SPARK_REMOTE). */
    sparkRemote?: string;
  } = {},
): Promise<LakeHarness> {
  const db: TestDatabase = await startTestDatabase();
  const owner = new pg.Pool({ connectionString: db.url, max: 1 });
  await migrateLakeSchema(owner).finally(() => owner.end());
  // The server runs as the lake's runtime role, which owns nothing: row-level security binds it as in production.
  const pool = new pg.Pool({ connectionString: await db.urlAs('datapilot_lake'), max: 10 });
  const logger = createLogger('lake-test', 'warn');
  const { spark, store, lake } = createLakeFromConfig(
    {
      SPARK_REMOTE: opts.sparkRemote ?? need('SPARK_REMOTE'),
      S3_ENDPOINT: need('S3_ENDPOINT'),
      S3_REGION: process.env.S3_REGION || 'us-east-1',
      S3_ACCESS_KEY_ID: need('S3_ACCESS_KEY_ID'),
      S3_SECRET_ACCESS_KEY: need('S3_SECRET_ACCESS_KEY'),
      LAKE_BUCKET: need('LAKE_BUCKET'),
      LAKE_QUERY_TIMEOUT_MS: 120_000,
    },
    logger,
  );
  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  const verifier = createTokenVerifier({ jwks: publicKey });
  const deadPort = await freePort();
  const servers: LakeServer[] = [];
  const start = async (airflow: 'run' | 'down') => {
    const client =
      airflow === 'run'
        ? createAirflowClient({
            url: need('AIRFLOW_URL'),
            username: need('AIRFLOW_USERNAME'),
            password: need('AIRFLOW_PASSWORD'),
          })
        : createAirflowClient({ url: `http://127.0.0.1:${deadPort}`, username: 'nobody', password: 'nothing' });
    const server = await createLakeServer({
      lake,
      store,
      pool,
      airflow: client,
      limits: opts.limits,
      watchIntervalMs: opts.watchIntervalMs ?? 500,
      sweep: opts.sweep,
      authenticator: createAuthenticator({ verifier, principal: tokenRoleOnly }),
      port: 0,
      logger,
    });
    servers.push(server);
    return server;
  };
  const server = await start(opts.airflow ?? 'run');
  const sign: Signer = (orgId, o = {}) => signToken(privateKey, orgId, o);
  return {
    server,
    pool,
    store,
    lake,
    spark,
    sign,
    gql: (query, variables, token) => gql(server.graphqlUrl, query, variables, token),
    subscribe: (query, variables, token, timeoutMs = 240_000) =>
      collectSubscription(server.wsUrl, query, variables, { authorization: `Bearer ${token}` }, timeoutMs),
    another: ({ airflow }) => start(airflow),
    async close() {
      for (const s of servers.reverse()) await s.close().catch(() => undefined);
      await lake.close();
      spark.close();
      store.close();
      await pool.end();
      await db.close();
    },
  };
}

async function signToken(
  key: CryptoKey,
  orgId: string,
  opts: { userId?: string; role?: Role; expiresAt?: number },
): Promise<string> {
  return new SignJWT({ org: orgId, role: opts.role ?? 'ANALYST', sid: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
    .setSubject(opts.userId ?? randomUUID())
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.expiresAt ?? '30m')
    .sign(key);
}
