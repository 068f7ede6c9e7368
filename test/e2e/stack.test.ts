// End to end: the whole stack (four subgraphs + gateway as processes) over the real engines started by
// test/global-setup.ts, the demo organization loaded through the real pipeline. Expected values are
// computed here from the vega-datasets source files, independently of DataPilot's code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import neo4j from 'neo4j-driver';
import WebSocket from 'ws';
import { SignJWT, generateKeyPair, importJWK, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_KEY_ENCRYPTION_KEY, openPrivateJwk } from '@datapilot/auth';
import { REPO_ROOT, type Stack } from '../../scripts/stack.ts';
import { createDatabase, startTestStack } from '../support/stack.ts';
import { codes, collectSubscription, gql } from './client.ts';

const DATA = path.join(REPO_ROOT, 'node_modules', 'vega-datasets', 'data');
const csvRows = (f: string) =>
  readFileSync(path.join(DATA, f), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(1);
const jsonRows = (f: string) => (JSON.parse(readFileSync(path.join(DATA, f), 'utf8')) as unknown[]).length;

/** Demo tables and their row counts, counted from the source files. */
const EXPECTED_ROWS: Record<string, number> = {
  seattle_weather: csvRows('seattle-weather.csv').length,
  stocks: csvRows('stocks.csv').length,
  airports: csvRows('airports.csv').length,
  cars: jsonRows('cars.json'),
  penguins: jsonRows('penguins.json'),
  gapminder: jsonRows('gapminder.json'),
  unemployment_across_industries: jsonRows('unemployment-across-industries.json'),
  flights: jsonRows('flights-20k.json'),
};

/** Average temp_max over 2014 rows of seattle-weather.csv, by hand. */
function avgTempMax2014(): number {
  const rows = csvRows('seattle-weather.csv').map((l) => l.split(','));
  const vals = rows.filter((r) => r[0]!.startsWith('2014-')).map((r) => Number(r[2]));
  return vals.reduce((a, b) => a + b, 0) / vals.length;
}

let stack: Stack;
let dbUrl: string;
let gw: string;
let ws: string;
let tokenA: string;
let tokenB: string;

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken organization { id } } }`;
const SIGNUP = `mutation($i: SignupInput!) { signup(input: $i) { accessToken organization { id } } }`;

beforeAll(async () => {
  // A database of its own on the test server, so that this file starts from nothing.
  dbUrl = await createDatabase('e2e');
  stack = await startTestStack('e2e', dbUrl, {
    demo: { email: 'demo@example.com', password: 'correct-horse-battery-9', orgName: 'Demo Org' },
  });
  gw = `${stack.gatewayUrl}/graphql`;
  ws = gw.replace('http', 'ws');
  const a = await gql(gw, LOGIN, { e: 'demo@example.com', p: 'correct-horse-battery-9' });
  tokenA = a.data!.login.accessToken;
  const b = await gql(gw, SIGNUP, {
    i: { email: 'bob@other.example', password: 'another-long-pass-42', orgName: 'Other Org' },
  });
  tokenB = b.data!.signup.accessToken;
}, 900_000);

afterAll(async () => {
  await stack?.stop();
});

/**
 * Signs claims with the auth subgraph's real signing key, read from its table: a token exactly as the
 * auth subgraph would sign it, but with the claims (and `exp`) the test chooses.
 */
async function signWithAuthKey(claims: {
  sub: string;
  org: string;
  role: string;
  sid: string;
  iat: number;
  exp: number;
}) {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  // The key signing now; its private half is sealed with AUTH_KEY_ENCRYPTION_KEY (the development key when unset).
  const row = (
    await db.query(
      `SELECT kid, private_key_sealed FROM auth.signing_keys WHERE activates_at <= now() ORDER BY activates_at DESC LIMIT 1`,
    )
  ).rows[0];
  await db.end();
  const kek = Buffer.from(process.env.AUTH_KEY_ENCRYPTION_KEY || DEVELOPMENT_KEY_ENCRYPTION_KEY, 'base64');
  const jwk = openPrivateJwk(kek, row.kid, row.private_key_sealed);
  const { sub, iat, exp, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'EdDSA', kid: row.kid })
    .setIssuer('datapilot-auth')
    .setAudience('datapilot')
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(await importJWK(jwk, 'EdDSA'));
}

describe('demo organization through the gateway', () => {
  it('lists the eight demo tables with the row counts of their source files', async () => {
    const r = await gql(gw, `{ lakeTables { name rowCount version columns { name type } } }`, {}, tokenA);
    expect(r.errors).toBeUndefined();
    const got = Object.fromEntries(r.data!.lakeTables.map((t: any) => [t.name, t.rowCount]));
    expect(got).toEqual(EXPECTED_ROWS);
    const sw = r.data!.lakeTables.find((t: any) => t.name === 'seattle_weather');
    expect(sw.columns.map((c: any) => c.name)).toEqual([
      'date',
      'precipitation',
      'temp_max',
      'temp_min',
      'wind',
      'weather',
    ]);
    expect(sw.columns[0].type.toLowerCase()).toBe('date');
  });

  it('answers a development-set question, streamed over the gateway subscription', async () => {
    const conv = await gql(gw, `mutation { createConversation(title: "weather") { id } }`, {}, tokenA);
    const sent = await gql(
      gw,
      `mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { userMessage { id } assistantMessage { id status } } }`,
      { c: conv.data!.createConversation.id, t: 'What was the average temp_max in Seattle in 2014?' },
      tokenA,
    );
    expect(sent.errors).toBeUndefined();
    const id = sent.data!.sendMessage.assistantMessage.id;
    const sub = await collectSubscription(
      ws,
      `subscription($id: ID!) { messageEvents(messageId: $id) { kind textDelta message { status text sql result { columns { name type } rows } } } }`,
      { id },
      { authorization: `Bearer ${tokenA}` },
    );
    expect(sub.errors).toEqual([]);
    const last = sub.events.at(-1).data.messageEvents;
    expect(last.message.status).toBe('COMPLETE');
    const cells = (last.message.result.rows as unknown[][]).flat().filter((v) => typeof v === 'number') as number[];
    expect(cells.some((v) => Math.abs(v - avgTempMax2014()) <= 0.01)).toBe(true);
    expect(Math.abs(avgTempMax2014() - 16.9959)).toBeLessThan(0.001);
    expect(last.message.sql).toMatch(/seattle_weather/);
    // The same answer is stored: message(id) over HTTP.
    const stored = await gql(gw, `query($id: ID!) { message(id: $id) { status text } }`, { id }, tokenA);
    expect(stored.data!.message).toEqual({ status: 'COMPLETE', text: last.message.text });
  });

  it('shows the demo datasets in the graph with their row counts', async () => {
    const r = await gql(gw, `{ datasets { name rowCount } }`, {}, tokenA);
    expect(r.errors).toBeUndefined();
    expect(Object.fromEntries(r.data!.datasets.map((d: any) => [d.name, d.rowCount]))).toEqual(EXPECTED_ROWS);
  });
});

describe('a new organization brings its own data (issue 5, done when)', () => {
  const PENGUINS = readFileSync(path.join(DATA, 'penguins.json'));
  const penguins = JSON.parse(PENGUINS.toString('utf8')) as { Species: string }[];
  /** Species → count, from the file. */
  const bySpecies = penguins.reduce<Record<string, number>>(
    (m, r) => ({ ...m, [r.Species]: (m[r.Species] ?? 0) + 1 }),
    {},
  );
  let tokenC: string;
  let runId: string;

  beforeAll(async () => {
    const c = await gql(gw, SIGNUP, {
      i: { email: 'carol@third.example', password: 'third-org-pass-77', orgName: 'Third Org' },
    });
    tokenC = c.data!.signup.accessToken;
  });

  it('uploads penguins.json (createUpload, PUT, completeUpload) and follows its run to SUCCESS over the gateway', async () => {
    const created = await gql(
      gw,
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { url headers expiresAt upload { id status } } }`,
      { i: { table: 'penguins', fileName: 'penguins.json', format: 'JSON', sizeBytes: PENGUINS.length } },
      tokenC,
    );
    expect(created.errors).toBeUndefined();
    const ticket = created.data!.createUpload;
    expect(ticket.upload.status).toBe('PENDING');
    const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: PENGUINS });
    expect(put.status).toBe(200);
    const started = Date.now();
    const done = await gql(
      gw,
      `mutation($id: ID!) { completeUpload(id: $id) { status run { id } } }`,
      { id: ticket.upload.id },
      tokenC,
    );
    expect(done.data!.completeUpload.status).toBe('UPLOADED');
    runId = done.data!.completeUpload.run.id;
    const sub = await collectSubscription(
      ws,
      `subscription($id: ID!) { pipelineRunEvents(runId: $id) { sequence run { state deltaVersion tasks { name state }
         quality { rowsRead rowsWritten rowsRejected nullCounts { column nulls } } upload { status } } } }`,
      { id: runId },
      { authorization: `Bearer ${tokenC}` },
      300_000,
    );
    expect(sub.errors).toEqual([]);
    const seq = sub.events.map((e) => e.data.pipelineRunEvents.sequence);
    expect([...seq].sort((a, b) => a - b)).toEqual(seq);
    const last = sub.events.at(-1).data.pipelineRunEvents.run;
    process.stderr.write(`[e2e] upload-to-queryable: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    expect(last).toMatchObject({ state: 'SUCCESS', deltaVersion: 0, upload: { status: 'LOADED' } });
    expect(last.tasks.map((t: any) => t.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(last.quality).toMatchObject({ rowsRead: 344, rowsWritten: 344, rowsRejected: 0 });
    const tables = await gql(gw, `{ lakeTables { name rowCount version } }`, {}, tokenC);
    expect(tables.data!.lakeTables).toEqual([{ name: 'penguins', rowCount: penguins.length, version: 0 }]);
  }, 360_000);

  it('relays a subscription whose root field sits in a fragment', async () => {
    const sub = await collectSubscription(
      ws,
      `subscription($id: ID!) { ...Run } fragment Run on Subscription { pipelineRunEvents(runId: $id) { run { state } } }`,
      { id: runId },
      { authorization: `Bearer ${tokenC}` },
      30_000,
    );
    expect(sub.errors).toEqual([]);
    expect(sub.events.map((e) => e.data.pipelineRunEvents.run.state)).toEqual(['SUCCESS']);
  });

  it('sees the dataset and its lineage in the graph', async () => {
    const r = await gql(
      gw,
      `{ datasets { name rowCount deltaVersion runs { id upload { fileName format } } runsConnection { edges { properties { deltaVersion } } } } }`,
      {},
      tokenC,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.datasets).toEqual([
      {
        name: 'penguins',
        rowCount: 344,
        deltaVersion: 0,
        runs: [{ id: runId, upload: { fileName: 'penguins.json', format: 'JSON' } }],
        runsConnection: { edges: [{ properties: { deltaVersion: 0 } }] },
      },
    ]);
  });

  it('gets a correct streamed answer to "How many penguins are there of each species?"', async () => {
    const conv = await gql(gw, `mutation { createConversation(title: "penguins") { id } }`, {}, tokenC);
    const sent = await gql(
      gw,
      `mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { assistantMessage { id } } }`,
      { c: conv.data!.createConversation.id, t: 'How many penguins are there of each species?' },
      tokenC,
    );
    const sub = await collectSubscription(
      ws,
      `subscription($id: ID!) { messageEvents(messageId: $id) { kind message { status text result { rows } } } }`,
      { id: sent.data!.sendMessage.assistantMessage.id },
      { authorization: `Bearer ${tokenC}` },
    );
    const kinds = sub.events.map((e) => e.data.messageEvents.kind);
    expect(kinds).toContain('TEXT_DELTA');
    const last = sub.events.at(-1).data.messageEvents.message;
    expect(last.status).toBe('COMPLETE');
    const rows = last.result.rows as unknown[][];
    for (const [species, n] of Object.entries(bySpecies))
      expect(
        rows.some((r) => r.includes(species) && r.includes(n)),
        `${species} ${n}`,
      ).toBe(true);
  }, 120_000);

  it('the demo organization sees nothing of it, and it sees nothing of the demo organization', async () => {
    const a = await gql(gw, `{ lakeTables { name } uploads { edges { node { id } } } }`, {}, tokenA);
    expect(codes(await gql(gw, `query($id: ID!) { pipelineRun(id: $id) { id } }`, { id: runId }, tokenA))).toEqual([
      'NOT_FOUND',
    ]);
    const aUploads = a.data!.uploads.edges.map((e: any) => e.node.id);
    expect(aUploads).not.toContain(runId);
    const c = await gql(gw, `{ lakeTables { name } datasets { name } }`, {}, tokenC);
    expect(c.data).toEqual({ lakeTables: [{ name: 'penguins' }], datasets: [{ name: 'penguins' }] });
    // The demo org's own penguins table is its own: still the demo file's rows, version 0.
    const own = await gql(gw, `{ lakeTable(name: "penguins") { rowCount version } }`, {}, tokenA);
    expect(own.data!.lakeTable).toEqual({ rowCount: 344, version: 0 });
    const sub = await collectSubscription(
      ws,
      `subscription($id: ID!) { pipelineRunEvents(runId: $id) { sequence } }`,
      { id: runId },
      { authorization: `Bearer ${tokenA}` },
      15_000,
    );
    expect(sub.events.flatMap((e) => e.data?.pipelineRunEvents ?? [])).toEqual([]);
    const errs = [...sub.events.flatMap((e) => e.errors ?? []), ...sub.errors.flat()].map(
      (e: any) => e?.extensions?.code,
    );
    expect(errs).toContain('NOT_FOUND');
  });
});

describe('a second organization sees nothing of the first', () => {
  it('has no tables, datasets, conversations or messages of the demo org', async () => {
    const tables = await gql(gw, `{ lakeTables { name } }`, {}, tokenB);
    expect(tables.data!.lakeTables).toEqual([]);
    const one = await gql(gw, `{ lakeTable(name: "seattle_weather") { name rowCount } }`, {}, tokenB);
    expect(codes(one)).toEqual(['NOT_FOUND']);
    const ds = await gql(
      gw,
      `{ datasets { name } datasetsConnection { totalCount edges { node { name } } } }`,
      {},
      tokenB,
    );
    expect(ds.data!.datasets).toEqual([]);
    expect(ds.data!.datasetsConnection).toEqual({ totalCount: 0, edges: [] });
    const meB = await gql(gw, `{ me { organization { id name } } }`, {}, tokenB);
    expect(meB.data!.me.organization.name).toBe('Other Org');
    expect(meB.data!.me.organization.id).not.toBe(stack.demo.orgId);

    const conv = await gql(gw, `mutation { createConversation(title: "mine") { id } }`, {}, tokenA);
    const convId = conv.data!.createConversation.id;
    const sent = await gql(
      gw,
      `mutation($c: ID!) { sendMessage(conversationId: $c, text: "How many cars are in the cars table?") { assistantMessage { id } } }`,
      { c: convId },
      tokenA,
    );
    const msgId = sent.data!.sendMessage.assistantMessage.id;

    expect(codes(await gql(gw, `query($id: ID!) { conversation(id: $id) { id } }`, { id: convId }, tokenB))).toEqual([
      'NOT_FOUND',
    ]);
    expect(codes(await gql(gw, `query($id: ID!) { message(id: $id) { id text } }`, { id: msgId }, tokenB))).toEqual([
      'NOT_FOUND',
    ]);
    const sendIntoA = await gql(
      gw,
      `mutation($c: ID!) { sendMessage(conversationId: $c, text: "hi") { userMessage { id } } }`,
      { c: convId },
      tokenB,
    );
    expect(codes(sendIntoA)).toEqual(['NOT_FOUND']);
    const sub = await collectSubscription(
      ws,
      `subscription($id: ID!) { messageEvents(messageId: $id) { kind } }`,
      { id: msgId },
      { authorization: `Bearer ${tokenB}` },
      15_000,
    );
    expect(sub.events.flatMap((e) => e.data?.messageEvents ?? [])).toEqual([]);
    const errCodes = [...sub.events.flatMap((e) => e.errors ?? []), ...sub.errors.flat()].map(
      (e: any) => e?.extensions?.code,
    );
    expect(errCodes).toContain('NOT_FOUND');
    const convs = await gql(gw, `{ conversations { edges { node { id } } } }`, {}, tokenB);
    expect(convs.data!.conversations.edges).toEqual([]);
  });
});

describe('one graph across subgraphs (issue 7, section 1)', () => {
  /** One request: the organization, its members, each table with rows, dataset description and last run, my last conversation. */
  const ONE_GRAPH = `query OneGraph {
    members(first: 100) { edges { node { role user { email } } } }
    me {
      organization {
        id
        name
        tables { name version rowCount dataset { description table { name } } lastRun { id state triggeredBy { email } } }
        datasets { name table { rowCount } }
        conversations(first: 1) {
          edges { node { id title owner { email } messages(first: 1) { edges { node { role author { email } conversation { id } } } } } }
        }
        pipelineRuns(first: 2) { edges { node { id lakeTable { name } upload { uploadedBy { email } } } } }
      }
    }
  }`;

  it('answers values that match each store, in one request through the gateway', async () => {
    const orgId = stack.demo.orgId;
    // Neo4j: the catalog's description of one table, written as the semantic layer stores it.
    const neo = neo4j.driver(process.env.NEO4J_URI!, neo4j.auth.basic('neo4j', process.env.NEO4J_PASSWORD!));
    await neo.executeQuery(`MATCH (d:Dataset {orgId: $org, name: 'cars'}) SET d.description = $text`, {
      org: orgId,
      text: 'Cars of the 1970s and early 1980s with their fuel economy.',
    });
    await neo.close();
    const conv = await gql(gw, `mutation { createConversation(title: "one graph") { id } }`, {}, tokenA);
    const convId = conv.data!.createConversation.id;
    await gql(
      gw,
      `mutation($c: ID!) { sendMessage(conversationId: $c, text: "How many cars?") { userMessage { id } } }`,
      { c: convId },
      tokenA,
    );

    const r = await gql(gw, ONE_GRAPH, {}, tokenA);
    expect(r.errors).toBeUndefined();
    const org = r.data!.me.organization;

    // PostgreSQL (auth): the members and their roles.
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const members = await db.query(
      `SELECT u.email, m.role FROM auth.memberships m JOIN auth.users u ON u.id = m.user_id WHERE m.org_id = $1`,
      [orgId],
    );
    // PostgreSQL (lake): the newest run of each table, who triggered it, the two newest runs overall.
    const lastRuns = await db.query(
      `SELECT DISTINCT ON (table_name) table_name, id, state, triggered_by FROM lake.pipeline_runs
        WHERE org_id = $1 ORDER BY table_name, created_at DESC, id DESC`,
      [orgId],
    );
    const newest = await db.query(
      `SELECT r.id, r.table_name, u.created_by FROM lake.pipeline_runs r JOIN lake.uploads u ON u.id = r.upload_id
        WHERE r.org_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT 2`,
      [orgId],
    );
    const demoUser = await db.query(`SELECT id FROM auth.users WHERE email = 'demo@example.com'`);
    await db.end();

    expect(org.id).toBe(orgId);
    expect(r.data!.members.edges.map((e: any) => [e.node.user.email, e.node.role]).sort()).toEqual(
      members.rows.map((m) => [m.email, m.role]).sort(),
    );
    // Spark/Delta: the row counts are the source files' (counted above from vega-datasets).
    expect(Object.fromEntries(org.tables.map((t: any) => [t.name, t.rowCount]))).toEqual(EXPECTED_ROWS);
    const runOf = new Map(lastRuns.rows.map((x) => [x.table_name, x]));
    for (const t of org.tables) {
      const stored = runOf.get(t.name)!;
      expect(t.lastRun).toEqual({ id: stored.id, state: stored.state, triggeredBy: { email: 'demo@example.com' } });
      expect(stored.triggered_by).toBe(demoUser.rows[0].id);
      expect(t.dataset.table).toEqual({ name: t.name });
    }
    expect(org.tables.find((t: any) => t.name === 'cars').dataset.description).toBe(
      'Cars of the 1970s and early 1980s with their fuel economy.',
    );
    // stocks: as the demo loader wrote it through updateDataset (scripts/lib/demo-semantics.ts); penguins: nobody did.
    expect(org.tables.find((t: any) => t.name === 'stocks').dataset.description).toBe(
      'Monthly closing prices of five technology stocks, 2000-2010.',
    );
    expect(org.tables.find((t: any) => t.name === 'penguins').dataset.description).toBeNull();
    expect(Object.fromEntries(org.datasets.map((d: any) => [d.name, d.table.rowCount]))).toEqual(EXPECTED_ROWS);
    // PostgreSQL (chat): the newest conversation is the one just created, its first message the question, by me.
    expect(org.conversations.edges).toEqual([
      {
        node: {
          id: convId,
          title: 'one graph',
          owner: { email: 'demo@example.com' },
          messages: {
            edges: [{ node: { role: 'USER', author: { email: 'demo@example.com' }, conversation: { id: convId } } }],
          },
        },
      },
    ]);
    expect(
      org.pipelineRuns.edges.map((e: any) => [e.node.id, e.node.lakeTable.name, e.node.upload.uploadedBy.email]),
    ).toEqual(newest.rows.map((x) => [x.id, x.table_name, 'demo@example.com']));
  });

  it('another organization resolves none of it: its own organization is empty, references to the demo org are null', async () => {
    const r = await gql(gw, ONE_GRAPH, {}, tokenB);
    expect(r.errors).toBeUndefined();
    const org = r.data!.me.organization;
    expect(org.name).toBe('Other Org');
    expect([org.tables, org.datasets, org.conversations.edges, org.pipelineRuns.edges]).toEqual([[], [], [], []]);
    expect(r.data!.members.edges.map((e: any) => e.node.user.email)).toEqual(['bob@other.example']);
  });
});

describe('every root field of the composed schema is guarded', () => {
  /** Declared public: the only fields that answer without a token. */
  const PUBLIC = new Set(['Mutation.signup', 'Mutation.login', 'Mutation.refreshToken']);

  type TypeRef = { kind: string; name: string | null; ofType: TypeRef | null };
  let schema: any;
  beforeAll(async () => {
    const r = await gql(
      gw,
      `{ __schema { queryType { name } mutationType { name } subscriptionType { name }
         types { name kind enumValues { name } fields { name args { name type { ...T } } type { ...T } } inputFields { name type { ...T } } } } }
       fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`,
    );
    schema = r.data!.__schema;
  });

  const named = (t: TypeRef): TypeRef => (t.ofType ? named(t.ofType) : t);
  const typeString = (t: TypeRef): string =>
    t.kind === 'NON_NULL' ? `${typeString(t.ofType!)}!` : t.kind === 'LIST' ? `[${typeString(t.ofType!)}]` : t.name!;
  function dummy(t: TypeRef): unknown {
    if (t.kind === 'NON_NULL') return dummy(t.ofType!);
    if (t.kind === 'LIST') return [];
    const type = schema.types.find((x: any) => x.name === t.name);
    if (t.kind === 'ENUM') return type.enumValues[0].name;
    if (t.kind === 'INPUT_OBJECT')
      return Object.fromEntries(
        type.inputFields.filter((f: any) => f.type.kind === 'NON_NULL').map((f: any) => [f.name, dummy(f.type)]),
      );
    return { ID: randomUUID(), String: 'x-probe', Int: 1, Float: 1, Boolean: false }[t.name!] ?? 'x';
  }
  /** One operation per root field, with required arguments filled and `__typename` selected. */
  function operations() {
    const ops: { coord: string; kind: string; query: string; variables: Record<string, unknown> }[] = [];
    for (const [kind, root] of [
      ['query', schema.queryType?.name],
      ['mutation', schema.mutationType?.name],
      ['subscription', schema.subscriptionType?.name],
    ] as const) {
      if (!root) continue;
      const type = schema.types.find((t: any) => t.name === root);
      for (const f of type.fields) {
        if (f.name.startsWith('_')) continue;
        const req = f.args.filter((a: any) => a.type.kind === 'NON_NULL');
        const vars = Object.fromEntries(req.map((a: any) => [a.name, dummy(a.type)]));
        const decl = req.map((a: any) => `$${a.name}: ${typeString(a.type)}`).join(', ');
        const args = req.map((a: any) => `${a.name}: $${a.name}`).join(', ');
        const leaf = ['SCALAR', 'ENUM'].includes(named(f.type).kind);
        ops.push({
          coord: `${root}.${f.name}`,
          kind,
          query: `${kind}${decl ? `(${decl})` : ''} { ${f.name}${args ? `(${args})` : ''}${leaf ? '' : ' { __typename }'} }`,
          variables: vars,
        });
      }
    }
    return ops;
  }

  async function forgedTokens() {
    const now = Math.floor(Date.now() / 1000);
    const claims = { org: randomUUID(), role: 'OWNER', sid: randomUUID() };
    const expired = await signWithAuthKey({ ...claims, sub: randomUUID(), iat: now - 3600, exp: now - 600 });
    // Bad signature: the same header and claims, signed by a key that is not in the JWKS.
    const other = await generateKeyPair('EdDSA');
    const badSig = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: decodeProtectedHeader(tokenA).kid! })
      .setIssuer('datapilot-auth')
      .setAudience('datapilot')
      .setSubject(randomUUID())
      .setExpirationTime(now + 600)
      .sign(other.privateKey);
    return { expired, badSig };
  }

  it('rejects every non-public root field without a token, with a bad signature and when expired', async () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(8);
    const { expired, badSig } = await forgedTokens();
    const failures: string[] = [];
    for (const op of ops) {
      for (const [label, token] of [
        ['no token', undefined],
        ['bad signature', badSig],
        ['expired', expired],
      ] as const) {
        // A public field runs whatever the credential (a client that always attaches its token can still log in).
        if (PUBLIC.has(op.coord)) continue;
        let code: unknown;
        if (op.kind === 'subscription') {
          const r = await collectSubscription(
            ws,
            op.query,
            op.variables,
            token ? { authorization: `Bearer ${token}` } : {},
            10_000,
          );
          code = r.closeCode === 4401 ? 'UNAUTHENTICATED' : `close ${r.closeCode}, events ${JSON.stringify(r.events)}`;
        } else {
          const r = await gql(gw, op.query, op.variables, token);
          code = codes(r)[0];
          if (r.data && Object.values(r.data).some((v) => v !== null)) code = `data leaked: ${JSON.stringify(r.data)}`;
        }
        if (code !== 'UNAUTHENTICATED') failures.push(`${op.coord} (${label}): ${String(code)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('bounds and bad requests at the gateway', () => {
  it('refuses too wide and ambiguous operations with BAD_USER_INPUT before any subgraph runs', async () => {
    const wide = `{ ${Array.from({ length: 501 }, (_, i) => `a${i}: me { role }`).join(' ')} }`;
    const r2 = await gql(gw, wide, {}, tokenA);
    expect(codes(r2)).toEqual(['BAD_USER_INPUT']);
    expect(r2.errors![0]!.message).toContain('1002 fields');
    const r3 = await gql(gw, `query A { me { role } } query B { me { role } }`, {}, tokenA);
    expect([r3.status, codes(r3)]).toEqual([400, ['BAD_USER_INPUT']]);
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const res = await fetch(gw, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenA}` },
      body: JSON.stringify({ query: `{ me { role } }`, variables: { pad: 'x'.repeat(1_100_000) } }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses queries and invalid documents over WebSocket with codes', async () => {
    const auth = { authorization: `Bearer ${tokenA}` };
    const q = await collectSubscription(ws, `# a comment first\nquery { lakeTables { name } }`, {}, auth, 10_000);
    expect(q.events).toEqual([]);
    expect(q.errors.flat().map((e: any) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const bad = await collectSubscription(ws, `subscription { noSuchField }`, {}, auth, 10_000);
    expect(bad.errors.flat().map((e: any) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});

describe('bad input answers a code, never INTERNAL', () => {
  it('NUL in an email and deeply nested variables answer codes, also on public fields', async () => {
    const nulLogin = await gql(gw, LOGIN, { e: 'a\u0000@example.com', p: 'whatever-long-1' });
    expect(codes(nulLogin)).toEqual(['UNAUTHENTICATED']);
    expect(nulLogin.errors![0]!.message).toBe('Invalid email or password.');
    const nulSignup = await gql(gw, SIGNUP, {
      i: { email: 'a\u0000@example.com', password: 'another-long-pass-42', orgName: 'N' },
    });
    expect(codes(nulSignup)).toEqual(['BAD_USER_INPUT']);
    expect((nulSignup.errors![0]!.extensions as any).field).toBe('email');
    const nest = (n: number): unknown => (n === 0 ? { name: { eq: 'x' } } : { NOT: nest(n - 1) });
    const deep = await gql(gw, `query($w: DatasetWhere) { datasets(where: $w) { name } }`, { w: nest(200) }, tokenA);
    expect(codes(deep)).toEqual(['BAD_USER_INPUT']);
  });

  it('a literal a subgraph refuses is GRAPHQL_VALIDATION_FAILED, not an outage', async () => {
    const r = await gql(gw, `{ datasets(where: { updatedAt: { gt: "yesterday" } }) { name } }`, {}, tokenA);
    expect(codes(r)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('registers no automatic persisted query: a hash in no manifest answers PERSISTED_QUERY_NOT_FOUND, before and after its text ran', async () => {
    const query = '{ __typename }';
    const hash = createHash('sha256').update(query).digest('hex');
    const byHash = () =>
      fetch(gw, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
      });
    const before = await byHash();
    expect([before.status, ((await before.json()) as any).errors[0].extensions.code]).toEqual([
      400,
      'PERSISTED_QUERY_NOT_FOUND',
    ]);
    // The text itself runs (development: trusted documents off) but nothing is remembered under its hash.
    const withText = await gql(gw, query, {});
    expect(withText.data).toEqual({ __typename: 'Query' });
    const after = await byHash();
    expect([after.status, ((await after.json()) as any).errors[0].extensions.code]).toEqual([
      400,
      'PERSISTED_QUERY_NOT_FOUND',
    ]);
  });

  it('over WebSocket, a bad variable is BAD_USER_INPUT and an oversized frame closes the socket (1009)', async () => {
    const auth = { authorization: `Bearer ${tokenA}` };
    const q = `subscription($id: ID!) { messageEvents(messageId: $id) { kind } }`;
    const missing = await collectSubscription(ws, q, {}, auth, 10_000);
    expect(missing.errors.flat().map((e: any) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const big = await collectSubscription(ws, q, { id: 'x'.repeat(1_100_000) }, auth, 10_000);
    expect(big.closeCode).toBe(1009);
  });
});

describe('the gateway WebSocket edge', () => {
  it('closes an authenticated socket with 4401 when its token expires', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signWithAuthKey({
      sub: stack.demo.userId,
      org: stack.demo.orgId,
      role: 'OWNER',
      sid: decodeJwt(tokenA).sid as string, // the demo user's live session: only the expiry is forged
      iat: now,
      exp: now + 3,
    });
    const socket = new WebSocket(ws, 'graphql-transport-ws');
    const seen: string[] = [];
    const closed = new Promise<{ code: number; afterMs: number }>((resolve) => {
      socket.on('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
      );
      socket.on('message', (m) => seen.push(JSON.parse(String(m)).type));
      socket.on('close', (code) => resolve({ code, afterMs: Date.now() - now * 1000 }));
    });
    const { code, afterMs } = await closed;
    expect(seen).toEqual(['connection_ack']);
    expect(code).toBe(4401);
    expect(afterMs).toBeGreaterThanOrEqual(2_000);
    expect(afterMs).toBeLessThan(10_000);
  });
});

/** Asks `question` through the gateway (a new conversation unless `conversationId`), follows the answer to its end. */
async function ask(token: string, question: string, conversationId?: string) {
  const conv =
    conversationId ??
    (await gql(gw, `mutation($t: String!) { createConversation(title: $t) { id } }`, { t: question }, token)).data!
      .createConversation.id;
  const sent = await gql(
    gw,
    `mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { assistantMessage { id } } }`,
    { c: conv, t: question },
    token,
  );
  expect(sent.errors).toBeUndefined();
  const sub = await collectSubscription(
    ws,
    `subscription($id: ID!) { messageEvents(messageId: $id) { kind message { status text sql chart errorCode
       plan { summary table grouping json } result { columns { name type } rows } } } }`,
    { id: sent.data!.sendMessage.assistantMessage.id },
    { authorization: `Bearer ${token}` },
    120_000,
  );
  expect(sub.errors).toEqual([]);
  const kinds = sub.events.map((e) => e.data.messageEvents.kind as string);
  return { conversationId: conv as string, kinds, message: sub.events.at(-1).data.messageEvents.message };
}
const numbersOf = (m: { result: { rows: unknown[][] } | null }) =>
  (m.result?.rows ?? []).flat().filter((v): v is number => typeof v === 'number');

describe('the analyst through the gateway (issue 8)', () => {
  // Precipitation per month of a year, summed by hand from seattle-weather.csv (date,precipitation,...).
  const monthly = (year: string) => {
    const sums = new Map<number, number>();
    for (const r of csvRows('seattle-weather.csv').map((l) => l.split(',')))
      if (r[0]!.startsWith(`${year}-`))
        sums.set(Number(r[0]!.slice(5, 7)), (sums.get(Number(r[0]!.slice(5, 7))) ?? 0) + Number(r[1]));
    return sums;
  };
  const MONTHS = [
    'January',
    'February',
    'March',
    'April',
    'May',
    'June',
    'July',
    'August',
    'September',
    'October',
    'November',
    'December',
  ];

  it('a follow-up changes the year, then groups by month, with a chart of the twelve months', async () => {
    const total = (y: string) => [...monthly(y).values()].reduce((a, b) => a + b, 0);
    const first = await ask(tokenA, 'What was the total precipitation in 2012?');
    expect(numbersOf(first.message).some((v) => Math.abs(v - total('2012')) < 0.05)).toBe(true);
    const second = await ask(tokenA, 'And in 2015?', first.conversationId);
    expect(second.message.status).toBe('COMPLETE');
    expect(numbersOf(second.message).some((v) => Math.abs(v - total('2015')) < 0.05)).toBe(true);
    expect(second.message.plan.summary).toMatch(/2015/);
    const third = await ask(tokenA, 'Show it by month', first.conversationId);
    expect(third.message.result.rows.map((r: unknown[]) => r[0])).toEqual(MONTHS);
    const sums = monthly('2015');
    third.message.result.rows.forEach((r: unknown[], i: number) =>
      expect(Math.abs((r[1] as number) - sums.get(i + 1)!)).toBeLessThan(0.05),
    );
    expect(third.kinds).toEqual(expect.arrayContaining(['PLAN', 'SQL', 'RESULT', 'CHART', 'COMPLETE']));
    expect(third.kinds.indexOf('PLAN')).toBeLessThan(third.kinds.indexOf('SQL'));
    const chart = third.message.chart;
    expect(chart.$schema).toBe('https://vega.github.io/schema/vega-lite/v5.json');
    expect(chart.data.values.map((v: Record<string, unknown>) => v.month)).toEqual(MONTHS);
  }, 300_000);

  it('a join along the profiled reference: the destination city with the most flights', async () => {
    // By hand: flights-20k.json destinations → airports.csv city (quoted CSV fields parsed by the test's own split).
    const airports = new Map<string, string>();
    for (const line of csvRows('airports.csv')) {
      const f = line.match(/("([^"]*)"|[^,]*)(,|$)/g)!.map((x) => x.replace(/,$/, '').replace(/^"|"$/g, ''));
      airports.set(f[0]!, f[2]!);
    }
    const flights = JSON.parse(readFileSync(path.join(DATA, 'flights-20k.json'), 'utf8')) as { destination: string }[];
    const perCity = new Map<string, number>();
    for (const f of flights) {
      const city = airports.get(f.destination);
      if (city) perCity.set(city, (perCity.get(city) ?? 0) + 1);
    }
    const [bestCity, bestCount] = [...perCity.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const a = await ask(tokenA, 'Which destination city receives the most flights?');
    expect(a.message.sql).toMatch(/JOIN `airports`/);
    expect(a.message.result.rows[0]).toEqual([bestCity, bestCount]);
    expect(a.message.chart.mark).toBeDefined();
  }, 120_000);

  it('abstains on a value the data does not hold, naming it, with no number', async () => {
    const a = await ask(tokenA, 'How many flights departed from Atlantis?');
    expect(a.message.status).toBe('COMPLETE');
    expect(a.message.result).toBeNull();
    expect(a.message.text).toMatch(/Atlantis/);
    expect(a.message.chart).toBeNull();
  }, 120_000);

  it("a new organization's upload is answered through the semantic layer its pipeline wrote; the demo organization gets no number of it", async () => {
    const d = await gql(gw, SIGNUP, {
      i: { email: 'dora@orders.example', password: 'orders-pass-long-77', orgName: 'Orders Inc' },
    });
    const tokenD = d.data!.signup.accessToken as string;
    const orgD = d.data!.signup.organization.id as string;
    const regions = ['North', 'South', 'East', 'West'];
    const rows = Array.from({ length: 60 }, (_, i) => ({
      id: i + 1,
      region: regions[i % 4]!,
      amount: ((i * 37) % 50) + 10.25,
      day: `2024-0${1 + (i % 3)}-${String(1 + (i % 28)).padStart(2, '0')}`,
    }));
    const csv =
      'order_id,region,amount,ordered_on\n' +
      rows.map((r) => `${r.id},${r.region},${r.amount},${r.day}`).join('\n') +
      '\n';
    const body = Buffer.from(csv);
    const created = await gql(
      gw,
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { url headers upload { id } } }`,
      { i: { table: 'orders', fileName: 'orders.csv', format: 'CSV', sizeBytes: body.length } },
      tokenD,
    );
    const ticket = created.data!.createUpload;
    expect((await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body })).status).toBe(200);
    const done = await gql(
      gw,
      `mutation($id: ID!) { completeUpload(id: $id) { run { id } } }`,
      { id: ticket.upload.id },
      tokenD,
    );
    const sub = await collectSubscription(
      ws,
      `subscription($id: ID!) { pipelineRunEvents(runId: $id) { run { state } } }`,
      { id: done.data!.completeUpload.run.id },
      { authorization: `Bearer ${tokenD}` },
      300_000,
    );
    expect(sub.events.at(-1).data.pipelineRunEvents.run.state).toBe('SUCCESS');
    // The pipeline's profile is in Neo4j under org D: region is a category with its four values, all of them.
    const neo = neo4j.driver(stack.neo4jUri, neo4j.auth.basic('neo4j', process.env.NEO4J_PASSWORD!));
    try {
      const { records } = await neo.executeQuery(
        `MATCH (:Dataset {orgId: $org, name: 'orders'})-[:HAS_COLUMN]->(c:Column {orgId: $org, name: 'region'})
         RETURN c.semanticType AS t, c.sampleValues AS v, c.valuesComplete AS complete`,
        { org: orgD },
      );
      expect(records.map((r) => [r.get('t'), [...r.get('v')].sort(), r.get('complete')])).toEqual([
        ['CATEGORY', [...regions].sort(), true],
      ]);
    } finally {
      await neo.close();
    }
    const north = rows.filter((r) => r.region === 'North').reduce((s, r) => s + r.amount, 0);
    const q = 'What is the total amount of orders in the North region?';
    const a = await ask(tokenD, q);
    expect(a.message.plan.json).toMatchObject({ table: 'orders', aggregate: 'SUM' });
    expect(numbersOf(a.message).some((v) => Math.abs(v - north) < 1e-6)).toBe(true);
    // The demo organization has no orders table: it gets an abstention and no number of org D's.
    const other = await ask(tokenA, q);
    expect(other.message.result).toBeNull();
    expect(other.message.text).not.toMatch(new RegExp(String(Math.round(north))));
    // And org D has no demo tables: a demo question gets no number either.
    const demoQ = await ask(tokenD, 'What was the highest AAPL stock price?');
    expect(demoQ.message.result).toBeNull();
  }, 420_000);
});

// Last: it stops the lake subgraph for the rest of the file.
describe('a killed service', () => {
  it('answers UPSTREAM_UNAVAILABLE for its fields while the other subgraphs keep answering', async () => {
    await stack.stopService('lake');
    const r = await gql(gw, `{ lakeTables { name } }`, {}, tokenA);
    expect(codes(r)).toEqual(['UPSTREAM_UNAVAILABLE']);
    const me = await gql(gw, `{ me { role } }`, {}, tokenA);
    expect(me.data?.me).toEqual({ role: 'OWNER' });
    expect(JSON.stringify(r)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/i);
  });
});
