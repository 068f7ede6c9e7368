// The graph subgraph against a real Neo4j 5.26 with APOC (see test/graph-fixture.ts): the datasets of the catalog.
// Lineage (runs and uploads) is in lineage.test.ts. Tokens are signed with a local Ed25519 key pair; the expected
// values are written by hand below.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from 'neo4j-driver';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';
import { createLogger, createTokenVerifier, createAuthenticator, tokenRoleOnly } from '@datapilot/common';
import { createGraphServer } from '../src/server.ts';
import { graphSubgraphSdl } from '../src/sdl.ts';
import { ensureGraphSchema } from '../src/data/datasets.ts';
import { cursorOffset, isDateTime, MAX_CURSOR_OFFSET, MAX_PAGE_SIZE } from '../src/arguments.ts';
import {
  codes,
  connectNeo4j,
  createTokenSigner,
  deleteOrgs,
  postGraphql,
  recordingDriver,
  upsertDatasets,
  type Claims,
  type DatasetInput,
  type GqlResult,
  type SeenQuery,
} from './graph-fixture.ts';

let neo: Awaited<ReturnType<typeof connectNeo4j>> | undefined;
let driver: Driver;
let signer: Awaited<ReturnType<typeof createTokenSigner>>;
const servers: { url: string; close(): Promise<void> }[] = [];
let url: string;

// Fresh organizations each run, so that data left by other runs on a shared Neo4j cannot matter.
const ORG_A = randomUUID();
const ORG_B = randomUUID();
// Paging tests: five datasets whose order by name (p1..p5) is the reverse of their order by rowCount.
const ORG_P = randomUUID();
const PAGED = ['p1', 'p2', 'p3', 'p4', 'p5'];

const CARS: DatasetInput = {
  name: 'cars',
  rowCount: 406,
  deltaVersion: 0,
  updatedAt: new Date('2025-01-02T03:04:05.678Z'),
  columns: [
    { name: 'Name', type: 'string', nullable: true },
    { name: 'Miles_per_Gallon', type: 'double', nullable: true },
    { name: 'Year', type: 'date', nullable: false },
  ],
};
const WEATHER: DatasetInput = {
  name: 'seattle_weather',
  rowCount: 1461,
  deltaVersion: 2,
  updatedAt: new Date('2025-02-03T00:00:00.000Z'),
  columns: [
    { name: 'date', type: 'date', nullable: false },
    { name: 'precipitation', type: 'double', nullable: true },
  ],
};

const token = (c: Claims) => signer.token(c);
const gql = (query: string, tok?: string, at = url, variables?: Record<string, unknown>): Promise<GqlResult> =>
  postGraphql(at, query, tok, variables);

const logger = createLogger('graph-test', 'error');

beforeAll(async () => {
  neo = await connectNeo4j();
  driver = neo.driver;
  await ensureGraphSchema(driver);
  signer = await createTokenSigner();
  const server = await createGraphServer({
    driver,
    authenticator: createAuthenticator({
      verifier: createTokenVerifier({ jwks: signer.publicKey }),
      principal: tokenRoleOnly,
    }),
    port: 0,
    logger,
  });
  servers.push(server);
  url = server.url;
  expect(await upsertDatasets(driver, ORG_A, [CARS, WEATHER])).toBe(2);
  const paged = PAGED.map((name, i) => ({ ...CARS, name, rowCount: 100 - i }));
  expect(await upsertDatasets(driver, ORG_P, paged)).toBe(5);
});

afterAll(async () => {
  for (const s of servers) await s.close();
  if (driver) await deleteOrgs(driver, [ORG_A, ORG_B, ORG_P]);
  await neo?.close();
});

