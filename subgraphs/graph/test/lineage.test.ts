// Lineage through the graph subgraph against a real Neo4j (see test/graph-fixture.ts): uploads, pipeline runs and
// the Delta versions they produced, written with plain Cypher in the shape of the pipeline's publish task, read
// through the real server with real tokens. Expected values are written by hand from the data below.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from 'neo4j-driver';
import { createLogger, createTokenVerifier, createAuthenticator, tokenRoleOnly } from '@datapilot/common';
import { createGraphServer } from '../src/server.ts';
import { graphSubgraphSdl } from '../src/sdl.ts';
import { ensureGraphSchema } from '../src/data/datasets.ts';
import { MAX_NESTED_PAGE_SIZE } from '../src/arguments.ts';
import {
  codes,
  connectNeo4j,
  createTokenSigner,
  deleteOrgs,
  postGraphql,
  publishLineage,
  recordingDriver,
  upsertDatasets,
  type DatasetInput,
  type GqlResult,
  type SeenQuery,
  type UploadInput,
} from './graph-fixture.ts';

let neo: Awaited<ReturnType<typeof connectNeo4j>> | undefined;
let driver: Driver;
let signer: Awaited<ReturnType<typeof createTokenSigner>>;
const servers: { url: string; close(): Promise<void> }[] = [];
let url: string;

// Fresh organizations each run (the Neo4j may be shared); ids of uploads and runs are unique per organization.
const ORG_A = randomUUID();
const ORG_B = randomUUID();
// 101 runs of one dataset, for the bounds of nested lists.
const ORG_P = randomUUID();

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const [U_A1, U_A2, U_B1] = [id(1), id(2), id(3)];
const [R_A1, R_A2, R_A3, R_B1, R_B2] = [id(11), id(12), id(13), id(21), id(22)];

const dataset = (name: string, deltaVersion: number): DatasetInput => ({
  name,
  rowCount: 10,
  deltaVersion,
  updatedAt: new Date('2025-03-03T09:00:00Z'),
  columns: [{ name: 'x', type: 'bigint', nullable: false }],
});

// Org A: cars loaded from cars.csv (version 0), appended from more cars.ndjson (version 1), then rebuilt from that
// same upload (version 2); weather has no lineage.
const UA1: UploadInput = { id: U_A1, table: 'cars', fileName: 'cars.csv', format: 'CSV', mode: 'OVERWRITE' };
const UA2: UploadInput = { id: U_A2, table: 'cars', fileName: 'more cars.ndjson', format: 'NDJSON', mode: 'APPEND' };
// Org B: its own cars, loaded once from cars.parquet (version 0).
const UB1: UploadInput = { id: U_B1, table: 'cars', fileName: 'cars.parquet', format: 'PARQUET', mode: 'OVERWRITE' };

const token = (org: string) => signer.token({ org });
const gql = (query: string, tok?: string, variables?: Record<string, unknown>, at = url): Promise<GqlResult> =>
  postGraphql(at, query, tok, variables);

