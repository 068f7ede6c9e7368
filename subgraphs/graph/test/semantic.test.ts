// The semantic layer through the graph subgraph against a real Neo4j (see test/graph-fixture.ts): Column nodes,
// references and metrics written with plain Cypher in the shape the pipeline's profiling step writes them
// (see the header of schema.graphql), read through the real server with real tokens, then edited through the mutations by each
// role and by another organization. Every expected value below is written by hand from the data of this file.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import neo4j, { type Driver } from 'neo4j-driver';
import { TABLE_NAME_PATTERN } from '@datapilot/lake-core';
import { createAuthenticator, createLogger, createTokenVerifier, tokenRoleOnly } from '@datapilot/common';
import { createGraphServer } from '../src/server.ts';
import { ensureGraphSchema } from '../src/data/datasets.ts';
import { NAME_PATTERN } from '../src/semantic-input.ts';
import {
  codes,
  connectNeo4j,
  createTokenSigner,
  deleteOrgs,
  postGraphql,
  recordingDriver,
  upsertDatasets,
  writeColumnProfiles,
  writeReferences,
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
/** A second server on a driver that records the Cypher @neo4j/graphql and the mutations run. */
let recordedUrl: string;
const seen: SeenQuery[] = [];

const ORG_A = randomUUID();
const ORG_B = randomUUID();

const FLIGHTS: DatasetInput = {
  name: 'flights',
  rowCount: 6,
  deltaVersion: 3,
  columns: [
    { name: 'year', type: 'int', nullable: false },
    { name: 'origin', type: 'string', nullable: false },
    { name: 'dest', type: 'string', nullable: false },
    { name: 'dep_delay', type: 'double', nullable: true },
    { name: 'carrier', type: 'string', nullable: true },
  ],
};
const AIRPORTS: DatasetInput = {
  name: 'airports',
  rowCount: 4,
  deltaVersion: 0,
  columns: [
    { name: 'iata', type: 'string', nullable: false },
    { name: 'city', type: 'string', nullable: false },
    { name: 'state', type: 'string', nullable: false },
  ],
};
// Not profiled yet: no Column nodes.
const CARS: DatasetInput = {
  name: 'cars',
  rowCount: 3,
  deltaVersion: 0,
  columns: [
    { name: 'name', type: 'string', nullable: false },
    { name: 'mpg', type: 'double', nullable: true },
    { name: 'origin', type: 'string', nullable: true },
  ],
};
// Org A's dataset with a Column node of org B attached to it (an edge no writer should make).
const CORRUPT: DatasetInput = {
  name: 'corrupt',
  rowCount: 1,
  deltaVersion: 0,
  columns: [{ name: 'x', type: 'string', nullable: false }],
};
// Org B's own dataset.
const ROUTES: DatasetInput = {
  name: 'b_routes',
  rowCount: 2,
  deltaVersion: 0,
  columns: [{ name: 'airport', type: 'string', nullable: false }],
};

const token = (c: Claims) => signer.token(c);
const admin = (org = ORG_A) => token({ org, role: 'ADMIN' });
const gql = (query: string, tok?: string, variables?: Record<string, unknown>, at = url): Promise<GqlResult> =>
  postGraphql(at, query, tok, variables);

const logger = createLogger('semantic-test', 'error');

/** Every node of `org` with its properties and outgoing edges, as sorted JSON: equal before and after = nothing written. */
async function snapshot(org: string): Promise<string> {
  const { records } = await driver.executeQuery(
    `MATCH (n) WHERE n.orgId = $org
     OPTIONAL MATCH (n)-[r]->(m)
     WITH n, r, m ORDER BY type(r), m.orgId, m.name
     RETURN labels(n) AS labels, properties(n) AS props,
       collect([type(r), properties(r), m.orgId, labels(m), m.dataset, m.name]) AS out`,
    { org },
  );
  return JSON.stringify(records.map((r) => JSON.stringify(r.toObject())).sort());
}

/** The stored properties of a Column of org A. */
async function storedColumn(dataset: string, name: string, org = ORG_A): Promise<Record<string, unknown> | null> {
  const { records } = await driver.executeQuery(
    'MATCH (c:Column {orgId: $org, dataset: $dataset, name: $name}) RETURN properties(c) AS p',
    { org, dataset, name },
  );
  const p = records[0]?.get('p') as Record<string, unknown> | undefined;
  if (!p) return null;
  return Object.fromEntries(
    Object.entries(p).map(([k, v]) => [k, neo4j.isInt(v) ? (v as { toNumber(): number }).toNumber() : v]),
  );
}

beforeAll(async () => {
  neo = await connectNeo4j();
  driver = neo.driver;
  await ensureGraphSchema(driver);
  signer = await createTokenSigner();
  const authenticator = createAuthenticator({
    verifier: createTokenVerifier({ jwks: signer.publicKey }),
    principal: tokenRoleOnly,
  });
  const server = await createGraphServer({ driver, authenticator, port: 0, logger });
  servers.push(server);
  url = server.url;
  const recorded = await createGraphServer({ driver: recordingDriver(driver, seen), authenticator, port: 0, logger });
  servers.push(recorded);
  recordedUrl = recorded.url;

  await upsertDatasets(driver, ORG_A, [FLIGHTS, AIRPORTS, CARS, CORRUPT]);
  await upsertDatasets(driver, ORG_B, [ROUTES]);
  await writeColumnProfiles(driver, ORG_A, FLIGHTS, [
    {
      name: 'year',
      semanticType: 'TIME',
      synonyms: ['year'],
      distinctCount: 2,
      nullCount: 0,
      minValue: '2014',
      maxValue: '2015',
      isKey: false,
    },
    {
      name: 'origin',
      description: 'Airport the flight left from',
      semanticType: 'CATEGORY',
      synonyms: ['origin', 'origin airport'],
      sampleValues: ['SEA', 'SFO', 'LAX'],
      valuesComplete: true,
      distinctCount: 3,
      nullCount: 0,
      minValue: 'LAX',
      maxValue: 'SFO',
      isKey: false,
    },
    {
      name: 'dest',
      semanticType: 'CATEGORY',
      synonyms: ['dest'],
      sampleValues: ['SFO', 'SEA', 'JFK'],
      valuesComplete: true,
      distinctCount: 3,
      nullCount: 0,
      minValue: 'JFK',
      maxValue: 'SFO',
      isKey: false,
    },
    {
      name: 'dep_delay',
      semanticType: 'MEASURE',
      unit: 'minute',
      synonyms: ['dep delay', 'departure delay'],
      distinctCount: 5,
      nullCount: 1,
      minValue: '-5',
      maxValue: '120',
      isKey: false,
    },
  ]);
  await writeColumnProfiles(driver, ORG_A, AIRPORTS, [
    {
      name: 'iata',
      semanticType: 'IDENTIFIER',
      synonyms: ['iata'],
      sampleValues: ['JFK', 'LAX', 'SEA', 'SFO'],
      valuesComplete: true,
      distinctCount: 4,
      nullCount: 0,
      minValue: 'JFK',
      maxValue: 'SFO',
      isKey: true,
    },
    {
      name: 'city',
      semanticType: 'CATEGORY',
      synonyms: ['city'],
      sampleValues: ['Los Angeles', 'New York', 'San Francisco'],
      valuesComplete: true,
      distinctCount: 3,
      nullCount: 0,
      isKey: false,
    },
    {
      name: 'state',
      semanticType: 'GEO_CODE',
      geoKind: 'US_STATE',
      synonyms: ['state'],
      sampleValues: ['CA', 'WA', 'NY'],
      valuesComplete: true,
      aliasNames: ['California', 'Washington', 'New York'],
      aliasValues: ['CA', 'WA', 'NY'],
      distinctCount: 3,
      nullCount: 0,
      isKey: false,
    },
  ]);
  await writeColumnProfiles(driver, ORG_B, ROUTES, [
    { name: 'airport', semanticType: 'CATEGORY', synonyms: ['leaked b synonym'], isKey: true, distinctCount: 2 },
  ]);
  await writeReferences(driver, ORG_A, [
    {
      from: { dataset: 'flights', column: 'origin' },
      to: { dataset: 'airports', column: 'iata' },
      cardinality: 'MANY_TO_ONE',
      origin: 'PROFILED',
      coverage: 1,
    },
    {
      from: { dataset: 'flights', column: 'dest' },
      to: { dataset: 'airports', column: 'iata' },
      cardinality: 'MANY_TO_ONE',
      origin: 'PROFILED',
      coverage: 0.96,
    },
  ]);
  await driver.executeQuery(
    `MATCH (d:Dataset {orgId: $a, name: 'flights'})
     CREATE (d)-[:HAS_METRIC]->(:Metric {orgId: $a, dataset: 'flights', name: 'flight_count',
       description: 'Number of flights', aggregate: 'COUNT', column: null, synonyms: ['flights']})`,
    { a: ORG_A },
  );
  // Edges across organizations that no writer makes, to show that the rules, not the edges, keep org B out:
  // a Column and a Metric of B under A's datasets, a reference from A's column to B's, one from B's to A's key.
  await driver.executeQuery(
    `MATCH (corrupt:Dataset {orgId: $a, name: 'corrupt'}), (flights:Dataset {orgId: $a, name: 'flights'})
     CREATE (corrupt)-[:HAS_COLUMN]->(:Column {orgId: $b, dataset: 'corrupt', name: 'x', synonyms: ['leaked b synonym']})
     CREATE (flights)-[:HAS_METRIC]->(:Metric {orgId: $b, dataset: 'flights', name: 'leaked_metric',
       aggregate: 'COUNT', synonyms: []})`,
    { a: ORG_A, b: ORG_B },
  );
  await writeReferences(
    driver,
    ORG_A,
    [
      {
        from: { dataset: 'flights', column: 'year' },
        to: { dataset: 'b_routes', column: 'airport' },
        cardinality: 'MANY_TO_ONE',
        origin: 'PROFILED',
        coverage: 1,
      },
    ],
    ORG_B,
  );
  await writeReferences(
    driver,
    ORG_B,
    [
      {
        from: { dataset: 'b_routes', column: 'airport' },
        to: { dataset: 'airports', column: 'iata' },
        cardinality: 'MANY_TO_ONE',
        origin: 'PROFILED',
        coverage: 1,
      },
    ],
    ORG_A,
  );
});

afterAll(async () => {
  for (const s of servers) await s.close();
  if (driver) await deleteOrgs(driver, [ORG_A, ORG_B]);
  await neo?.close();
});

const COLUMN_FIELDS = `name type nullable description semanticType unit synonyms sampleValues valuesComplete
  distinctCount nullCount minValue maxValue isKey valueAliases { name value }
  references { dataset column cardinality origin coverage }
  referencedBy { dataset column cardinality origin coverage }`;
const READ_ALL = `{ datasets(where: { name: { in: ["airports", "cars", "flights", "corrupt"] } }, sort: [{ name: ASC }]) {
  name description
  columns { ${COLUMN_FIELDS} }
  metrics { name description aggregate column synonyms }
  relationships { from { dataset column } to { dataset column } cardinality origin coverage }
} }`;

/** A column as an unprofiled one reads: its name, type and nullability, nothing else. */
const plain = (name: string, type: string, nullable: boolean, more: Record<string, unknown> = {}) => ({
  name,
  type,
  nullable,
  description: null,
  semanticType: null,
  unit: null,
  synonyms: [],
  sampleValues: [],
  valuesComplete: null,
  distinctCount: null,
  nullCount: null,
  minValue: null,
  maxValue: null,
  isKey: null,
  valueAliases: [],
  references: null,
  referencedBy: [],
  ...more,
});
const ref = (dataset: string, column: string, origin = 'PROFILED', coverage: number | null = 1) => ({
  dataset,
  column,
  cardinality: 'MANY_TO_ONE',
  origin,
  coverage,
});
const rel = (from: string, to: string, origin = 'PROFILED', coverage: number | null = 1) => {
  const [fd, fc] = from.split('.');
  const [td, tc] = to.split('.');
  return {
    from: { dataset: fd, column: fc },
    to: { dataset: td, column: tc },
    cardinality: 'MANY_TO_ONE',
    origin,
    coverage,
  };
};

describe('reading the semantic layer', () => {
  it('returns each column’s semantics, metrics and references as written, unprofiled columns plain', async () => {
    const r = await gql(READ_ALL, await token({ org: ORG_A, role: 'VIEWER' }));
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.datasets).toEqual([
      {
        name: 'airports',
        description: null,
        columns: [
          plain('iata', 'string', false, {
            semanticType: 'IDENTIFIER',
            synonyms: ['iata'],
            sampleValues: ['JFK', 'LAX', 'SEA', 'SFO'],
            valuesComplete: true,
            distinctCount: 4,
            nullCount: 0,
            minValue: 'JFK',
            maxValue: 'SFO',
            isKey: true,
            // b_routes.airport (org B) references it too: not shown.
            referencedBy: [ref('flights', 'dest', 'PROFILED', 0.96), ref('flights', 'origin')],
          }),
          plain('city', 'string', false, {
            semanticType: 'CATEGORY',
            synonyms: ['city'],
            sampleValues: ['Los Angeles', 'New York', 'San Francisco'],
            valuesComplete: true,
            distinctCount: 3,
            nullCount: 0,
            isKey: false,
          }),
          plain('state', 'string', false, {
            semanticType: 'GEO_CODE',
            synonyms: ['state'],
            sampleValues: ['CA', 'WA', 'NY'],
            valuesComplete: true,
            distinctCount: 3,
            nullCount: 0,
            isKey: false,
            valueAliases: [
              { name: 'California', value: 'CA' },
              { name: 'Washington', value: 'WA' },
              { name: 'New York', value: 'NY' },
            ],
          }),
        ],
        metrics: [],
        relationships: [rel('flights.dest', 'airports.iata', 'PROFILED', 0.96), rel('flights.origin', 'airports.iata')],
      },
      {
        name: 'cars',
        description: null,
        columns: [plain('name', 'string', false), plain('mpg', 'double', true), plain('origin', 'string', true)],
        metrics: [],
        relationships: [],
      },
      // Its only Column node is org B's: filtered out by the rule, not shown as A's column.
      { name: 'corrupt', description: null, columns: [], metrics: [], relationships: [] },
      {
        name: 'flights',
        description: null,
        columns: [
          // Its reference to org B's b_routes.airport is not shown.
          plain('year', 'int', false, {
            semanticType: 'TIME',
            synonyms: ['year'],
            distinctCount: 2,
            nullCount: 0,
            minValue: '2014',
            maxValue: '2015',
            isKey: false,
          }),
          plain('origin', 'string', false, {
            description: 'Airport the flight left from',
            semanticType: 'CATEGORY',
            synonyms: ['origin', 'origin airport'],
            sampleValues: ['SEA', 'SFO', 'LAX'],
            valuesComplete: true,
            distinctCount: 3,
            nullCount: 0,
            minValue: 'LAX',
            maxValue: 'SFO',
            isKey: false,
            references: ref('airports', 'iata'),
          }),
          plain('dest', 'string', false, {
            semanticType: 'CATEGORY',
            synonyms: ['dest'],
            sampleValues: ['SFO', 'SEA', 'JFK'],
            valuesComplete: true,
            distinctCount: 3,
            nullCount: 0,
            minValue: 'JFK',
            maxValue: 'SFO',
            isKey: false,
            references: ref('airports', 'iata', 'PROFILED', 0.96),
          }),
          plain('dep_delay', 'double', true, {
            semanticType: 'MEASURE',
            unit: 'minute',
            synonyms: ['dep delay', 'departure delay'],
            distinctCount: 5,
            nullCount: 1,
            minValue: '-5',
            maxValue: '120',
            isKey: false,
          }),
          plain('carrier', 'string', true),
        ],
        // org B's leaked_metric under flights is not shown.
        metrics: [
          {
            name: 'flight_count',
            description: 'Number of flights',
            aggregate: 'COUNT',
            column: null,
            synonyms: ['flights'],
          },
        ],
        relationships: [rel('flights.dest', 'airports.iata', 'PROFILED', 0.96), rel('flights.origin', 'airports.iata')],
      },
    ]);
    expect(JSON.stringify(r.body)).not.toContain('leaked');
    expect(JSON.stringify(r.body)).not.toContain('b_routes');
  });

  it('is one Cypher query per request, with the org rule compiled in for every column, metric and reference', async () => {
    seen.length = 0;
    const r = await gql(READ_ALL, await token({ org: ORG_A, role: 'VIEWER' }), undefined, recordedUrl);
    expect(r.body.errors).toBeUndefined();
    const reads = seen.filter((s) => !s.query.includes('dbms.components()'));
    expect(reads.length).toBe(1);
    const { query, params } = reads[0]!;
    expect(params.jwt.org).toBe(ORG_A);
    // Each @cypher field's result (columns, metrics, references, referencedBy, and outgoing for relationships) is
    // filtered on its own orgId, then validated, before it is projected.
    const results = [...query.matchAll(/WITH (column|m|ref) AS (this\d+)\n/g)].map((m) => ({ from: m[1], as: m[2]! }));
    expect(results.map((r) => r.from).sort()).toEqual(['column', 'm', 'ref', 'ref', 'ref']);
    for (const { as } of results) {
      const rule = `($isAuthenticated = true AND ($jwt.org IS NOT NULL AND ${as}.orgId = $jwt.org))`;
      const tail = query.slice(query.indexOf(`AS ${as}\n`));
      expect({
        as,
        filtered: tail.includes(`WHERE ${rule}`),
        validated: tail.includes(`validate(NOT ${rule}`),
      }).toEqual({
        as,
        filtered: true,
        validated: true,
      });
      expect(tail.indexOf(`WHERE ${rule}`)).toBeLessThan(tail.indexOf(`WITH ${as} { `));
    }
  });

  it('bounds sampleValues(first:) to 1..1000 (and the operation to its cost budget)', async () => {
    const tok = await token({ org: ORG_A });
    const q = (first: number) =>
      gql(
        `{ datasets(where: { name: { eq: "airports" } }, limit: 1) { columns { sampleValues(first: ${first}) } } }`,
        tok,
      );
    const one = await q(1);
    expect(one.body.data?.datasets[0].columns).toEqual([
      { sampleValues: ['JFK'] },
      { sampleValues: ['Los Angeles'] },
      { sampleValues: ['CA'] },
    ]);
    // `columns` counts as 10 items in the cost (bounds.ts): 1 + 10 + 10 × 998 = 9 991 ≤ 10 000.
    expect((await q(998)).body.data?.datasets[0].columns[0]).toEqual({ sampleValues: ['JFK', 'LAX', 'SEA', 'SFO'] });
    expect(codes(await q(1000))).toEqual(['BAD_USER_INPUT']);
    for (const first of [0, -1]) {
      const bad = await q(first);
      expect({ first, data: bad.body.data, errors: bad.body.errors?.map((e) => [e.extensions, e.message]) }).toEqual({
        first,
        data: null,
        errors: [
          [
            { code: 'BAD_USER_INPUT', field: 'columns.sampleValues.first' },
            'columns.sampleValues.first must be between 1 and 1000.',
          ],
        ],
      });
    }
    // One column (a mutation's result): 1000 values at most.
    const admin1001 = await gql(
      'mutation { updateColumn(dataset: "airports", column: "city", input: { unit: null }) { sampleValues(first: 1001) } }',
      await admin(),
    );
    expect(admin1001.body.errors?.map((e) => [e.extensions, e.message])).toEqual([
      [{ code: 'BAD_USER_INPUT', field: 'sampleValues.first' }, 'sampleValues.first must be between 1 and 1000.'],
    ]);
    const admin1000 = await gql(
      'mutation { updateColumn(dataset: "airports", column: "city", input: { unit: null }) { sampleValues(first: 1000) } }',
      await admin(),
    );
    expect(admin1000.body).toEqual({
      data: { updateColumn: { sampleValues: ['Los Angeles', 'New York', 'San Francisco'] } },
    });
    await driver.executeQuery(
      "MATCH (c:Column {orgId: $a, dataset: 'airports', name: 'city'}) REMOVE c.edited, c.unit",
      { a: ORG_A },
    );
  });

  it('another organization sees none of it', async () => {
    const r = await gql(
      `{ datasets(sort: [{ name: ASC }]) { name columns { name synonyms references { dataset column } referencedBy { dataset column } }
         metrics { name } relationships { from { dataset column } to { dataset column } } } }`,
      await token({ org: ORG_B, role: 'OWNER' }),
    );
    // Only its own b_routes; its reference to org A's airports.iata is filtered out, and so is A's column that
    // references its airport.
    expect(r.body).toEqual({
      data: {
        datasets: [
          {
            name: 'b_routes',
            columns: [{ name: 'airport', synonyms: ['leaked b synonym'], references: null, referencedBy: [] }],
            metrics: [],
            relationships: [],
          },
        ],
      },
    });
  });
});

