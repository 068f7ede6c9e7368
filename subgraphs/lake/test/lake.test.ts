/**
 * The lake subgraph end to end over HTTP, against the real Spark Connect server and Delta tables written by
 * the lake-core fixture (expected values from what the fixture wrote). Tokens are signed with a local
 * Ed25519 key pair, so no auth service is needed.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  createLogger,
  createTokenVerifier,
  createAuthenticator,
  tokenRoleOnly,
} from '@datapilot/common';
import { createLake, createSparkConnectClient, type Lake, type SparkConnectClient } from '@datapilot/lake-core';
import { encodeCursor } from '../src/data/cursor.ts';
import {
  CUSTOMERS,
  CUSTOMER_COLUMNS,
  INVENTORY_COLUMNS,
  ORDER_COLUMNS,
  ORDER_COUNT,
  ORG_A,
  ORG_B,
  SPARK_REMOTE,
  createLakeFixture,
  orderRow,
  type LakeFixture,
} from '../../../packages/lake/test/lake-fixture.ts';
import pg from 'pg';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { createAirflowClient } from '../src/airflow/client.ts';
import { createLakeServer, migrateLakeSchema, type LakeServer } from '../src/index.ts';

type GqlResult = {
  status: number;
  data?: Record<string, any> | null;
  errors?: { message: string; path?: unknown[]; extensions?: Record<string, any> }[];
};

let fx: LakeFixture;
let spark: SparkConnectClient;
let lake: Lake;
let server: LakeServer;
let db: TestDatabase;
let pool: pg.Pool;
let tokenA: string;
let tokenB: string;
let foreignToken: string;
let expiredToken: string;
/** Spark statements sent by the lake, to check batching (the client is wrapped, calls still go to Spark). */
const statements: string[] = [];

async function sign(key: CryptoKey, orgId: string, opts: { expiresAt?: number } = {}) {
  return new SignJWT({ org: orgId, role: 'ANALYST', sid: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
    .setSubject(randomUUID())
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.expiresAt ?? '10m')
    .sign(key);
}

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GqlResult> {
  const res = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

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
  const other = await generateKeyPair('EdDSA');
  server = await createLakeServer({
    lake,
    store: fx.store,
    pool,
    // Reads need no orchestrator: these tests run without one (uploads.test.ts runs with the real Airflow).
    airflow: createAirflowClient({ url: 'http://127.0.0.1:9', username: 'none', password: 'none' }),
    authenticator: createAuthenticator({
      verifier: createTokenVerifier({ jwks: publicKey }),
      principal: tokenRoleOnly,
    }),
    port: 0,
    logger: createLogger('lake-test', 'warn'),
  });
  tokenA = await sign(privateKey, ORG_A);
  tokenB = await sign(privateKey, ORG_B);
  foreignToken = await sign(other.privateKey, ORG_A);
  expiredToken = await sign(privateKey, ORG_A, { expiresAt: Math.floor(Date.now() / 1000) - 60 });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await lake?.close();
  spark?.close();
  await pool?.end();
  await db?.close();
  await fx?.cleanup();
});

const TABLES = `{ lakeTables { name version rowCount columns { name type nullable } } }`;
const PAGE = `query($name: String!, $first: Int, $after: String) {
  lakeTable(name: $name) {
    name
    rows(first: $first, after: $after) { totalCount edges { cursor node } pageInfo { hasNextPage endCursor } }
  }
}`;