const logger = createLogger('lineage-test', 'error');

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

  await upsertDatasets(driver, ORG_A, [dataset('cars', 2), dataset('weather', 0)]);
  await upsertDatasets(driver, ORG_B, [dataset('cars', 1)]);
  const dag = (t: string) => `manual__${t}`;
  for (const l of [
    {
      upload: UA1,
      run: { id: R_A1, dagRunId: dag('a1'), mode: 'OVERWRITE', finishedAt: '2025-03-01T10:00:00Z' },
      v: 0,
    },
    {
      upload: UA2,
      run: { id: R_A2, dagRunId: dag('a2'), mode: 'APPEND', finishedAt: '2025-03-02T11:30:00.250Z' },
      v: 1,
    },
    {
      upload: UA2,
      run: { id: R_A3, dagRunId: dag('a3'), mode: 'OVERWRITE', finishedAt: '2025-03-03T09:00:00Z' },
      v: 2,
    },
  ] as const)
    await publishLineage(driver, ORG_A, { upload: l.upload, run: l.run, dataset: 'cars', deltaVersion: l.v });
  await publishLineage(driver, ORG_B, {
    upload: UB1,
    run: { id: R_B1, dagRunId: dag('b1'), mode: 'OVERWRITE', finishedAt: '2025-04-01T00:00:00Z' },
    dataset: 'cars',
    deltaVersion: 0,
  });
  // A writer bug the rules must contain: edges that cross organizations. A's first run "produced" version 9 of
  // B's cars; B's run "produced" version 7 of A's cars; B's second run (version 1) was "loaded" from A's upload only.
  await driver.executeQuery(
    `MATCH (ra1:PipelineRun {orgId: $a, id: $ra1}), (ua1:Upload {orgId: $a, id: $ua1}), (ac:Dataset {orgId: $a, name: 'cars'}),
           (rb1:PipelineRun {orgId: $b, id: $rb1}), (bc:Dataset {orgId: $b, name: 'cars'})
     CREATE (ra1)-[:PRODUCED {deltaVersion: 9}]->(bc), (rb1)-[:PRODUCED {deltaVersion: 7}]->(ac)
     CREATE (ua1)-[:LOADED_BY]->(:PipelineRun {orgId: $b, id: $rb2, dagRunId: 'manual__b2', mode: 'APPEND',
             finishedAt: datetime('2025-04-02T00:00:00Z')})-[:PRODUCED {deltaVersion: 1}]->(bc)`,
    { a: ORG_A, b: ORG_B, ra1: R_A1, ua1: U_A1, rb1: R_B1, rb2: R_B2 },
  );

  // Org P: dataset big with runs 0..100 (run i finished at minute i of 2025-01-01 and produced version i).
  await upsertDatasets(driver, ORG_P, [dataset('big', 100)]);
  await driver.executeQuery(
    `MATCH (d:Dataset {orgId: $p, name: 'big'})
     CREATE (u:Upload {orgId: $p, id: $u, table: 'big', fileName: 'big.csv', format: 'CSV', mode: 'APPEND'})
     WITH d, u
     UNWIND range(0, 100) AS i
     CREATE (u)-[:LOADED_BY]->(r:PipelineRun {orgId: $p, id: '00000000-0000-4000-8000-' + right('00000000000' + toString(i), 12),
             dagRunId: 'manual__' + toString(i), mode: 'APPEND',
             finishedAt: datetime('2025-01-01T00:00:00Z') + duration({minutes: i})})-[:PRODUCED {deltaVersion: i}]->(d)`,
    { p: ORG_P, u: id(999) },
  );
});

afterAll(async () => {
  for (const s of servers) await s.close();
  if (driver) await deleteOrgs(driver, [ORG_A, ORG_B, ORG_P]);
  await neo?.close();
});

const LINEAGE = `{
  datasets(sort: [{ name: ASC }]) {
    name
    runs { id dagRunId mode finishedAt upload { id table fileName format mode } }
    runsConnection { totalCount edges { properties { deltaVersion } node { id } } }
  }
}`;

