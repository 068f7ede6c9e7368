// Federation entities of the graph subgraph against a real Neo4j (test/graph-fixture.ts): `Dataset` references and
// `Organization.datasets` resolved in one Cypher query per request, scoped to the token's organization. The expected
// values are the ones written below by hand.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from 'neo4j-driver';
import { createLogger, createTokenVerifier, createAuthenticator, tokenRoleOnly } from '@datapilot/common';
import { createGraphServer } from '../src/server.ts';
import { ensureGraphSchema } from '../src/data/datasets.ts';
import {
  codes,
  connectNeo4j,
  createTokenSigner,
  deleteOrgs,
  postGraphql,
  recordingDriver,
  upsertDatasets,
  type SeenQuery,
} from './graph-fixture.ts';

let neo: Awaited<ReturnType<typeof connectNeo4j>> | undefined;
let driver: Driver;
let signer: Awaited<ReturnType<typeof createTokenSigner>>;
let server: { url: string; close(): Promise<void> } | undefined;
const seen: SeenQuery[] = [];

const ORG_A = randomUUID();
const ORG_B = randomUUID();

const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Dataset { name rowCount description columns { name type description } table { name } }
    ... on Organization { id datasets { name deltaVersion } }
  }
}`;

beforeAll(async () => {
  neo = await connectNeo4j();
  driver = neo.driver;
  await ensureGraphSchema(driver);
  signer = await createTokenSigner();
  server = await createGraphServer({
    driver: recordingDriver(driver, seen),
    authenticator: createAuthenticator({
      verifier: createTokenVerifier({ jwks: signer.publicKey }),
      principal: tokenRoleOnly,
    }),
    port: 0,
    logger: createLogger('graph-test', 'error'),
  });
  const columns = [
    { name: 'Name', type: 'string', nullable: true },
    { name: 'Year', type: 'date', nullable: false },
  ];
  await upsertDatasets(driver, ORG_A, [
    { name: 'cars', rowCount: 406, deltaVersion: 3, columns },
    { name: 'weather', rowCount: 1461, deltaVersion: 0, columns: columns.slice(0, 1) },
    { name: 'zoo', rowCount: 7, deltaVersion: 1, columns: columns.slice(1) },
  ]);
  await upsertDatasets(driver, ORG_B, [{ name: 'cars', rowCount: 1, deltaVersion: 9, columns }]);
  // The semantic layer's descriptions, as stored properties (one per column, '' for none).
  await driver.executeQuery(
    `MATCH (d:Dataset {orgId: $org, name: 'cars'})
     SET d.description = 'One row per car model.', d.columnDescriptions = ['Model name', '']`,
    { org: ORG_A },
  );
});

afterAll(async () => {
  await server?.close();
  if (driver) await deleteOrgs(driver, [ORG_A, ORG_B]);
  await neo?.close();
});

const reps = [
  { __typename: 'Dataset', name: 'zoo' },
  { __typename: 'Dataset', name: 'cars' },
  { __typename: 'Dataset', name: 'no_such_table' },
  { __typename: 'Dataset', name: 'weather' },
  { __typename: 'Organization', id: ORG_A },
  { __typename: 'Organization', id: ORG_B },
];

describe('Dataset and Organization entities', () => {
  it('resolves a list of references with one Cypher query for the datasets, in the order asked', async () => {
    seen.length = 0;
    const r = await postGraphql(server!.url, ENTITIES, await signer.token({ org: ORG_A }), { representations: reps });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data!['_entities']).toEqual([
      {
        __typename: 'Dataset',
        name: 'zoo',
        rowCount: 7,
        description: null,
        columns: [{ name: 'Year', type: 'date', description: null }],
        table: { name: 'zoo' },
      },
      {
        __typename: 'Dataset',
        name: 'cars',
        rowCount: 406,
        description: 'One row per car model.',
        columns: [
          { name: 'Name', type: 'string', description: 'Model name' },
          { name: 'Year', type: 'date', description: null },
        ],
        table: { name: 'cars' },
      },
      null,
      {
        __typename: 'Dataset',
        name: 'weather',
        rowCount: 1461,
        description: null,
        columns: [{ name: 'Name', type: 'string', description: null }],
        table: { name: 'weather' },
      },
      {
        __typename: 'Organization',
        id: ORG_A,
        datasets: [
          { name: 'cars', deltaVersion: 3 },
          { name: 'weather', deltaVersion: 0 },
          { name: 'zoo', deltaVersion: 1 },
        ],
      },
      null,
    ]);
    // Three Dataset references: one query; the organization's datasets: one more.
    const reads = seen.filter((q) => q.query.includes(':Dataset'));
    expect(reads).toHaveLength(2);
  });

  it('another organization sees its own catalog only: org A’s names resolve to its own row or null', async () => {
    const r = await postGraphql(server!.url, ENTITIES, await signer.token({ org: ORG_B }), { representations: reps });
    expect(r.body.errors).toBeUndefined();
    const out = r.body.data!['_entities'] as unknown[];
    expect(out[0]).toBeNull();
    expect(out[1]).toMatchObject({ name: 'cars', rowCount: 1, description: null });
    expect(out[3]).toBeNull();
    expect(out[4]).toBeNull();
    expect(out[5]).toEqual({ __typename: 'Organization', id: ORG_B, datasets: [{ name: 'cars', deltaVersion: 9 }] });
  });

  it('refuses references without a token', async () => {
    const r = await postGraphql(server!.url, ENTITIES, undefined, { representations: reps });
    expect(codes(r)).toEqual(['UNAUTHENTICATED']);
  });
});