describe('org A', () => {
  it('lists exactly its tables with columns, Delta versions and row counts (counts from the Delta log)', async () => {
    const before = statements.length;
    const res = await gql(TABLES, {}, tokenA);
    expect(res.errors).toBeUndefined();
    expect(res.data!.lakeTables).toEqual([
      { name: 'customers', version: 1, rowCount: CUSTOMERS.length, columns: CUSTOMER_COLUMNS },
      { name: 'orders', version: 0, rowCount: ORDER_COUNT, columns: ORDER_COLUMNS },
    ]);
    // numRecords of the tables' Delta logs: no Spark statement at all.
    expect(statements.slice(before)).toEqual([]);
  }, 120_000);

  it('pages through rows with first/after: every row exactly once, in a stable order', async () => {
    const nodes: unknown[] = [];
    const cursors = new Set<string>();
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: GqlResult = await gql(PAGE, { name: 'orders', first: 50, after }, tokenA);
      expect(res.errors).toBeUndefined();
      const conn = res.data!.lakeTable.rows;
      expect(conn.totalCount).toBe(ORDER_COUNT);
      for (const e of conn.edges) {
        nodes.push(e.node);
        cursors.add(e.cursor);
      }
      pages++;
      expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(pages).toBe(3); // 50 + 50 + 20
    expect(cursors.size).toBe(ORDER_COUNT);
    expect(nodes).toEqual(Array.from({ length: ORDER_COUNT }, (_, i) => orderRow(i + 1)));

    // The same cursor gives the same page again.
    const again = await gql(PAGE, { name: 'orders', first: 2, after: [...cursors][99] }, tokenA);
    expect(again.data!.lakeTable.rows.edges.map((e: { node: unknown }) => e.node)).toEqual([
      orderRow(101),
      orderRow(102),
    ]);

    const customers = await gql(PAGE, { name: 'customers', first: 1000 }, tokenA);
    expect(customers.data!.lakeTable.rows.edges.map((e: { node: unknown }) => e.node)).toEqual(CUSTOMERS);
    expect(customers.data!.lakeTable.rows.pageInfo.hasNextPage).toBe(false);
  }, 180_000);

  it('answers BAD_USER_INPUT for first outside [1, 1000] and a malformed cursor', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    for (const vars of [
      { first: 0 },
      { first: 1001 },
      { first: -5 },
      { first: 10, after: 'not a cursor' },
      { first: 10, after: b64('lakerow:-1') },
      { first: 10, after: b64('lakerow:01') },
      { first: 10, after: b64('lakerow:1e3') },
      { first: 10, after: b64('offset:3') },
    ]) {
      const res = await gql(PAGE, { name: 'orders', ...vars }, tokenA);
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(vars)).toBe('BAD_USER_INPUT');
      expect(res.data?.lakeTable ?? null).toBeNull();
    }
  }, 60_000);

  it('a forged cursor past the end answers an empty page; a forged tie count or old offset cursor BAD_USER_INPUT', async () => {
    // Found by QA: `after` = position 999,999,999 (an offset cursor) made Spark plan a top-K of a billion rows in its
    // heap and die (OutOfMemoryError) for every organization. Cursors are keysets now: a key past the end filters
    // every row out, and the tie count is bounded (MAX_ROW_TIES), so no cursor makes Spark hold more than that.
    const cursor = (key: unknown[], nth: number) =>
      Buffer.from(JSON.stringify(['lakerow2', 'orders', key, nth])).toString('base64url');
    const far = cursor(['999999999', '1', '1.00', '2024-01-01 00:00:00'], 1);
    const res = await gql(PAGE, { name: 'orders', first: 1000, after: far }, tokenA);
    expect(res.errors).toBeUndefined();
    expect(res.data!.lakeTable.rows.edges).toEqual([]);
    for (const after of [
      cursor(['1', '2', '1.25', '2024-01-01 01:00:00'], 1_000_000_000),
      Buffer.from('lakerow:999999999').toString('base64'),
      cursor(['1', '2'], 1), // not the table's key columns
      cursor(['x', '2', '1.25', '2024-01-01 01:00:00'], 1), // not a bigint
    ]) {
      const bad = await gql(PAGE, { name: 'orders', first: 10, after }, tokenA);
      expect(bad.errors?.[0]?.extensions?.code, after).toBe('BAD_USER_INPUT');
    }
    const after = await gql(`{ lakeTable(name: "orders") { rowCount } }`, {}, tokenA);
    expect(after.errors).toBeUndefined();
    expect(after.data!.lakeTable.rowCount).toBe(ORDER_COUNT);
  }, 120_000);

  it('answers NOT_FOUND for an unknown or malformed table name', async () => {
    for (const name of ['nope', "orders' OR '1'='1", 'Bad-Name', 'notes']) {
      const res = await gql(`query($n: String!) { lakeTable(name: $n) { name } }`, { n: name }, tokenA);
      expect(res.errors?.[0]?.extensions?.code, name).toBe('NOT_FOUND');
      expect(res.data?.lakeTable).toBeNull();
    }
  });
});