describe('lineage of the caller’s organization', () => {
  it('org A sees the runs of its datasets, newest first, with their uploads and produced versions', async () => {
    const r = await gql(LINEAGE, await token(ORG_A));
    expect(r.status).toBe(200);
    const upload1 = { id: U_A1, table: 'cars', fileName: 'cars.csv', format: 'CSV', mode: 'OVERWRITE' };
    const upload2 = { id: U_A2, table: 'cars', fileName: 'more cars.ndjson', format: 'NDJSON', mode: 'APPEND' };
    expect(r.body).toEqual({
      data: {
        datasets: [
          {
            name: 'cars',
            runs: [
              {
                id: R_A3,
                dagRunId: 'manual__a3',
                mode: 'OVERWRITE',
                finishedAt: '2025-03-03T09:00:00.000Z',
                upload: upload2,
              },
              {
                id: R_A2,
                dagRunId: 'manual__a2',
                mode: 'APPEND',
                finishedAt: '2025-03-02T11:30:00.250Z',
                upload: upload2,
              },
              {
                id: R_A1,
                dagRunId: 'manual__a1',
                mode: 'OVERWRITE',
                finishedAt: '2025-03-01T10:00:00.000Z',
                upload: upload1,
              },
            ],
            runsConnection: {
              totalCount: 3,
              edges: [
                { properties: { deltaVersion: 2 }, node: { id: R_A3 } },
                { properties: { deltaVersion: 1 }, node: { id: R_A2 } },
                { properties: { deltaVersion: 0 }, node: { id: R_A1 } },
              ],
            },
          },
          { name: 'weather', runs: [], runsConnection: { totalCount: 0, edges: [] } },
        ],
      },
    });
  });

  it('org B sees only its own runs and uploads, even over edges that cross organizations', async () => {
    const r = await gql(LINEAGE, await token(ORG_B));
    expect(r.body).toEqual({
      data: {
        datasets: [
          {
            name: 'cars',
            runs: [
              // Its only upload is A's: not visible, so null.
              {
                id: R_B2,
                dagRunId: 'manual__b2',
                mode: 'APPEND',
                finishedAt: '2025-04-02T00:00:00.000Z',
                upload: null,
              },
              {
                id: R_B1,
                dagRunId: 'manual__b1',
                mode: 'OVERWRITE',
                finishedAt: '2025-04-01T00:00:00.000Z',
                upload: { id: U_B1, table: 'cars', fileName: 'cars.parquet', format: 'PARQUET', mode: 'OVERWRITE' },
              },
            ],
            runsConnection: {
              totalCount: 2,
              edges: [
                { properties: { deltaVersion: 1 }, node: { id: R_B2 } },
                { properties: { deltaVersion: 0 }, node: { id: R_B1 } },
              ],
            },
          },
        ],
      },
    });
  });

  it('filters on a run or a produced version of another organization find nothing', async () => {
    const r = await gql(
      `query($a1: ID) {
        datasets {
          byId: runs(where: { id: { eq: $a1 } }) { id }
          byVersion: runsConnection(where: { edge: { deltaVersion: { eq: 9 } } }) { totalCount edges { node { id } } }
        }
      }`,
      await token(ORG_B),
      { a1: R_A1 },
    );
    expect(r.body).toEqual({
      data: { datasets: [{ byId: [], byVersion: { totalCount: 0, edges: [] } }] },
    });
  });

  it('filters, sorts and pages runs as asked', async () => {
    const r = await gql(
      `{
        datasets(where: { name: { eq: "cars" } }) {
          appended: runs(where: { mode: { eq: APPEND } }) { id }
          sinceMarch2: runs(where: { finishedAt: { gt: "2025-03-02" } }) { id }
          oldestFirst: runs(sort: [{ finishedAt: ASC }]) { id }
          second: runs(limit: 1, offset: 1) { id }
          fromVersion1: runsConnection(where: { edge: { deltaVersion: { gte: 1 } } }) { edges { node { id } } }
          byVersion: runsConnection(sort: [{ edge: { deltaVersion: ASC } }]) { edges { node { id } } }
          page1: runsConnection(first: 2) { edges { node { id } } pageInfo { hasNextPage endCursor } }
        }
      }`,
      await token(ORG_A),
    );
    expect(r.body.data?.datasets).toEqual([
      {
        appended: [{ id: R_A2 }],
        sinceMarch2: [{ id: R_A3 }, { id: R_A2 }],
        oldestFirst: [{ id: R_A1 }, { id: R_A2 }, { id: R_A3 }],
        second: [{ id: R_A2 }],
        fromVersion1: { edges: [{ node: { id: R_A3 } }, { node: { id: R_A2 } }] },
        byVersion: { edges: [{ node: { id: R_A1 } }, { node: { id: R_A2 } }, { node: { id: R_A3 } }] },
        page1: {
          edges: [{ node: { id: R_A3 } }, { node: { id: R_A2 } }],
          pageInfo: { hasNextPage: true, endCursor: Buffer.from('arrayconnection:1').toString('base64') },
        },
      },
    ]);
    const after = r.body.data?.datasets[0].page1.pageInfo.endCursor as string;
    const page2 = await gql(
      `query($after: String) { datasets(where: { name: { eq: "cars" } }) { runsConnection(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage } } } }`,
      await token(ORG_A),
      { after },
    );
    expect(page2.body.data?.datasets).toEqual([
      { runsConnection: { edges: [{ node: { id: R_A1 } }], pageInfo: { hasNextPage: false } } },
    ]);
  });
});