describe('who may edit', () => {
  const MUTATIONS = [
    'mutation { updateDataset(name: "flights", description: "x") { name } }',
    'mutation { updateColumn(dataset: "flights", column: "origin", input: { unit: "x" }) { name } }',
    'mutation { defineMetric(dataset: "flights", input: { name: "n", aggregate: COUNT }) { name } }',
    'mutation { deleteMetric(dataset: "flights", name: "flight_count") }',
    `mutation { defineRelationship(from: { dataset: "cars", column: "origin" }, to: { dataset: "airports", column: "iata" },
       cardinality: MANY_TO_ONE) { origin } }`,
    `mutation { deleteRelationship(from: { dataset: "flights", column: "origin" }, to: { dataset: "airports", column: "iata" }) }`,
  ];

  it('ANALYST and VIEWER get FORBIDDEN for every edit, and nothing is written', async () => {
    const before = await snapshot(ORG_A);
    for (const role of ['ANALYST', 'VIEWER'] as const) {
      const tok = await token({ org: ORG_A, role });
      for (const m of MUTATIONS) {
        const r = await gql(m, tok);
        expect({ m, role, data: r.body.data ?? null, errors: r.body.errors?.map((e) => e.extensions) }).toEqual({
          m,
          role,
          data: null,
          errors: [{ code: 'FORBIDDEN', requiredRole: 'ADMIN' }],
        });
      }
    }
    expect(await snapshot(ORG_A)).toBe(before);
  });

  it('another organization’s ADMIN gets NOT_FOUND for every edit of org A’s data, and nothing is written anywhere', async () => {
    const beforeA = await snapshot(ORG_A);
    const beforeB = await snapshot(ORG_B);
    const tok = await admin(ORG_B);
    const attempts = [
      ...MUTATIONS,
      // B's own column to A's key, and B's (wrong) edge to A's key.
      `mutation { defineRelationship(from: { dataset: "b_routes", column: "airport" }, to: { dataset: "airports", column: "iata" },
         cardinality: MANY_TO_ONE) { origin } }`,
      `mutation { deleteRelationship(from: { dataset: "b_routes", column: "airport" }, to: { dataset: "airports", column: "iata" }) }`,
    ];
    for (const m of attempts) {
      const r = await gql(m, tok);
      expect({ m, data: r.body.data ?? null, codes: codes(r) }).toEqual({ m, data: null, codes: ['NOT_FOUND'] });
    }
    expect(await snapshot(ORG_A)).toBe(beforeA);
    expect(await snapshot(ORG_B)).toBe(beforeB);
  });
});