describe('Relay paging (issue 7, section 4): every list both ways, pageInfo in full', () => {
  const b64url = (s: string) => Buffer.from(s).toString('base64url');
  /** The keyset cursor of the row at `position` (orderRow(position + 1)): its key as Spark prints it. */
  const rowCursor = (position: number) => {
    const n = position + 1;
    const at = new Date(Date.UTC(2024, 0, 1) + n * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
    return encodeCursor('orders', { key: [String(n), String((n % 5) + 1), (n * 1.25).toFixed(2), at], nth: 1 });
  };
  const ROWS = `query($name: String!, $first: Int, $after: String, $last: Int, $before: String) {
    lakeTable(name: $name) { rows(first: $first, after: $after, last: $last, before: $before) {
      totalCount edges { cursor node } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
  /** Positions lo..hi of `orders` (orderRow(p + 1) at position p) with their cursors, and the expected pageInfo. */
  const rowsPage = (lo: number, hi: number, hasPreviousPage: boolean, hasNextPage: boolean) => ({
    totalCount: ORDER_COUNT,
    edges: Array.from({ length: hi - lo + 1 }, (_, i) => ({ cursor: rowCursor(lo + i), node: orderRow(lo + i + 1) })),
    pageInfo: { hasNextPage, hasPreviousPage, startCursor: rowCursor(lo), endCursor: rowCursor(hi) },
  });
  const rows = async (vars: Record<string, unknown>) => {
    const res = await gql(ROWS, { name: 'orders', ...vars }, tokenA);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!.lakeTable.rows;
  };

  it(`LakeTable.rows: ${ORDER_COUNT} rows forward and backward through Spark`, async () => {
    expect(ORDER_COUNT).toBe(120);
    expect(await rows({ first: 50 })).toEqual(rowsPage(0, 49, false, true));
    expect(await rows({ first: 50, after: rowCursor(99) })).toEqual(rowsPage(100, 119, true, false));
    const sent = statements.length;
    expect(await rows({ last: 50 })).toEqual(rowsPage(70, 119, true, false));
    // `last` without `before` reads the last rows by keyset (descending), and totalCount comes from the Delta log.
    expect(statements.slice(sent).map((s) => (s.includes('COUNT(*)') ? 'count' : 'rows'))).toEqual(['rows']);
    expect(await rows({ last: 50, before: rowCursor(70) })).toEqual(rowsPage(20, 69, true, true));
    expect(await rows({ last: 50, before: rowCursor(20) })).toEqual(rowsPage(0, 19, false, true));
    expect(await rows({ first: 2, after: rowCursor(9), before: rowCursor(12) })).toEqual(rowsPage(10, 11, true, false));
    expect(await rows({ before: rowCursor(3) })).toEqual(rowsPage(0, 2, false, true)); // default 50, backward
    const past = await rows({ first: 5, after: rowCursor(119) });
    expect(past.edges).toEqual([]);
    expect(past.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
  }, 180_000);

  it('refuses first with last, and a cursor of another list, with BAD_USER_INPUT naming the argument', async () => {
    const err = async (query: string, vars: Record<string, unknown>) =>
      (await gql(query, { name: 'orders', ...vars }, tokenA)).errors?.[0]?.extensions;
    expect(await err(ROWS, { first: 1, last: 1 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    expect(await err(ROWS, { last: 1001 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    const upload = b64url(`upload|2026-01-01T00:00:00.000000Z|${randomUUID()}`);
    expect(await err(ROWS, { before: upload })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'before' });
    expect(await err(ROWS, { after: upload })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('uploads and pipelineRuns (newest first), Organization.pipelineRuns the same list', async () => {
    // Five uploads a..e of org A and one run each, at times chosen here; run e is of another table.
    const owner = new pg.Pool({ connectionString: db.url, max: 1 });
    const row: Record<string, { id: string; at: string; run: string }> = {};
    try {
      for (const [i, name] of ['a', 'b', 'c', 'd', 'e'].entries()) {
        const at = `2026-02-0${i + 1}T08:00:00.00012${i}Z`;
        const id = randomUUID();
        const run = randomUUID();
        const table = name === 'e' ? 'customers' : 'orders';
        await owner.query(
          `INSERT INTO lake.uploads (org_id, id, table_name, file_name, object_key, format, mode, size_bytes,
             content_type, status, created_by, created_at, expires_at, completed_at)
           VALUES ($1, $2, $3, $4, $5, 'CSV', 'OVERWRITE', 1, 'text/csv', 'LOADED', $6, $7, $7, $7)`,
          [ORG_A, id, table, `${name}.csv`, `bronze/org=${ORG_A}/${table}/${id}/${name}.csv`, randomUUID(), at],
        );
        await owner.query(
          `INSERT INTO lake.pipeline_runs (org_id, id, upload_id, table_name, mode, reason, dag_id, dag_run_id, state,
             triggered_by, created_at)
           VALUES ($1, $2, $3, $4, 'OVERWRITE', 'UPLOAD', 'datapilot_ingest', $5, 'SUCCESS', $6, $7)`,
          [ORG_A, run, id, table, `datapilot__${run}`, randomUUID(), at],
        );
        row[name] = { id, at, run };
      }
    } finally {
      await owner.end();
    }
    const upload = (n: string) => b64url(`upload|${row[n]!.at}|${row[n]!.id}`);
    const run = (n: string) => b64url(`run|${row[n]!.at}|${row[n]!.run}`);
    const UPLOADS = `query($first: Int, $after: String, $last: Int, $before: String) {
      uploads(first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { fileName createdAt } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const page = async (vars: Record<string, unknown>) => {
      const res = await gql(UPLOADS, vars, tokenA);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      const c = res.data!.uploads;
      const names = c.edges.map((e: any) => e.node.fileName[0]).join('');
      for (const e of c.edges) expect(e.cursor).toBe(upload(e.node.fileName[0]));
      expect(c.pageInfo.startCursor).toBe(names ? upload(names[0]) : null);
      expect(c.pageInfo.endCursor).toBe(names ? upload(names.at(-1)) : null);
      return { names, next: c.pageInfo.hasNextPage, prev: c.pageInfo.hasPreviousPage };
    };
    expect(await page({ first: 2 })).toEqual({ names: 'ed', next: true, prev: false });
    expect(await page({ first: 2, after: upload('d') })).toEqual({ names: 'cb', next: true, prev: true });
    expect(await page({ first: 2, after: upload('b') })).toEqual({ names: 'a', next: false, prev: true });
    expect(await page({ last: 2 })).toEqual({ names: 'ba', next: false, prev: true });
    expect(await page({ last: 2, before: upload('b') })).toEqual({ names: 'dc', next: true, prev: true });
    expect(await page({ last: 2, before: upload('d') })).toEqual({ names: 'e', next: true, prev: false });
    // DateTime: UTC with milliseconds (stored 08:00:00.000124).
    expect((await gql(UPLOADS, { first: 1 }, tokenA)).data!.uploads.edges[0].node.createdAt).toBe(
      '2026-02-05T08:00:00.000Z',
    );
    const refused = await gql(UPLOADS, { after: run('a') }, tokenA);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });

    // Runs of `orders` only (d, c, b, a): the last two before b are d and c.
    const RUNS = `query($reps: [_Any!]!, $last: Int, $before: String) {
      pipelineRuns(table: "orders", last: $last, before: $before) {
        edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
      _entities(representations: $reps) { ... on Organization {
        pipelineRuns(table: "orders", last: $last, before: $before) { edges { cursor } } } } }`;
    const runs = await gql(
      RUNS,
      { reps: [{ __typename: 'Organization', id: ORG_A }], last: 2, before: run('b') },
      tokenA,
    );
    expect(runs.errors, JSON.stringify(runs.errors)).toBeUndefined();
    expect(runs.data!.pipelineRuns).toEqual({
      edges: [{ cursor: run('d') }, { cursor: run('c') }],
      pageInfo: { hasNextPage: true, hasPreviousPage: false, startCursor: run('d'), endCursor: run('c') },
    });
    expect(runs.data!._entities).toEqual([{ pipelineRuns: { edges: [{ cursor: run('d') }, { cursor: run('c') }] } }]);
  }, 60_000);
});