describe('datasets of the caller’s organization', () => {
  it('returns exactly what the pipeline wrote, columns in table order', async () => {
    const r = await gql(
      `{ datasets(sort: [{ name: ASC }]) { name rowCount deltaVersion updatedAt columns { name type nullable } } }`,
      await token({ org: ORG_A }),
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      data: {
        datasets: [
          {
            name: 'cars',
            rowCount: 406,
            deltaVersion: 0,
            updatedAt: '2025-01-02T03:04:05.678Z',
            columns: [
              { name: 'Name', type: 'string', nullable: true },
              { name: 'Miles_per_Gallon', type: 'double', nullable: true },
              { name: 'Year', type: 'date', nullable: false },
            ],
          },
          {
            name: 'seattle_weather',
            rowCount: 1461,
            deltaVersion: 2,
            updatedAt: '2025-02-03T00:00:00.000Z',
            columns: [
              { name: 'date', type: 'date', nullable: false },
              { name: 'precipitation', type: 'double', nullable: true },
            ],
          },
        ],
      },
    });
  });

  it('counts and pages them through datasetsConnection', async () => {
    const r = await gql(
      `{ datasetsConnection(first: 1, sort: [{ rowCount: DESC }]) { totalCount edges { node { name } } pageInfo { hasNextPage } } }`,
      await token({ org: ORG_A }),
    );
    expect(r.body.data?.datasetsConnection).toEqual({
      totalCount: 2,
      edges: [{ node: { name: 'seattle_weather' } }],
      pageInfo: { hasNextPage: true },
    });
  });

  it('filters by name and row count', async () => {
    const r = await gql(
      `{ datasets(where: { rowCount: { gt: 500 }, name: { startsWith: "seattle" } }) { name } }`,
      await token({ org: ORG_A }),
    );
    expect(r.body.data?.datasets).toEqual([{ name: 'seattle_weather' }]);
  });

  it('does not expose orgId: not selectable, not filterable', async () => {
    const tok = await token({ org: ORG_A });
    const select = await gql(`{ datasets { name orgId } }`, tok);
    expect(select.status).toBe(400);
    expect(codes(select)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const filter = await gql(`{ datasets(where: { orgId: { eq: "${ORG_A}" } }) { name } }`, tok);
    expect(filter.status).toBe(400);
    expect(codes(filter)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('offers no generated mutations: only the semantic layer’s edits', async () => {
    const r = await gql(`{ __schema { mutationType { fields { name } } } }`, await token({ org: ORG_A }));
    expect(r.body.data?.__schema.mutationType.fields.map((f: { name: string }) => f.name).sort()).toEqual([
      'defineMetric',
      'defineRelationship',
      'deleteMetric',
      'deleteRelationship',
      'updateColumn',
      'updateDataset',
    ]);
  });
});

describe('another organization', () => {
  it('sees zero datasets, and filtering by org A’s names finds nothing', async () => {
    const tok = await token({ org: ORG_B });
    const all = await gql(`{ datasets { name } datasetsConnection { totalCount } }`, tok);
    expect(all.body).toEqual({ data: { datasets: [], datasetsConnection: { totalCount: 0 } } });
    const byName = await gql(
      `{ datasets(where: { name: { in: ["cars", "seattle_weather"] } }) { name rowCount } }`,
      tok,
    );
    expect(byName.body).toEqual({ data: { datasets: [] } });
  });

  it('may own a dataset of the same name, and each org sees only its own', async () => {
    await upsertDatasets(driver, ORG_B, [
      { ...CARS, rowCount: 7, columns: [{ name: 'x', type: 'int', nullable: false }] },
    ]);
    const b = await gql(`{ datasets { name rowCount columns { name } } }`, await token({ org: ORG_B }));
    expect(b.body.data?.datasets).toEqual([{ name: 'cars', rowCount: 7, columns: [{ name: 'x' }] }]);
    const a = await gql(`{ datasets(where: { name: { eq: "cars" } }) { rowCount } }`, await token({ org: ORG_A }));
    expect(a.body.data?.datasets).toEqual([{ rowCount: 406 }]);
  });
});

describe('paging', () => {
  /** graphql-relay's cursor for an offset, written out here: base64 of `arrayconnection:<offset>`. */
  const cursor = (offset: number) => Buffer.from(`arrayconnection:${offset}`).toString('base64');

  it('limit and offset page the datasets in sort order', async () => {
    const tok = await token({ org: ORG_P });
    const page = async (args: string) =>
      (await gql(`{ datasets(sort: [{ name: ASC }]${args}) { name } }`, tok)).body.data?.datasets.map(
        (d: { name: string }) => d.name,
      );
    expect(await page(', limit: 2')).toEqual(['p1', 'p2']);
    expect(await page(', limit: 2, offset: 2')).toEqual(['p3', 'p4']);
    expect(await page(', offset: 4')).toEqual(['p5']);
    expect(await page(', offset: 5')).toEqual([]);
    expect(await page(`, limit: ${MAX_PAGE_SIZE}`)).toEqual(PAGED);
    const byRows = await gql(`{ datasets(sort: [{ rowCount: ASC }], limit: 2, offset: 1) { name rowCount } }`, tok);
    expect(byRows.body.data?.datasets).toEqual([
      { name: 'p4', rowCount: 97 },
      { name: 'p3', rowCount: 98 },
    ]);
  });

  it('datasetsConnection walks every page with the cursors it issues', async () => {
    const tok = await token({ org: ORG_P });
    const q = `query($after: String) { datasetsConnection(first: 2, after: $after, sort: [{ name: ASC }]) {
      totalCount edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`;
    const pages: unknown[] = [];
    let after: string | null = null;
    for (let i = 0; i < 4; i++) {
      const r = await gql(q, tok, url, { after });
      const c = r.body.data?.datasetsConnection;
      pages.push(c);
      if (!c?.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    const edge = (offset: number) => ({ cursor: cursor(offset), node: { name: PAGED[offset] } });
    const info = (hasNextPage: boolean, hasPreviousPage: boolean, end: number) => ({
      hasNextPage,
      hasPreviousPage,
      endCursor: cursor(end),
    });
    expect(pages).toEqual([
      { totalCount: 5, edges: [edge(0), edge(1)], pageInfo: info(true, false, 1) },
      { totalCount: 5, edges: [edge(2), edge(3)], pageInfo: info(true, true, 3) },
      { totalCount: 5, edges: [edge(4)], pageInfo: info(false, true, 4) },
    ]);
    const all = await gql(`{ datasetsConnection(first: ${MAX_PAGE_SIZE}) { edges { node { name } } } }`, tok);
    expect(all.body.data?.datasetsConnection.edges.map((e: any) => e.node.name).sort()).toEqual(PAGED);
    // The last cursor the type can carry is accepted and lies past the end.
    const far = await gql(`{ datasetsConnection(after: "${cursor(MAX_CURSOR_OFFSET)}") { edges { cursor } } }`, tok);
    expect(far.body).toEqual({ data: { datasetsConnection: { edges: [] } } });
  });

  it('answers BAD_USER_INPUT naming the argument for limit, first and offset out of range', async () => {
    const tok = await token({ org: ORG_P });
    const cases: [string, string][] = [
      ['datasets(limit: -1) { name }', 'limit'],
      ['datasets(limit: 0) { name }', 'limit'],
      [`datasets(limit: ${MAX_PAGE_SIZE + 1}) { name }`, 'limit'],
      ['datasets(limit: 2147483647) { name }', 'limit'],
      ['datasets(offset: -5) { name }', 'offset'],
      ['datasets(limit: 10, offset: -1) { name }', 'offset'],
      ['datasetsConnection(first: -1) { totalCount }', 'first'],
      ['datasetsConnection(first: 0) { totalCount }', 'first'],
      [`datasetsConnection(first: ${MAX_PAGE_SIZE + 1}) { totalCount }`, 'first'],
    ];
    for (const [field, arg] of cases) {
      const r = await gql(`{ ${field} }`, tok);
      expect({ field, status: r.status, data: r.body.data, errors: r.body.errors?.map((e) => e.extensions) }).toEqual({
        field,
        status: 200,
        data: null,
        errors: [{ code: 'BAD_USER_INPUT', field: arg }],
      });
    }
    const viaVariable = await gql(`query($n: Int) { datasets(limit: $n) { name } }`, tok, url, { n: -1 });
    expect(viaVariable.body.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field: 'limit' }]);
    expect(viaVariable.body.errors?.[0]?.message).toBe(`limit must be between 1 and ${MAX_PAGE_SIZE}.`);
  });

  it('answers BAD_USER_INPUT for an after cursor that this API did not issue', async () => {
    const tok = await token({ org: ORG_P });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const bad = [
      'garbage',
      '',
      b64('arrayconnection:-5'), // would become SKIP -4
      b64('arrayconnection:01'),
      b64('arrayconnection:1x'), // parseInt would read 1
      b64('xxxxxxxxxxxxxxxx1'), // graphql-relay only strips 16 characters
      b64(`arrayconnection:${MAX_CURSOR_OFFSET + 1}`),
      b64('arrayconnection:99999999999999999999'),
      cursor(1).replace(/=+$/, ''), // not the canonical (padded) encoding
      `${cursor(1)}\n`,
    ];
    for (const after of bad) {
      const r = await gql(`query($after: String) { datasetsConnection(after: $after) { totalCount } }`, tok, url, {
        after,
      });
      expect({ after, data: r.body.data, errors: r.body.errors?.map((e) => e.extensions) }).toEqual({
        after,
        data: null,
        errors: [{ code: 'BAD_USER_INPUT', field: 'after' }],
      });
    }
  });

  it('cursorOffset reads exactly the cursors that graphql-relay writes', () => {
    expect([0, 1, 42, 1000, MAX_CURSOR_OFFSET].map((n) => cursorOffset(cursor(n)))).toEqual([
      0,
      1,
      42,
      1000,
      MAX_CURSOR_OFFSET,
    ]);
    expect(cursor(0)).toBe('YXJyYXljb25uZWN0aW9uOjA='); // as @neo4j/graphql answered in 'walks every page'
    expect(cursorOffset('YXJyYXljb25uZWN0aW9uOjA')).toBeUndefined();
    expect(cursorOffset('YXJyYXljb25uZWN0aW9uOjA==')).toBeUndefined();
  });
});

describe('filter input', () => {
  it('answers BAD_USER_INPUT naming the path for a null inside where', async () => {
    const tok = await token({ org: ORG_A });
    const cases: [string, string][] = [
      ['{ name: null }', 'where.name'],
      ['{ name: { eq: "cars" }, rowCount: null }', 'where.rowCount'],
      ['{ NOT: { updatedAt: null } }', 'where.NOT.updatedAt'],
      ['{ OR: [{ name: { eq: "cars" } }, { name: { in: null } }] }', 'where.OR[1].name.in'],
    ];
    for (const [where, path] of cases) {
      for (const field of ['datasets(where: W) { name }', 'datasetsConnection(where: W) { totalCount }']) {
        const r = await gql(`{ ${field.replace('W', where)} }`, tok);
        expect({ where, data: r.body.data, errors: r.body.errors?.map((e) => e.extensions) }).toEqual({
          where,
          data: null,
          errors: [{ code: 'BAD_USER_INPUT', field: path }],
        });
      }
    }
    // where itself null is the same as no filter.
    const none = await gql(`{ datasets(where: null, sort: [{ name: ASC }]) { name } }`, tok);
    expect(none.body.data?.datasets).toEqual([{ name: 'cars' }, { name: 'seattle_weather' }]);
  });

  it('bounds the conditions of one filter (Neo4j plans wide filters for seconds), counting nested ones', async () => {
    const tok = await token({ org: ORG_A });
    const or = (n: number) =>
      `{ OR: [${Array.from({ length: n }, (_, i) => `{ name: { eq: "t${i}" } }`).join(', ')}, { name: { eq: "cars" } }] }`;
    // 49 + 1 conditions: allowed, and the one real name matches.
    const fifty = await gql(`{ datasets(where: ${or(49)}) { name } }`, tok);
    expect(fifty.body).toEqual({ data: { datasets: [{ name: 'cars' }] } });
    const wide = await gql(`{ datasets(where: ${or(50)}) { name } }`, tok);
    expect(wide.body.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
      ['BAD_USER_INPUT', 'where has 51 conditions; at most 50 are allowed per filter.'],
    ]);
    // Nested: 26 names under NOT inside AND, 25 rowCount conditions beside them.
    const nested = `{ AND: [{ NOT: ${or(25)} }, { OR: [${Array.from({ length: 25 }, (_, i) => `{ rowCount: { gt: ${i} } }`).join(', ')}] }] }`;
    const r = await gql(`{ datasetsConnection(where: ${nested}) { totalCount } }`, tok);
    expect(r.body.errors?.[0]?.message).toBe('where has 51 conditions; at most 50 are allowed per filter.');
  });

  // cars was updated at 2025-01-02T03:04:05.678Z, seattle_weather at 2025-02-03T00:00:00.000Z.
  it('DateTime filters take the ISO-8601 forms Neo4j parses, with their offsets and precision', async () => {
    const tok = await token({ org: ORG_A });
    const cases: [string, string[]][] = [
      ['{ gt: "2025-02-01" }', ['seattle_weather']],
      ['{ lt: "2025-01-02T03:05" }', ['cars']],
      ['{ gte: "2025-01-02T03:04:05.678Z" }', ['cars', 'seattle_weather']],
      ['{ gt: "2025-01-02T03:04:05.678Z" }', ['seattle_weather']],
      ['{ gt: "2025-02-03T01:00:00+02:00" }', ['seattle_weather']], // 2025-02-02T23:00Z
      ['{ gt: "2025-02-03T01:00:00+0000" }', []],
      ['{ lt: "2025-02-02T19:00:00.000000001-05:00" }', ['cars', 'seattle_weather']], // 1 ns after weather
      ['{ lt: "2025-02-02T19:00:00-05:00" }', ['cars']],
      ['{ in: ["2024-02-29T00:00:00Z", "2025-01-02T03:04:05.678z"] }', ['cars']],
    ];
    for (const [filter, names] of cases) {
      const r = await gql(`{ datasets(where: { updatedAt: ${filter} }, sort: [{ name: ASC }]) { name } }`, tok);
      expect({ filter, body: r.body }).toEqual({
        filter,
        body: { data: { datasets: names.map((name) => ({ name })) } },
      });
    }
  });

  it('rejects other DateTime strings before Cypher: literal 400 GRAPHQL_VALIDATION_FAILED, variable BAD_USER_INPUT', async () => {
    const tok = await token({ org: ORG_A });
    for (const bad of [
      'not a date',
      'Jan 1 2025',
      '2025-02-30T00:00:00Z',
      '2025-01-01 00:00:00Z',
      '2025-01-01T24:00:00Z',
    ]) {
      const literal = await gql(`{ datasets(where: { updatedAt: { gt: "${bad}" } }) { name } }`, tok);
      expect({ bad, status: literal.status, codes: codes(literal), data: literal.body.data }).toEqual({
        bad,
        status: 400,
        codes: ['GRAPHQL_VALIDATION_FAILED'],
        data: undefined,
      });
      const variable = await gql(
        `query($t: DateTime) { datasets(where: { updatedAt: { gt: $t } }) { name } }`,
        tok,
        url,
        {
          t: bad,
        },
      );
      expect({ bad, status: variable.status, codes: codes(variable) }).toEqual({
        bad,
        status: 400,
        codes: ['BAD_USER_INPUT'],
      });
    }
  });

  it('isDateTime accepts exactly the strings Neo4j datetime() parses, among these', async () => {
    const candidates = [
      '2025-01-02',
      '2025-01-02T03:04',
      '2025-01-02T03:04:05',
      '2025-01-02T03:04:05.1',
      '2025-01-02T03:04:05.123456789',
      '2025-01-02T03:04:05Z',
      '2025-01-02t03:04:05z',
      '2025-01-02T03:04:05+18:00',
      '2025-01-02T03:04:05-1800',
      '2024-02-29T00:00:00Z',
      '2000-02-29',
      '0000-02-29',
      '9999-12-31T23:59:59.999999999Z',
      '2025-02-29',
      '1900-02-29',
      '2025-04-31',
      '2025-13-01',
      '2025-00-10',
      '2025-01-00',
      '2025-01-02T24:00:00Z',
      '2025-01-02T23:60:00Z',
      '2025-01-02T23:59:60Z',
      '2025-01-02T03:04:05+18:01',
      '2025-01-02T03:04:05+19:00',
      '2025-01-02T03:04:05+05:60',
      '2025-01-02 03:04:05Z',
      'Jan 2 2025',
      '',
    ];
    const neo4jParses: boolean[] = [];
    for (const s of candidates) {
      const ok = await driver.executeQuery('RETURN datetime($s) AS t', { s }).then(
        () => true,
        () => false,
      );
      neo4jParses.push(ok);
    }
    expect(Object.fromEntries(candidates.map((s) => [s, isDateTime(s)]))).toEqual(
      Object.fromEntries(candidates.map((s, i) => [s, neo4jParses[i]])),
    );
    // and the list holds both kinds
    expect(neo4jParses.filter(Boolean).length).toBe(13);
  });
});

describe('authentication', () => {
  it('answers UNAUTHENTICATED for every root field without a token, with no data', async () => {
    for (const q of [`{ datasets { name } }`, `{ datasetsConnection { totalCount } }`]) {
      const r = await gql(q);
      expect(codes(r)).toEqual(['UNAUTHENTICATED']);
      expect(r.body.data ?? null).toBeNull();
    }
  });

  it('answers UNAUTHENTICATED (HTTP 401) for an expired token', async () => {
    const expired = await token({ org: ORG_A, expSec: Math.floor(Date.now() / 1000) - 60 });
    const r = await gql(`{ datasets { name } }`, expired);
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual(['UNAUTHENTICATED']);
    expect(r.body.data ?? null).toBeNull();
  });

  it('answers UNAUTHENTICATED for a token signed by another key, and for garbage', async () => {
    const other = await createTokenSigner();
    for (const bad of [await other.token({ org: ORG_A }), 'a.b.c']) {
      const r = await gql(`{ datasets { name } }`, bad);
      expect(r.status).toBe(401);
      expect(codes(r)).toEqual(['UNAUTHENTICATED']);
    }
  });

  it('serves the (org-free) SDL on _service without a token', async () => {
    const r = await gql(`{ _service { sdl } }`);
    expect(r.body.data?._service.sdl).toBe(await graphSubgraphSdl());
  });
});

describe('generated Cypher', () => {
  it('binds the org from the token in the WHERE clause of the read', async () => {
    const seen: SeenQuery[] = [];
    const server = await createGraphServer({
      driver: recordingDriver(driver, seen),
      authenticator: createAuthenticator({
        verifier: createTokenVerifier({ jwks: signer.publicKey }),
        principal: tokenRoleOnly,
      }),
      port: 0,
      logger,
    });
    servers.push(server);
    const r = await gql(
      `{ datasets(where: { name: { eq: "cars" } }) { name } }`,
      await token({ org: ORG_A }),
      server.url,
    );
    expect(r.body.data?.datasets).toEqual([{ name: 'cars' }]);
    const read = seen.find((s) => s.query.includes('MATCH (this:Dataset)'));
    expect(read?.params.jwt.org).toBe(ORG_A);
    expect(read?.query).toMatchInlineSnapshot(`
      "CYPHER 5
      MATCH (this:Dataset)
      WITH *
      WHERE (this.name = $param0 AND ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this.orgId = $jwt.org)))
      CALL apoc.util.validate(NOT ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this.orgId = $jwt.org)), '@neo4j/graphql/FORBIDDEN', [])
      RETURN this { .name } AS this"
    `);
  });
});

describe('data layer', () => {
  it('the uniqueness constraint rejects a second node with the same (orgId, name)', async () => {
    await expect(
      driver.executeQuery('CREATE (:Dataset {orgId: $org, name: "cars", rowCount: 1})', { org: ORG_A }),
    ).rejects.toMatchObject({ code: 'Neo.ClientError.Schema.ConstraintValidationFailed' });
    const { records } = await driver.executeQuery(
      'MATCH (d:Dataset {orgId: $org, name: "cars"}) RETURN count(d) AS n',
      {
        org: ORG_A,
      },
    );
    expect(records[0]!.get('n').toNumber()).toBe(1);
  });

  it('ensureGraphSchema is idempotent and creates a (orgId, key) constraint and an orgId index per label', async () => {
    await ensureGraphSchema(driver);
    const { records } = await driver.executeQuery(
      'SHOW INDEXES YIELD name, labelsOrTypes, properties, owningConstraint ' +
        'WHERE labelsOrTypes[0] IN ["Dataset", "Upload", "PipelineRun"] ' +
        'RETURN name, labelsOrTypes[0] AS label, properties, owningConstraint IS NOT NULL AS unique ORDER BY name',
    );
    expect(records.map((r) => r.toObject())).toEqual([
      { name: 'dataset_org', label: 'Dataset', properties: ['orgId'], unique: false },
      { name: 'dataset_org_name_unique', label: 'Dataset', properties: ['orgId', 'name'], unique: true },
      { name: 'pipeline_run_org', label: 'PipelineRun', properties: ['orgId'], unique: false },
      { name: 'pipeline_run_org_id_unique', label: 'PipelineRun', properties: ['orgId', 'id'], unique: true },
      { name: 'upload_org', label: 'Upload', properties: ['orgId'], unique: false },
      { name: 'upload_org_id_unique', label: 'Upload', properties: ['orgId', 'id'], unique: true },
    ]);
  });

  it('an Upload or PipelineRun id is unique within an organization, not across organizations', async () => {
    const id = randomUUID();
    for (const label of ['Upload', 'PipelineRun']) {
      await driver.executeQuery(`CREATE (:${label} {orgId: $a, id: $id}), (:${label} {orgId: $b, id: $id})`, {
        a: ORG_A,
        b: ORG_B,
        id,
      });
      await expect(
        driver.executeQuery(`CREATE (:${label} {orgId: $a, id: $id})`, { a: ORG_A, id }),
      ).rejects.toMatchObject({ code: 'Neo.ClientError.Schema.ConstraintValidationFailed' });
      const { records } = await driver.executeQuery(`MATCH (n:${label} {id: $id}) RETURN count(n) AS n`, { id });
      expect({ label, n: records[0]!.get('n').toNumber() }).toEqual({ label, n: 2 });
    }
  });
});

describe('SDL for composition', () => {
  it('composes on its own, hides orgId, and marks PageInfo @shareable', async () => {
    const sdl = await graphSubgraphSdl();
    const result = composeServices([{ name: 'graph', url: 'http://127.0.0.1:4004/graphql', typeDefs: parse(sdl) }]);
    expect(result.errors).toBeUndefined();
    expect(sdl).not.toMatch(/orgId|columnNames|columnTypes|columnNullable|aliasNames|aliasValues/);
    // Stored only (the pipeline's and the mutations' bookkeeping), never fields.
    expect(sdl).not.toMatch(/^\s+(edited|outgoing|position)\b/m);
    expect(sdl).toMatch(/type PageInfo\s+@shareable/);
    // The paging limits are part of the contract clients read.
    expect(MAX_PAGE_SIZE).toBe(1000);
    expect(sdl).toContain('Page size: 1..1000 (omit for all). Otherwise BAD_USER_INPUT.');
    expect(sdl).toContain('Return at most this many datasets: 1..1000 (omit for all). Otherwise BAD_USER_INPUT.');
    const names = [...sdl.matchAll(/^(?:type|input|enum|scalar) (\w+)/gm)].map((m) => m[1]).sort();
    // The lineage types and what a nested `runs` / `runsConnection` takes; no relationship filter inputs
    // (LineageRunRelationshipFilters, DatasetRunsConnectionFilters, aggregation inputs), no LineageUploadWhere and
    // no upload connection types (see HIDDEN_FIELDS in src/schema.ts).
    expect(names).toEqual([
      'ColumnRef',
      'ColumnRefInput',
      'ColumnReference',
      'ColumnUpdateInput',
      'Dataset',
      'DatasetColumn',
      'DatasetEdge',
      'DatasetRelationship',
      'DatasetRunsConnection',
      'DatasetRunsConnectionSort',
      'DatasetRunsConnectionWhere',
      'DatasetRunsRelationship',
      'DatasetSort',
      'DatasetWhere',
      'DatasetsConnection',
      'DateTime',
      'DateTimeScalarFilters',
      'IDScalarFilters',
      'IntScalarFilters',
      'LakeTable',
      'LineageProduced',
      'LineageProducedSort',
      'LineageProducedWhere',
      'LineageRun',
      'LineageRunSort',
      'LineageRunWhere',
      'LineageUpload',
      'LoadMode',
      'LoadModeEnumScalarFilters',
      'Metric',
      'MetricAggregate',
      'MetricInput',
      'Mutation',
      'Organization',
      'PageInfo',
      'Query',
      'ReferenceCardinality',
      'ReferenceOrigin',
      'SemanticType',
      'SortDirection',
      'StringScalarFilters',
      'UploadFormat',
      'ValueAlias',
      'ValueAliasInput',
    ]);
  });
});
