/**
 * The bounds of every GraphQL endpoint (packages/common/src/bounds.ts) on the lake subgraph called directly, against
 * the real Spark Connect server and the lake-core fixture's Delta tables (`orders`: 120 rows). Every Spark statement
 * the lake sends is recorded: a refused operation sends none. Before issue 6, 10 000 aliases were accepted here and
 * 100 aliases of `rows(first: 1000)` made Spark produce 100 000 rows (26 s).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  createAuthenticator,
  createLogger,
  createTokenVerifier,
  tokenRoleOnly,
} from '@datapilot/common';
import { createLake, createSparkConnectClient, type Lake, type SparkConnectClient } from '@datapilot/lake-core';
import {
  ORDER_COUNT,
  ORG_A,
  SPARK_REMOTE,
  createLakeFixture,
  orderRow,
  type LakeFixture,
} from '../../../packages/lake/test/lake-fixture.ts';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { createAirflowClient } from '../src/airflow/client.ts';
import { createLakeServer, migrateLakeSchema, type LakeServer } from '../src/index.ts';

let fx: LakeFixture;
let spark: SparkConnectClient;
let lake: Lake;
let server: LakeServer;
let db: TestDatabase;
let pool: pg.Pool;
let token: string;
const statements: string[] = [];

beforeAll(async () => {
  fx = await createLakeFixture();
  spark = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 120_000 });
  const recording: SparkConnectClient = {
    executeSql(sessionId, sql, args, opts) {
      statements.push(sql);
      return spark.executeSql(sessionId, sql, args, opts);
    },
    releaseSession: (id) => spark.releaseSession(id),
    close: () => spark.close(),
  };
  lake = createLake({ spark: recording, store: fx.store });
  db = await startTestDatabase();
  const owner = new pg.Pool({ connectionString: db.url, max: 1 });
  await migrateLakeSchema(owner).finally(() => owner.end());
  pool = new pg.Pool({ connectionString: await db.urlAs('datapilot_lake'), max: 4 });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  server = await createLakeServer({
    lake,
    store: fx.store,
    pool,
    airflow: createAirflowClient({ url: 'http://127.0.0.1:9', username: 'none', password: 'none' }),
    authenticator: createAuthenticator({
      verifier: createTokenVerifier({ jwks: publicKey }),
      principal: tokenRoleOnly,
    }),
    port: 0,
    logger: createLogger('lake-bounds-test', 'warn'),
  });
  token = await new SignJWT({ org: ORG_A, role: 'ANALYST', sid: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
    .setSubject(randomUUID())
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}, 300_000);

afterAll(async () => {
  await server?.close();
  await lake?.close();
  spark?.close();
  await pool?.end();
  await db?.close();
  await fx?.cleanup();
});

async function post(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, data: body.data, codes: body.errors?.map((e) => e.extensions?.code), body };
}

const page = (alias: string) => `${alias}: lakeTable(name: "orders") { rows(first: 1000) { edges { node } } }`;

describe('the lake subgraph called directly', () => {
  it('refuses 100 aliases of a 1 000-row page (cost 100 000) before Spark runs anything', async () => {
    const before = statements.length;
    const r = await post(`{ ${Array.from({ length: 100 }, (_, i) => page(`t${i}`)).join(' ')} }`);
    expect([r.status, r.codes, r.body.errors?.[0]?.message]).toEqual([
      400,
      ['BAD_USER_INPUT'],
      'The operation may return 100000 items (its cost); the budget is 10000. ' +
        'Ask for smaller pages (first, limit) or fewer lists in one operation.',
    ]);
    expect(statements.length).toBe(before);
  });

  it('answers two such pages (cost 2 000, within the budget) with every row', async () => {
    // Two, not ten: each page is a Spark statement, and per-organization statement limits (org-limits.ts) apply too.
    const r = await post(`{ ${page('t0')} ${page('t1')} }`);
    expect(r.codes).toBeUndefined();
    const expected = Array.from({ length: ORDER_COUNT }, (_, i) => orderRow(i + 1));
    expect([r.data.t0.rows.edges.map((e: any) => e.node), r.data.t1.rows.edges.map((e: any) => e.node)]).toEqual([
      expected,
      expected,
    ]);
  }, 120_000);

  it('refuses too many aliases, too deep a selection and oversized variables, before Spark runs anything', async () => {
    const before = statements.length;
    // 501 aliases of a field without arguments: 501 fields.
    const wide = await post(`{ ${Array.from({ length: 501 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect([wide.status, wide.codes, wide.body.errors?.[0]?.message]).toEqual([
      400,
      ['BAD_USER_INPUT'],
      'The operation selects 501 fields; at most 500 are allowed.',
    ]);
    // 10 000 aliases do not even parse: 30 000 tokens, over the 20 000 allowed.
    const huge = await post(`{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect([huge.status, huge.codes]).toEqual([400, ['GRAPHQL_PARSE_FAILED']]);
    // pipelineRuns(1) edges(2) node(3), then upload/run alternating 9 levels (4..12), then id (13).
    let sel = 'id';
    for (let i = 0; i < 9; i++) sel = `${i % 2 ? 'run' : 'upload'} { ${sel} }`;
    const deep = await post(`{ pipelineRuns { edges { node { ${sel} } } } }`);
    expect([deep.status, deep.codes, deep.body.errors?.[0]?.message]).toEqual([
      400,
      ['BAD_USER_INPUT'],
      'The operation is 13 levels deep; at most 12 are allowed.',
    ]);
    // A variable nested 11 levels deep is refused before it is coerced (a String would refuse it otherwise).
    const nest = (n: number): unknown => (n === 0 ? 'orders' : { a: nest(n - 1) });
    const v = await post('query($n: String!) { lakeTable(name: $n) { name } }', { n: nest(11) });
    expect([v.status, v.codes, v.body.errors?.[0]?.message]).toEqual([
      400,
      ['BAD_USER_INPUT'],
      'An input value (variable "$n") is nested 11 levels deep; at most 10 are allowed.',
    ]);
    expect(statements.length).toBe(before);
  });
});