describe('org B (isolation)', () => {
  it("sees only its own table; A's table names answer NOT_FOUND", async () => {
    const res = await gql(TABLES, {}, tokenB);
    expect(res.data!.lakeTables).toEqual([{ name: 'inventory', version: 0, rowCount: 3, columns: INVENTORY_COLUMNS }]);
    for (const name of ['customers', 'orders']) {
      const one = await gql(PAGE, { name, first: 5 }, tokenB);
      expect(one.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(one.data?.lakeTable).toBeNull();
    }
    const own = await gql(PAGE, { name: 'inventory', first: 5 }, tokenB);
    expect(own.data!.lakeTable.rows.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { sku: 'A-1', qty: 10 },
      { sku: 'B-2', qty: 0 },
      { sku: 'C-3', qty: 7 },
    ]);
  }, 120_000);
});

describe('authentication', () => {
  it('answers UNAUTHENTICATED without a token, with a foreign or expired token, and with a malformed header', async () => {
    const none = await gql(TABLES);
    expect(none.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(none.data?.lakeTables ?? null).toBeNull();

    const noneOne = await gql(PAGE, { name: 'orders', first: 1 });
    expect(noneOne.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const foreign = await gql(TABLES, {}, foreignToken);
    expect(foreign.status).toBe(401);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(foreign.data ?? null).toBeNull();

    const expired = await gql(TABLES, {}, expiredToken);
    expect(expired.status).toBe(401);
    expect(expired.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const res = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic abc' },
      body: JSON.stringify({ query: TABLES }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as GqlResult).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('is ready when Spark, PostgreSQL and the object store answer; Airflow (down here) is reported, not required', async () => {
    const ready = await fetch(`${server.url}/ready`);
    expect([ready.status, await ready.json()]).toEqual([
      200,
      { status: 'ready', checks: { spark: 'ok', postgres: 'ok', objectStore: 'ok', airflow: 'unavailable' } },
    ]);
    const alive = await fetch(`${server.url}/health`);
    expect([alive.status, await alive.json()]).toEqual([200, { status: 'ok' }]);
  });
});