describe('editing (ADMIN and OWNER)', () => {
  it('updateDataset sets and removes a description, recording the edit', async () => {
    const r = await gql(
      'mutation { updateDataset(name: "flights", description: "  Flights out of three airports.  ") { name description rowCount } }',
      await admin(),
    );
    expect(r.body).toEqual({
      data: { updateDataset: { name: 'flights', description: 'Flights out of three airports.', rowCount: 6 } },
    });
    const cleared = await gql(
      'mutation { updateDataset(name: "airports", description: null) { description } }',
      await token({ org: ORG_A, role: 'OWNER' }),
    );
    expect(cleared.body).toEqual({ data: { updateDataset: { description: null } } });
    const { records } = await driver.executeQuery(
      'MATCH (d:Dataset {orgId: $a}) WHERE d.name IN ["flights", "airports"] RETURN d.name AS n, d.description AS t, d.edited AS e ORDER BY n',
      { a: ORG_A },
    );
    expect(records.map((x) => x.toObject())).toEqual([
      { n: 'airports', t: null, e: ['description'] },
      { n: 'flights', t: 'Flights out of three airports.', e: ['description'] },
    ]);
  });

  it('updateColumn changes only the fields given and adds each to the column’s edited list', async () => {
    const tok = await admin();
    const r = await gql(
      `mutation($input: ColumnUpdateInput!) { updateColumn(dataset: "flights", column: "origin", input: $input) {
         name description semanticType unit synonyms valueAliases { name value } sampleValues(first: 2) distinctCount
         references { dataset column } } }`,
      tok,
      {
        input: {
          description: ' Departure airport (IATA code) ',
          semanticType: 'IDENTIFIER',
          unit: 'code',
          synonyms: ['  Origin   Airport ', 'FROM', 'from'],
          valueAliases: [{ name: ' Seattle ', value: 'SEA' }],
        },
      },
    );
    expect(r.body).toEqual({
      data: {
        updateColumn: {
          name: 'origin',
          description: 'Departure airport (IATA code)',
          semanticType: 'IDENTIFIER',
          unit: 'code',
          synonyms: ['origin airport', 'from'],
          valueAliases: [{ name: 'Seattle', value: 'SEA' }],
          sampleValues: ['SEA', 'SFO'],
          distinctCount: 3,
          references: { dataset: 'airports', column: 'iata' },
        },
      },
    });
    const again = await gql(
      'mutation { updateColumn(dataset: "flights", column: "origin", input: { unit: null }) { unit synonyms description } }',
      tok,
    );
    expect(again.body).toEqual({
      data: {
        updateColumn: {
          unit: null,
          synonyms: ['origin airport', 'from'],
          description: 'Departure airport (IATA code)',
        },
      },
    });
    // `name` alone (the demo loader's selection): the read-back finds the column by the caller's own `name`.
    const named = await gql(
      'mutation { updateColumn(dataset: "flights", column: "origin", input: { unit: null }) { name } }',
      tok,
    );
    expect(named.body).toEqual({ data: { updateColumn: { name: 'origin' } } });
    const stored = await storedColumn('flights', 'origin');
    expect(stored).toEqual({
      orgId: ORG_A,
      dataset: 'flights',
      name: 'origin',
      position: 1,
      type: 'string',
      nullable: false,
      deltaVersion: 3,
      description: 'Departure airport (IATA code)',
      semanticType: 'IDENTIFIER',
      synonyms: ['origin airport', 'from'],
      sampleValues: ['SEA', 'SFO', 'LAX'],
      valuesComplete: true,
      aliasNames: ['Seattle'],
      aliasValues: ['SEA'],
      distinctCount: 3,
      nullCount: 0,
      minValue: 'LAX',
      maxValue: 'SFO',
      isKey: false,
      edited: ['description', 'semanticType', 'unit', 'synonyms', 'aliasNames', 'aliasValues'],
    });
  });

  it('updateColumn on a column not profiled yet creates its Column node from the dataset; the others stay plain', async () => {
    const r = await gql(
      'mutation { updateColumn(dataset: "cars", column: "mpg", input: { semanticType: MEASURE, unit: "mpg" }) { name type nullable semanticType unit } }',
      await admin(),
    );
    expect(r.body).toEqual({
      data: { updateColumn: { name: 'mpg', type: 'double', nullable: true, semanticType: 'MEASURE', unit: 'mpg' } },
    });
    const cars = await gql(
      '{ datasets(where: { name: { eq: "cars" } }) { columns { name type semanticType unit } } }',
      await token({ org: ORG_A }),
    );
    expect(cars.body.data?.datasets[0].columns).toEqual([
      { name: 'name', type: 'string', semanticType: null, unit: null },
      { name: 'mpg', type: 'double', semanticType: 'MEASURE', unit: 'mpg' },
      { name: 'origin', type: 'string', semanticType: null, unit: null },
    ]);
    expect(await storedColumn('cars', 'mpg')).toEqual({
      orgId: ORG_A,
      dataset: 'cars',
      name: 'mpg',
      position: 1,
      type: 'double',
      nullable: true,
      semanticType: 'MEASURE',
      unit: 'mpg',
      edited: ['semanticType', 'unit'],
    });
  });

  it('updateColumn refuses an alias to a value the column does not hold, when its values are all known', async () => {
    const tok = await admin();
    const r = await gql(
      `mutation { updateColumn(dataset: "airports", column: "state",
         input: { valueAliases: [{ name: "California", value: "CA" }, { name: "Texas", value: "TX" }] }) { name } }`,
      tok,
    );
    expect(r.body.errors?.map((e) => [e.extensions, e.message])).toEqual([
      [
        { code: 'BAD_USER_INPUT', field: 'input.valueAliases[1].value' },
        'input.valueAliases[1].value "TX" is not a value of airports.state (the pipeline found all of its values); ' +
          'alias a value the column holds.',
      ],
    ]);
    expect((await storedColumn('airports', 'state'))?.['aliasNames']).toEqual(['California', 'Washington', 'New York']);
    // A column whose values are not known completely takes any value.
    const ok = await gql(
      'mutation { updateColumn(dataset: "cars", column: "origin", input: { valueAliases: [{ name: "United States", value: "USA" }] }) { valueAliases { name value } } }',
      tok,
    );
    expect(ok.body).toEqual({ data: { updateColumn: { valueAliases: [{ name: 'United States', value: 'USA' }] } } });
  });

  it('NOT_FOUND for a dataset or column that does not exist', async () => {
    const tok = await admin();
    for (const [m, message] of [
      ['updateDataset(name: "nope", description: "x") { name }', 'Dataset "nope" was not found.'],
      ['updateColumn(dataset: "nope", column: "x", input: { unit: "x" }) { name }', 'Column nope.x was not found.'],
      [
        'updateColumn(dataset: "flights", column: "nope", input: { unit: "x" }) { name }',
        'Column flights.nope was not found.',
      ],
      [
        'defineMetric(dataset: "nope", input: { name: "n", aggregate: COUNT }) { name }',
        'Dataset "nope" was not found.',
      ],
      ['deleteMetric(dataset: "flights", name: "nope")', 'Metric "nope" of dataset "flights" was not found.'],
    ] as const) {
      const r = await gql(`mutation { ${m} }`, tok);
      expect({ m, errors: r.body.errors?.map((e) => [e.extensions?.code, e.message]) }).toEqual({
        m,
        errors: [['NOT_FOUND', message]],
      });
    }
  });

  it('defineMetric creates, replaces and checks its column; deleteMetric deletes', async () => {
    const tok = await admin();
    const define = (input: string) =>
      gql(
        `mutation { defineMetric(dataset: "flights", input: ${input}) { name description aggregate column synonyms } }`,
        tok,
      );
    const created = await define(
      '{ name: "avg_delay", description: "Mean departure delay", aggregate: AVG, column: "dep_delay", synonyms: ["Average Delay"] }',
    );
    expect(created.body).toEqual({
      data: {
        defineMetric: {
          name: 'avg_delay',
          description: 'Mean departure delay',
          aggregate: 'AVG',
          column: 'dep_delay',
          synonyms: ['average delay'],
        },
      },
    });
    const replaced = await define('{ name: "avg_delay", aggregate: MEDIAN, column: "dep_delay" }');
    expect(replaced.body.data?.defineMetric).toEqual({
      name: 'avg_delay',
      description: null,
      aggregate: 'MEDIAN',
      column: 'dep_delay',
      synonyms: [],
    });
    const listed = await gql('{ datasets(where: { name: { eq: "flights" } }) { metrics { name aggregate } } }', tok);
    expect(listed.body.data?.datasets[0].metrics).toEqual([
      { name: 'avg_delay', aggregate: 'MEDIAN' },
      { name: 'flight_count', aggregate: 'COUNT' },
    ]);
    for (const [input, field, message] of [
      [
        '{ name: "s", aggregate: SUM, column: "origin" }',
        'input.column',
        'input.column: SUM needs a numeric column; flights.origin is string.',
      ],
      ['{ name: "s", aggregate: AVG }', 'input.column', 'input.column is required for AVG.'],
      [
        '{ name: "s", aggregate: MAX, column: "nope" }',
        'input.column',
        'input.column: dataset "flights" has no column "nope".',
      ],
    ] as const) {
      const r = await define(input);
      expect(r.body.errors?.map((e) => [e.extensions, e.message])).toEqual([
        [{ code: 'BAD_USER_INPUT', field }, message],
      ]);
    }
    const deleted = await gql('mutation { deleteMetric(dataset: "flights", name: "avg_delay") }', tok);
    expect(deleted.body).toEqual({ data: { deleteMetric: true } });
    const twice = await gql('mutation { deleteMetric(dataset: "flights", name: "avg_delay") }', tok);
    expect(codes(twice)).toEqual(['NOT_FOUND']);
    const { records } = await driver.executeQuery(
      'MATCH (m:Metric {orgId: $a, dataset: "flights"}) RETURN m.name AS n ORDER BY n',
      { a: ORG_A },
    );
    expect(records.map((x) => x.get('n'))).toEqual(['flight_count']);
  });

  it('defineMetric refuses a new metric beyond 100 per dataset, and still replaces one', async () => {
    await driver.executeQuery(
      `MATCH (d:Dataset {orgId: $a, name: 'cars'})
       UNWIND range(1, 100) AS i
       CREATE (d)-[:HAS_METRIC]->(:Metric {orgId: $a, dataset: 'cars', name: 'm' + i, aggregate: 'COUNT', synonyms: []})`,
      { a: ORG_A },
    );
    const tok = await admin();
    const extra = await gql(
      'mutation { defineMetric(dataset: "cars", input: { name: "m101", aggregate: COUNT }) { name } }',
      tok,
    );
    expect(extra.body.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
      ['BAD_USER_INPUT', 'Dataset "cars" has 100 metrics; at most 100 are allowed (delete one first).'],
    ]);
    const replace = await gql(
      'mutation { defineMetric(dataset: "cars", input: { name: "m7", aggregate: MAX, column: "mpg" }) { name aggregate column } }',
      tok,
    );
    expect(replace.body).toEqual({ data: { defineMetric: { name: 'm7', aggregate: 'MAX', column: 'mpg' } } });
    await driver.executeQuery("MATCH (m:Metric {orgId: $a, dataset: 'cars'}) DETACH DELETE m", { a: ORG_A });
  });

  it('defineRelationship makes a reference DEFINED (or creates one), needs a key of a compatible type, says why not', async () => {
    const tok = await admin();
    const define = (from: string, to: string, cardinality = 'MANY_TO_ONE') => {
      const [fd, fc] = from.split('.');
      const [td, tc] = to.split('.');
      return gql(
        `mutation { defineRelationship(from: { dataset: "${fd}", column: "${fc}" }, to: { dataset: "${td}", column: "${tc}" },
           cardinality: ${cardinality}) { from { dataset column } to { dataset column } cardinality origin coverage } }`,
        tok,
      );
    };
    // Both value lists are complete, so the coverage is measured again: SFO, SEA and JFK are all airports.iata
    // values (3 of 3), which replaces the profiled 0.96 of the fixture.
    const redefined = await define('flights.dest', 'airports.iata');
    expect(redefined.body).toEqual({
      data: { defineRelationship: rel('flights.dest', 'airports.iata', 'DEFINED', 1) },
    });
    const created = await define('cars.origin', 'airports.iata');
    expect(created.body).toEqual({
      data: { defineRelationship: rel('cars.origin', 'airports.iata', 'DEFINED', null) },
    });
    for (const [from, to, field, message] of [
      [
        'flights.dest',
        'airports.city',
        'to',
        'to (airports.city) is not a key: it has 3 distinct values for 4 rows, so a value may match several rows.',
      ],
      [
        'flights.origin',
        'cars.name',
        'to',
        'to (cars.name) is not a key as far as anyone knows: the pipeline has not profiled it yet. A reference needs a ' +
          'key column (no nulls, one row per value); define it once the table is profiled.',
      ],
      [
        'flights.year',
        'airports.iata',
        'from',
        'from (flights.year, int) and to (airports.iata, string) cannot be joined: both must be text, or both ' +
          'integers, or of the same type.',
      ],
      ['flights.dest', 'flights.dest', 'to', 'from and to are the same column; a reference joins two columns.'],
    ] as const) {
      const r = await define(from, to);
      expect({ from, to, errors: r.body.errors?.map((e) => [e.extensions, e.message]) }).toEqual({
        from,
        to,
        errors: [[{ code: 'BAD_USER_INPUT', field }, message]],
      });
    }
    for (const [from, to, message] of [
      ['flights.nope', 'airports.iata', 'Column flights.nope was not found.'],
      ['flights.dest', 'nope.iata', 'Column nope.iata was not found.'],
    ] as const) {
      const r = await define(from, to);
      expect(r.body.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['NOT_FOUND', message]]);
    }
    // Seen from the key: every column that references it, with its origin.
    const key = await gql(
      `{ datasets(where: { name: { eq: "airports" } }) { columns { name referencedBy { dataset column origin coverage } } } }`,
      tok,
    );
    expect(key.body.data?.datasets[0].columns[0]).toEqual({
      name: 'iata',
      referencedBy: [
        { dataset: 'cars', column: 'origin', origin: 'DEFINED', coverage: null },
        { dataset: 'flights', column: 'dest', origin: 'DEFINED', coverage: 1 },
        { dataset: 'flights', column: 'origin', origin: 'PROFILED', coverage: 1 },
      ],
    });
    expect((await storedColumn('flights', 'dest'))?.['edited']).toEqual(['references']);
    expect(await storedColumn('cars', 'origin')).toMatchObject({
      position: 2,
      type: 'string',
      edited: ['aliasNames', 'aliasValues', 'references'],
    });
  });

  describe('checks against the columns’ listed values: defineRelationship, value aliases (datasets of this block only)', () => {
    const col = (name: string) => ({ name, type: 'string', nullable: false });
    const ds = (name: string, rowCount: number, columns: string[]): DatasetInput => ({
      name,
      rowCount,
      deltaVersion: 0,
      columns: columns.map(col),
    });
    const STORES = ds('qa_stores', 3, ['store_id', 'city']);
    const SALES = ds('qa_sales', 6, ['store_id']);
    const MANAGERS = ds('qa_managers', 3, ['store_id']);
    const REGIONS = ds('qa_regions', 3, ['store_id']); // not profiled
    const STOCKS = ds('qa_stocks', 5, ['symbol']);
    const TICKETS = ds('qa_tickets', 20, ['code', 'alt']);
    const CODES = ds('qa_codes', 21, ['code']);
    const BIG = ds('qa_big', 50_000, ['store_id']);
    const CATALOG = ds('qa_catalog', 30_000, ['sku']);
    const PENGUINS = ds('qa_penguins', 344, ['species', 'island']);
    /** c01..c20 */
    const c = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `c${String(from + i).padStart(2, '0')}`);
    const key = (name: string, values: string[]) => ({
      name,
      sampleValues: values,
      valuesComplete: true,
      distinctCount: values.length,
      nullCount: 0,
      isKey: true,
    });

    beforeAll(async () => {
      await upsertDatasets(driver, ORG_A, [STORES, SALES, MANAGERS, REGIONS, STOCKS, TICKETS, CODES, BIG, CATALOG]);
      await upsertDatasets(driver, ORG_A, [PENGUINS]);
      await writeColumnProfiles(driver, ORG_A, STORES, [
        key('store_id', ['s1', 's2', 's3']),
        key('city', ['Austin', 'Boston', 'Chicago']),
      ]);
      await writeColumnProfiles(driver, ORG_A, SALES, [{ ...key('store_id', ['s1', 's2', 's3']), isKey: false }]);
      await writeColumnProfiles(driver, ORG_A, MANAGERS, [key('store_id', ['s3', 's1', 's2'])]);
      await writeColumnProfiles(driver, ORG_A, STOCKS, [key('symbol', ['AAPL', 'AMZN', 'IBM', 'MSFT', 'SEA'])]);
      await writeColumnProfiles(driver, ORG_A, TICKETS, [key('code', c(1, 20)), key('alt', [...c(1, 18), 'y1', 'y2'])]);
      await writeColumnProfiles(driver, ORG_A, CODES, [key('code', [...c(1, 19), 'x1', 'x2'])]);
      // Too many values to list: the pipeline listed a few (none of them a store) and says the list is not complete.
      await writeColumnProfiles(driver, ORG_A, BIG, [
        {
          name: 'store_id',
          sampleValues: ['zz1', 'zz2'],
          valuesComplete: false,
          distinctCount: 40_000,
          nullCount: 0,
          isKey: false,
        },
      ]);
      await writeColumnProfiles(driver, ORG_A, CATALOG, [
        { name: 'sku', sampleValues: ['k1'], valuesComplete: false, distinctCount: 30_000, nullCount: 0, isKey: true },
      ]);
      await writeColumnProfiles(driver, ORG_A, PENGUINS, [
        { name: 'species', sampleValues: ['Adelie', 'Gentoo', 'Chinstrap'], valuesComplete: true, distinctCount: 3 },
        { name: 'island', sampleValues: ['Biscoe', 'Dream'], valuesComplete: false, distinctCount: 3 },
      ]);
    });

    const define = async (from: string, to: string, cardinality = 'MANY_TO_ONE') => {
      const [fd, fc] = from.split('.');
      const [td, tc] = to.split('.');
      return gql(
        `mutation { defineRelationship(from: { dataset: "${fd}", column: "${fc}" }, to: { dataset: "${td}", column: "${tc}" },
           cardinality: ${cardinality}) { from { dataset column } to { dataset column } cardinality origin coverage } }`,
        await admin(),
      );
    };
    const defined = (from: string, to: string, cardinality: string, coverage: number | null) => ({
      data: { defineRelationship: { ...rel(from, to, 'DEFINED', coverage), cardinality } },
    });
    /** The stored edge's properties (null: no edge). */
    const storedEdge = async (from: string, to: string) => {
      const [fd, fc] = from.split('.');
      const [td, tc] = to.split('.');
      const { records } = await driver.executeQuery(
        `MATCH (:Column {orgId: $org, dataset: $fd, name: $fc})-[r:REFERENCES]->(:Column {orgId: $org, dataset: $td, name: $tc})
         RETURN properties(r) AS p`,
        { org: ORG_A, fd, fc, td, tc },
      );
      return (records[0]?.get('p') as Record<string, unknown> | undefined) ?? null;
    };
    const refused = async (from: string, to: string, cardinality: string, field: string, message: string) => {
      const r = await define(from, to, cardinality);
      expect({
        from,
        to,
        data: r.body.data ?? null,
        errors: r.body.errors?.map((e) => [e.extensions, e.message]),
      }).toEqual({
        from,
        to,
        data: null,
        errors: [[{ code: 'BAD_USER_INPUT', field }, message]],
      });
    };

    it('refuses ONE_TO_ONE from a profiled column that is not a key, saying why; takes it from a key or an unprofiled column', async () => {
      const before = await snapshot(ORG_A);
      // flights.origin: 3 distinct values (SEA, SFO, LAX) over 6 rows; qa_sales.store_id: 3 over 6.
      await refused(
        'flights.origin',
        'airports.iata',
        'ONE_TO_ONE',
        'cardinality',
        'cardinality ONE_TO_ONE needs from to be a key too, and from (flights.origin) is not a key: it has 3 distinct ' +
          'values for 6 rows, so a value may match several rows; use MANY_TO_ONE.',
      );
      await refused(
        'qa_sales.store_id',
        'qa_stores.store_id',
        'ONE_TO_ONE',
        'cardinality',
        'cardinality ONE_TO_ONE needs from to be a key too, and from (qa_sales.store_id) is not a key: it has 3 ' +
          'distinct values for 6 rows, so a value may match several rows; use MANY_TO_ONE.',
      );
      expect(await snapshot(ORG_A)).toBe(before);
      // The same pair as MANY_TO_ONE; a key to a key as ONE_TO_ONE (s3, s1, s2: 3 of 3 are stores); an unprofiled
      // column is taken at the caller's word, unmeasured.
      expect((await define('qa_sales.store_id', 'qa_stores.store_id')).body).toEqual(
        defined('qa_sales.store_id', 'qa_stores.store_id', 'MANY_TO_ONE', 1),
      );
      expect((await define('qa_managers.store_id', 'qa_stores.store_id', 'ONE_TO_ONE')).body).toEqual(
        defined('qa_managers.store_id', 'qa_stores.store_id', 'ONE_TO_ONE', 1),
      );
      expect((await define('qa_regions.store_id', 'qa_stores.store_id', 'ONE_TO_ONE')).body).toEqual(
        defined('qa_regions.store_id', 'qa_stores.store_id', 'ONE_TO_ONE', null),
      );
      expect(await storedEdge('qa_managers.store_id', 'qa_stores.store_id')).toEqual({
        cardinality: 'ONE_TO_ONE',
        origin: 'DEFINED',
        coverage: 1,
      });
    });

    it('measures the coverage when both value lists are complete, stores it, and refuses one below 0.95', async () => {
      const before = await snapshot(ORG_A);
      const rule =
        'a reference needs at least 95% of them (the rule the pipeline profiles references by), else a join along ' +
        'it loses or mismatches rows.';
      // Of AAPL, AMZN, IBM, MSFT, SEA only SEA is an airport (JFK, LAX, SEA, SFO).
      await refused(
        'qa_stocks.symbol',
        'airports.iata',
        'MANY_TO_ONE',
        'to',
        `only 1 of 5 values of qa_stocks.symbol (20%) are values of airports.iata; ${rule}`,
      );
      // s1, s2, s3 against Austin, Boston, Chicago.
      await refused(
        'qa_sales.store_id',
        'qa_stores.city',
        'MANY_TO_ONE',
        'to',
        `only 0 of 3 values of qa_sales.store_id (0%) are values of qa_stores.city; ${rule}`,
      );
      // c01..c18 are codes, y1 and y2 are not: 18 of 20.
      await refused(
        'qa_tickets.alt',
        'qa_codes.code',
        'MANY_TO_ONE',
        'to',
        `only 18 of 20 values of qa_tickets.alt (90%) are values of qa_codes.code; ${rule}`,
      );
      expect(await snapshot(ORG_A)).toBe(before);
      // c01..c19 of c01..c20: 19 of 20 = 0.95, the least accepted.
      expect((await define('qa_tickets.code', 'qa_codes.code')).body).toEqual(
        defined('qa_tickets.code', 'qa_codes.code', 'MANY_TO_ONE', 0.95),
      );
      expect(await storedEdge('qa_tickets.code', 'qa_codes.code')).toEqual({
        cardinality: 'MANY_TO_ONE',
        origin: 'DEFINED',
        coverage: 0.95,
      });
      // `to`'s values not known completely (only k1 listed of 30,000): not measured, accepted, coverage null.
      expect((await define('qa_tickets.code', 'qa_catalog.sku')).body).toEqual(
        defined('qa_tickets.code', 'qa_catalog.sku', 'MANY_TO_ONE', null),
      );
      expect(await storedEdge('qa_tickets.code', 'qa_catalog.sku')).toEqual({
        cardinality: 'MANY_TO_ONE',
        origin: 'DEFINED',
      });
      // `from`'s values not known completely (its partial list zz1, zz2 would cover 0%): accepted unmeasured, and a
      // profiled edge keeps the coverage the pipeline measured.
      await writeReferences(driver, ORG_A, [
        {
          from: { dataset: 'qa_big', column: 'store_id' },
          to: { dataset: 'qa_stores', column: 'store_id' },
          cardinality: 'MANY_TO_ONE',
          origin: 'PROFILED',
          coverage: 0.97,
        },
      ]);
      expect((await define('qa_big.store_id', 'qa_stores.store_id')).body).toEqual(
        defined('qa_big.store_id', 'qa_stores.store_id', 'MANY_TO_ONE', 0.97),
      );
    });

    it('updateColumn refuses an alias whose name is another value of the column (it would hide it)', async () => {
      const tok = await admin();
      const aliases = (column: string, list: string) =>
        gql(
          `mutation { updateColumn(dataset: "qa_penguins", column: "${column}", input: { valueAliases: [${list}] }) {
             valueAliases { name value } } }`,
          tok,
        );
      const before = await snapshot(ORG_A);
      for (const [column, list, i, message] of [
        [
          'species',
          '{ name: "Gentoo", value: "Adelie" }',
          0,
          'input.valueAliases[0].name "Gentoo" is itself a value of qa_penguins.species ("Gentoo"); as an alias of ' +
            '"Adelie" it would hide that value. Use a name the column does not hold.',
        ],
        // Ignoring case, as the analyst matches names.
        [
          'species',
          '{ name: "adelie penguin", value: "Adelie" }, { name: "CHINSTRAP", value: "Gentoo" }',
          1,
          'input.valueAliases[1].name "CHINSTRAP" is itself a value of qa_penguins.species ("Chinstrap"); as an ' +
            'alias of "Gentoo" it would hide that value. Use a name the column does not hold.',
        ],
        // A listed value of a column whose list is not complete is a value all the same.
        [
          'island',
          '{ name: "Dream", value: "Torgersen" }',
          0,
          'input.valueAliases[0].name "Dream" is itself a value of qa_penguins.island ("Dream"); as an alias of ' +
            '"Torgersen" it would hide that value. Use a name the column does not hold.',
        ],
      ] as const) {
        const r = await aliases(column, list);
        expect({
          list,
          data: r.body.data ?? null,
          errors: r.body.errors?.map((e) => [e.extensions, e.message]),
        }).toEqual({
          list,
          data: null,
          errors: [[{ code: 'BAD_USER_INPUT', field: `input.valueAliases[${i}].name` }, message]],
        });
      }
      expect(await snapshot(ORG_A)).toBe(before);
      // A name equal to its own value (ignoring case) hides nothing; names the column does not hold are fine.
      expect(
        (await aliases('species', '{ name: "adelie", value: "Adelie" }, { name: "Gentoo penguin", value: "Gentoo" }'))
          .body,
      ).toEqual({
        data: {
          updateColumn: {
            valueAliases: [
              { name: 'adelie', value: 'Adelie' },
              { name: 'Gentoo penguin', value: 'Gentoo' },
            ],
          },
        },
      });
      expect((await aliases('island', '{ name: "Torgersen Island", value: "Torgersen" }')).body).toEqual({
        data: { updateColumn: { valueAliases: [{ name: 'Torgersen Island', value: 'Torgersen' }] } },
      });
    });
  });

  it('deleteRelationship deletes a reference and keeps the pipeline from profiling it again', async () => {
    const tok = await admin();
    const del = () =>
      gql(
        'mutation { deleteRelationship(from: { dataset: "flights", column: "origin" }, to: { dataset: "airports", column: "iata" }) }',
        tok,
      );
    expect((await del()).body).toEqual({ data: { deleteRelationship: true } });
    expect(codes(await del())).toEqual(['NOT_FOUND']);
    expect((await storedColumn('flights', 'origin'))?.['edited']).toEqual([
      'description',
      'semanticType',
      'unit',
      'synonyms',
      'aliasNames',
      'aliasValues',
      'references',
    ]);
    const r = await gql(
      '{ datasets(where: { name: { eq: "flights" } }) { relationships { from { column } to { dataset column } origin } } }',
      tok,
    );
    expect(r.body.data?.datasets[0].relationships).toEqual([
      { from: { column: 'dest' }, to: { dataset: 'airports', column: 'iata' }, origin: 'DEFINED' },
    ]);
  });

  it('a mutation is three Cypher statements: the check and the write in one transaction, and the read back', async () => {
    seen.length = 0;
    const r = await gql(
      'mutation { updateColumn(dataset: "flights", column: "dep_delay", input: { unit: "min" }) { unit } }',
      await admin(),
      undefined,
      recordedUrl,
    );
    expect(r.body).toEqual({ data: { updateColumn: { unit: 'min' } } });
    const statements = seen.filter((s) => !s.query.includes('dbms.components()'));
    expect(statements.map((s) => s.params.org ?? s.params.jwt?.org)).toEqual([ORG_A, ORG_A, ORG_A]);
    expect(statements.map((s) => /MERGE|SET/.test(s.query))).toEqual([false, true, false]);
  });
});