describe('bounds of nested lists', () => {
  // Runs of big: run i finished at minute i and produced version i, i = 0..100.
  it(`returns at most ${MAX_NESTED_PAGE_SIZE} runs per dataset by default, newest first, and counts them all`, async () => {
    expect(MAX_NESTED_PAGE_SIZE).toBe(100);
    const r = await gql(
      `{ datasets { runs { dagRunId } runsConnection { totalCount edges { properties { deltaVersion } } pageInfo { hasNextPage endCursor } } } }`,
      await token(ORG_P),
    );
    const [big] = r.body.data?.datasets as any[];
    const newest100 = Array.from({ length: 100 }, (_, k) => 100 - k); // 100, 99, ..., 1
    expect(big.runs).toEqual(newest100.map((i) => ({ dagRunId: `manual__${i}` })));
    expect(big.runsConnection.totalCount).toBe(101);
    expect(big.runsConnection.edges).toEqual(newest100.map((i) => ({ properties: { deltaVersion: i } })));
    expect(big.runsConnection.pageInfo.hasNextPage).toBe(true);
    const rest = await gql(
      `query($after: String) { datasets { runsConnection(after: $after) { edges { properties { deltaVersion } } pageInfo { hasNextPage } } } }`,
      await token(ORG_P),
      { after: big.runsConnection.pageInfo.endCursor },
    );
    expect(rest.body.data?.datasets).toEqual([
      { runsConnection: { edges: [{ properties: { deltaVersion: 0 } }], pageInfo: { hasNextPage: false } } },
    ]);
    const max = await gql(`{ datasets { runs(limit: 100, offset: 99) { dagRunId } } }`, await token(ORG_P));
    expect(max.body.data?.datasets).toEqual([{ runs: [{ dagRunId: 'manual__1' }, { dagRunId: 'manual__0' }] }]);
  });

  it('answers BAD_USER_INPUT naming the nested argument, before any query runs', async () => {
    const tok = await token(ORG_P);
    const cases: [string, string][] = [
      ['{ datasets { runs(limit: 0) { id } } }', 'runs.limit'],
      ['{ datasets { runs(limit: -1) { id } } }', 'runs.limit'],
      ['{ datasets { runs(limit: 101) { id } } }', 'runs.limit'],
      ['{ datasets { runs(limit: null) { id } } }', 'runs.limit'],
      ['{ datasets { runs(offset: -1) { id } } }', 'runs.offset'],
      ['{ datasets { runs(sort: null) { id } } }', 'runs.sort'],
      ['{ datasets { runs(where: { id: null }) { id } } }', 'runs.where.id'],
      ['{ datasets { runs(where: { OR: [{ id: { eq: "x" } }, { mode: null }] }) { id } } }', 'runs.where.OR[1].mode'],
      ['{ datasets { runsConnection(first: 0) { totalCount } } }', 'runsConnection.first'],
      ['{ datasets { runsConnection(first: 101) { totalCount } } }', 'runsConnection.first'],
      ['{ datasets { runsConnection(first: null) { totalCount } } }', 'runsConnection.first'],
      ['{ datasets { runsConnection(after: "garbage") { totalCount } } }', 'runsConnection.after'],
      ['{ datasets { runsConnection(sort: null) { totalCount } } }', 'runsConnection.sort'],
      [
        '{ datasets { runsConnection(where: { edge: { deltaVersion: null } }) { totalCount } } }',
        'runsConnection.where.edge.deltaVersion',
      ],
      ['{ datasetsConnection { edges { node { alias: runs(limit: 0) { id } } } } }', 'edges.node.runs.limit'],
      ['{ datasets { ... on Dataset { runs(limit: 0) { id } } } }', 'runs.limit'],
      ['{ datasets { ...F } } fragment F on Dataset { runs(limit: 0) { id } }', 'runs.limit'],
      ['{ datasets(limit: 1) { runs(limit: 0) { id } } }', 'runs.limit'],
    ];
    for (const [query, field] of cases) {
      const r = await gql(query, tok);
      expect({ query, status: r.status, data: r.body.data, errors: r.body.errors?.map((e) => e.extensions) }).toEqual({
        query,
        status: 200,
        data: null,
        errors: [{ code: 'BAD_USER_INPUT', field }],
      });
    }
    const q = 'query($n: Int) { datasets { runs(limit: $n) { dagRunId } } }';
    for (const n of [0, null])
      expect((await gql(q, tok, { n })).body.errors?.map((e) => e.extensions)).toEqual([
        { code: 'BAD_USER_INPUT', field: 'runs.limit' },
      ]);
    // A variable the request does not set leaves the argument's default.
    expect((await gql(q, tok, {})).body.data?.datasets[0].runs).toHaveLength(100);
    expect((await gql(q, tok, { n: 2 })).body.data?.datasets[0].runs).toEqual([
      { dagRunId: 'manual__100' },
      { dagRunId: 'manual__99' },
    ]);
  });

  it('prints the bounds and the default order in the SDL', async () => {
    const sdl = await graphSubgraphSdl();
    expect(sdl).toContain('limit: Int = 100');
    expect(sdl).toContain('first: Int = 100');
    expect(sdl).toContain('sort: [LineageRunSort!] = [{finishedAt: DESC}, {id: ASC}]');
    expect(sdl).toContain('sort: [DatasetRunsConnectionSort!] = [{node: {finishedAt: DESC}}, {node: {id: ASC}}]');
  });
});