describe('bounds', () => {
  const long = (n: number) => 'x'.repeat(n);
  it('refuses input beyond the bounds with BAD_USER_INPUT naming the field, before anything is written', async () => {
    const before = await snapshot(ORG_A);
    const tok = await admin();
    const col = (input: string) => `updateColumn(dataset: "flights", column: "dest", input: ${input}) { name }`;
    const NAME_RULE = 'must be a name: a lower-case letter, then letters, digits or _ (63 at most).';
    const aliases = (l: unknown) => ({ defs: '($l: [ValueAliasInput!])', vars: { l } });
    const strings = (l: unknown) => ({ defs: '($l: [String!])', vars: { l } });
    const text = (t: string) => ({ defs: '($t: String!)', vars: { t } });
    const none = { defs: '', vars: undefined };
    const cases: [string, { defs: string; vars: Record<string, unknown> | undefined }, string, string][] = [
      ['updateDataset(name: "Flights", description: "x") { name }', none, 'name', `name ${NAME_RULE}`],
      [
        'updateDataset(name: "flights") { name }',
        none,
        'description',
        'description is required (null removes the description).',
      ],
      [
        'updateDataset(name: "flights", description: $t) { name }',
        text(long(2001)),
        'description',
        'description has 2001 characters; at most 2000 are allowed.',
      ],
      [col('{}'), none, 'input', 'input changes nothing: give at least one of its fields.'],
      [
        col('{ semanticType: null }'),
        none,
        'input.semanticType',
        'input.semanticType cannot be null; leave it out to keep it.',
      ],
      [
        col('{ synonyms: null }'),
        none,
        'input.synonyms',
        'input.synonyms cannot be null; give an empty list to remove them all.',
      ],
      [col('{ unit: $t }'), text(long(51)), 'input.unit', 'input.unit has 51 characters; at most 50 are allowed.'],
      [
        col('{ description: $t }'),
        text(long(2001)),
        'input.description',
        'input.description has 2001 characters; at most 2000 are allowed.',
      ],
      [
        col('{ synonyms: $l }'),
        strings(Array.from({ length: 51 }, (_, i) => `s${i}`)),
        'input.synonyms',
        'input.synonyms has 51 synonyms; at most 50 are allowed.',
      ],
      [
        col('{ synonyms: $l }'),
        strings(['ok', long(101)]),
        'input.synonyms[1]',
        'input.synonyms[1] has 101 characters; at most 100 are allowed.',
      ],
      [col('{ synonyms: $l }'), strings(['ok', '  ']), 'input.synonyms[1]', 'input.synonyms[1] is empty.'],
      [
        col('{ valueAliases: $l }'),
        aliases(Array.from({ length: 201 }, (_, i) => ({ name: `n${i}`, value: 'SFO' }))),
        'input.valueAliases',
        'input.valueAliases has 201 aliases; at most 200 are allowed.',
      ],
      [
        col('{ valueAliases: $l }'),
        aliases([{ name: long(101), value: 'SFO' }]),
        'input.valueAliases[0].name',
        'input.valueAliases[0].name has 101 characters; at most 100 are allowed.',
      ],
      [
        col('{ valueAliases: $l }'),
        aliases([{ name: 'a', value: long(1001) }]),
        'input.valueAliases[0].value',
        'input.valueAliases[0].value has 1001 characters; at most 1000 are allowed.',
      ],
      [
        col('{ valueAliases: $l }'),
        aliases([
          { name: 'San Francisco', value: 'SFO' },
          { name: 'san  francisco', value: 'SEA' },
        ]),
        'input.valueAliases[1]',
        'input.valueAliases[1].name "san francisco" is also input.valueAliases[0].name; each name may alias one value.',
      ],
      [
        'updateColumn(dataset: "flights", column: "Dest", input: { unit: "x" }) { name }',
        none,
        'column',
        `column ${NAME_RULE}`,
      ],
      [
        'defineMetric(dataset: "flights", input: { name: "9x", aggregate: COUNT }) { name }',
        none,
        'input.name',
        `input.name ${NAME_RULE}`,
      ],
      [
        'defineMetric(dataset: "flights", input: { name: "n", aggregate: COUNT, description: $t }) { name }',
        text(long(2001)),
        'input.description',
        'input.description has 2001 characters; at most 2000 are allowed.',
      ],
      ['deleteMetric(dataset: "flights", name: "N")', none, 'name', `name ${NAME_RULE}`],
      [
        'defineRelationship(from: { dataset: "flights", column: "de st" }, to: { dataset: "airports", column: "iata" }, cardinality: MANY_TO_ONE) { origin }',
        none,
        'from.column',
        `from.column ${NAME_RULE}`,
      ],
      [
        'deleteRelationship(from: { dataset: "flights", column: "dest" }, to: { dataset: $t, column: "iata" })',
        text(long(64)),
        'to.dataset',
        `to.dataset ${NAME_RULE}`,
      ],
    ];
    for (const [m, { defs, vars }, field, message] of cases) {
      const r = await gql(`mutation${defs} { ${m} }`, tok, vars);
      expect({ m, data: r.body.data ?? null, errors: r.body.errors?.map((e) => [e.extensions, e.message]) }).toEqual({
        m,
        data: null,
        errors: [[{ code: 'BAD_USER_INPUT', field }, message]],
      });
    }
    expect(await snapshot(ORG_A)).toBe(before);
    // At the bounds: accepted.
    const edge = await gql(
      'mutation($t: String, $l: [String!]) { updateColumn(dataset: "flights", column: "dest", input: { description: $t, synonyms: $l }) { synonyms } }',
      tok,
      { t: long(2000), l: Array.from({ length: 50 }, (_, i) => `${long(96)}${String(i).padStart(4, '0')}`) },
    );
    expect(edge.body.data?.updateColumn.synonyms.length).toBe(50);
  });

  it('names follow the lake’s table-name rule', () => {
    expect(NAME_PATTERN.source).toBe(TABLE_NAME_PATTERN.source);
  });
});

describe('data layer', () => {
  it('ensureGraphSchema makes Column and Metric unique per (orgId, dataset, name) with an orgId index', async () => {
    const { records } = await driver.executeQuery(
      'SHOW INDEXES YIELD name, labelsOrTypes, properties, owningConstraint ' +
        'WHERE labelsOrTypes[0] IN ["Column", "Metric"] ' +
        'RETURN name, labelsOrTypes[0] AS label, properties, owningConstraint IS NOT NULL AS unique ORDER BY name',
    );
    expect(records.map((r) => r.toObject())).toEqual([
      { name: 'column_org', label: 'Column', properties: ['orgId'], unique: false },
      {
        name: 'column_org_dataset_name_unique',
        label: 'Column',
        properties: ['orgId', 'dataset', 'name'],
        unique: true,
      },
      { name: 'metric_org', label: 'Metric', properties: ['orgId'], unique: false },
      {
        name: 'metric_org_dataset_name_unique',
        label: 'Metric',
        properties: ['orgId', 'dataset', 'name'],
        unique: true,
      },
    ]);
  });
});