describe('the org stays out of the API', () => {
  it('no input type has a field on orgId, no output type shows it, and lineage has no root field', async () => {
    const r = await gql(
      `{ __schema { queryType { fields { name } } mutationType { name } subscriptionType { name }
           types { name kind fields { name } inputFields { name } } } }`,
      await token(ORG_A),
    );
    const schema = r.body.data?.__schema as {
      queryType: { fields: { name: string }[] };
      mutationType: unknown;
      subscriptionType: unknown;
      types: {
        name: string;
        kind: string;
        fields: { name: string }[] | null;
        inputFields: { name: string }[] | null;
      }[];
    };
    expect(schema.queryType.fields.map((f) => f.name).sort()).toEqual([
      '_entities',
      '_service',
      'datasets',
      'datasetsConnection',
    ]);
    // The only mutations are the semantic layer's edits (semantic.test.ts); none is generated by @neo4j/graphql.
    expect([schema.mutationType, schema.subscriptionType]).toEqual([{ name: 'Mutation' }, null]);
    const inputs = schema.types.filter((t) => t.kind === 'INPUT_OBJECT');
    // The filter and sort inputs of the lineage types are among them, so the check below covers them.
    expect(inputs.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'LineageRunWhere',
        'LineageRunSort',
        'DatasetRunsConnectionWhere',
        'LineageProducedWhere',
      ]),
    );
    const orgInputs = inputs.flatMap((t) => (t.inputFields ?? []).filter((f) => /^orgId/i.test(f.name)));
    expect(orgInputs).toEqual([]);
    const orgOutputs = schema.types.flatMap((t) => (t.fields ?? []).filter((f) => /^orgId/i.test(f.name)));
    expect(orgOutputs).toEqual([]);
  });

  it('refuses orgId and relationship filters in an operation (400, nothing run)', async () => {
    const tok = await token(ORG_A);
    for (const query of [
      '{ datasets { runs { orgId } } }',
      '{ datasets { runs { upload { orgId } } } }',
      `{ datasets { runs(where: { orgId: { eq: "${ORG_B}" } }) { id } } }`,
      `{ datasets { runsConnection(where: { node: { orgId: { eq: "${ORG_B}" } } }) { totalCount } } }`,
      '{ datasets { runs(sort: [{ orgId: ASC }]) { id } } }',
      // Relationship filters are not offered: @neo4j/graphql 7.6.3 leaves the related type's rule out of them.
      `{ datasets(where: { runs: { some: { id: { eq: "${R_A1}" } } } }) { name } }`,
      '{ datasets(where: { runsConnection: { aggregate: { count: { nodes: { gt: 0 } } } } }) { name } }',
      '{ datasets { runs(where: { upload: { fileName: { eq: "cars.csv" } } }) { id } } }',
      '{ datasets { runs { uploadConnection { totalCount } } } }',
    ]) {
      const r = await gql(query, tok);
      expect({ query, status: r.status, codes: codes(r) }).toEqual({
        query,
        status: 400,
        codes: ['GRAPHQL_VALIDATION_FAILED'],
      });
    }
  });
});

describe('generated Cypher', () => {
  it('binds the org from the token on every node pattern of a lineage read', async () => {
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
      `{ datasets(where: { name: { eq: "cars" } }) {
          runs(limit: 1) { id upload { fileName } }
          runsConnection(first: 1) { edges { properties { deltaVersion } node { id } } }
        } }`,
      await token(ORG_A),
      undefined,
      server.url,
    );
    expect(r.body.data?.datasets).toEqual([
      {
        runs: [{ id: R_A3, upload: { fileName: 'more cars.ndjson' } }],
        runsConnection: { edges: [{ properties: { deltaVersion: 2 }, node: { id: R_A3 } }] },
      },
    ]);
    const read = seen.find((s) => s.query.includes('MATCH (this:Dataset)'));
    expect(read?.params.jwt.org).toBe(ORG_A);
    const query = read?.query ?? '';
    // Every node the query matches, and each one's org predicate (this, two runs, one upload).
    const nodes = [...query.matchAll(/\((\w+):(Dataset|PipelineRun|Upload)\)/g)].map((m) => [m[1], m[2]]);
    expect(nodes.map(([, label]) => label)).toEqual(['Dataset', 'PipelineRun', 'Upload', 'PipelineRun']);
    for (const [v] of nodes) expect(query).toContain(`($jwt.org IS NOT NULL AND ${v}.orgId = $jwt.org)`);
    expect(query).toMatchInlineSnapshot(`
      "CYPHER 5
      MATCH (this:Dataset)
      WITH *
      WHERE (this.name = $param0 AND ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this.orgId = $jwt.org)))
      CALL apoc.util.validate(NOT ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this.orgId = $jwt.org)), '@neo4j/graphql/FORBIDDEN', [])
      CALL (this) {
        MATCH (this)<-[this0:PRODUCED]-(this1:PipelineRun)
        WITH DISTINCT this1
        WITH *
        WHERE ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this1.orgId = $jwt.org))
        CALL apoc.util.validate(NOT ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this1.orgId = $jwt.org)), '@neo4j/graphql/FORBIDDEN', [])
        CALL (this1) {
          MATCH (this1)<-[this2:LOADED_BY]-(this3:Upload)
          WITH DISTINCT this3
          WITH *
          WHERE ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this3.orgId = $jwt.org))
          CALL apoc.util.validate(NOT ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this3.orgId = $jwt.org)), '@neo4j/graphql/FORBIDDEN', [])
          WITH this3 { .fileName } AS this3
          RETURN head(collect(this3)) AS var4
        }
        WITH this1 { .id, .finishedAt, upload: var4 } AS this1
        ORDER BY this1.finishedAt DESC, this1.id ASC
        LIMIT $param3
        RETURN collect(this1) AS var5
      }
      CALL (this) {
        MATCH (this)<-[this6:PRODUCED]-(this7:PipelineRun)
        WHERE ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this7.orgId = $jwt.org))
        CALL apoc.util.validate(NOT ($isAuthenticated = true AND ($jwt.org IS NOT NULL AND this7.orgId = $jwt.org)), '@neo4j/graphql/FORBIDDEN', [])
        WITH collect({node: this7, relationship: this6}) AS edges
        CALL (edges) {
          UNWIND edges AS edge
          WITH edge.node AS this7, edge.relationship AS this6
          WITH *
          ORDER BY this7.finishedAt DESC, this7.id ASC
          LIMIT $param4
          RETURN collect({properties: {deltaVersion: this6.deltaVersion, __resolveType: 'LineageProduced'}, node: {id: this7.id, __resolveType: 'LineageRun'}}) AS var8
        }
        RETURN {edges: var8} AS var9
      }
      RETURN this { runs: var5, runsConnection: var9 } AS this"
    `);
  });
});
