/**
 * Uploads and pipeline runs through the lake subgraph, against the real engines: presigned PUTs into S3Proxy with
 * plain `fetch`, runs of the real `datapilot_ingest` DAG on the test run's Airflow (Spark Connect over s3a, Neo4j),
 * and the gold table read back through the lake. Expected values are computed here from the vega-datasets files.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VEGA_DATA_DIR } from '../../chat/test/support/demo-catalog.ts';
import { codes, startLakeHarness, type LakeHarness } from './support/harness.ts';

const PENGUINS = readFileSync(`${VEGA_DATA_DIR}/penguins.json`);
const penguinRows = JSON.parse(PENGUINS.toString('utf8')) as Record<string, unknown>[];
/** Species → count, from the file. */
const speciesCounts = penguinRows.reduce<Record<string, number>>((acc, r) => {
  acc[String(r.Species)] = (acc[String(r.Species)] ?? 0) + 1;
  return acc;
}, {});
/** The gold column of each source key (snake_case, as bronze_to_gold names them) and its nulls in the file. */
const PENGUIN_COLUMNS: [string, string][] = [
  ['Species', 'species'],
  ['Island', 'island'],
  ['Beak Length (mm)', 'beak_length_mm'],
  ['Beak Depth (mm)', 'beak_depth_mm'],
  ['Flipper Length (mm)', 'flipper_length_mm'],
  ['Body Mass (g)', 'body_mass_g'],
  ['Sex', 'sex'],
];
const nullsInFile = (key: string) =>
  penguinRows.filter((r) => r[key] === null || r[key] === 'NA' || r[key] === '').length;

let h: LakeHarness;
const ORG_A = randomUUID();
const ORG_B = randomUUID();
let tokenA: string;
let tokenB: string;

beforeAll(async () => {
  h = await startLakeHarness();
  tokenA = await h.sign(ORG_A, { role: 'ADMIN' });
  tokenB = await h.sign(ORG_B, { role: 'ADMIN' });
}, 300_000);

afterAll(async () => {
  await h?.close();
});

const CREATE = `mutation($input: CreateUploadInput!) {
  createUpload(input: $input) { url headers expiresAt upload { id table fileName format mode sizeBytes status } }
}`;
const COMPLETE = `mutation($id: ID!) { completeUpload(id: $id) { id status error { code message } run { id state } } }`;
const RUN_FIELDS = `id table state mode reason dagRunId deltaVersion waitingReason
  error { code message }
  tasks { name state tries }
  quality { rowsRead rowsWritten rowsRejected nullCounts { column nulls } rejected { line value reason } }
  upload { id status fileName error { code } }`;
const RUN = `query($id: ID!) { pipelineRun(id: $id) { ${RUN_FIELDS} } }`;
const EVENTS = `subscription($id: ID!) { pipelineRunEvents(runId: $id) { sequence run { ${RUN_FIELDS} } } }`;

type Ticket = { url: string; headers: Record<string, string>; upload: { id: string } };

async function createUpload(token: string, input: Record<string, unknown>) {
  return h.gql<{ createUpload: Ticket }>(CREATE, { input }, token);
}

/** createUpload + PUT (plain fetch, the ticket's headers) + completeUpload; returns the upload (= run) id. */
async function upload(
  token: string,
  table: string,
  body: Buffer,
  format: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const created = await createUpload(token, {
    table,
    fileName: `${table}.data`,
    format,
    sizeBytes: body.length,
    ...extra,
  });
  expect(created.errors).toBeUndefined();
  const ticket = created.data!.createUpload;
  const put = await fetch(ticket.url, {
    method: 'PUT',
    headers: { 'Content-Type': ticket.headers['Content-Type']! },
    body,
  });
  expect(put.status).toBe(200);
  const done = await h.gql(COMPLETE, { id: ticket.upload.id }, token);
  expect(done.errors).toBeUndefined();
  expect(done.data!.completeUpload.status).toBe('UPLOADED');
  return ticket.upload.id;
}

/** Follows the run over graphql-ws until it ends; returns every event's run. */
async function follow(token: string, runId: string) {
  const { events, errors } = await h.subscribe(EVENTS, { id: runId }, token);
  expect(errors).toEqual([]);
  return events.map((e) => e.data.pipelineRunEvents.run);
}

const tables = async (token: string) =>
  (await h.gql(`{ lakeTables { name version rowCount } }`, {}, token)).data!.lakeTables as {
    name: string;
    version: number;
    rowCount: number;
  }[];

describe('a new organization brings its own file', () => {
  let runId: string;

  it('uploads penguins.json through a presigned PUT, and the run loads it: 344 rows, a quality report', async () => {
    runId = await upload(tokenA, 'penguins', PENGUINS, 'JSON');
    const runs = await follow(tokenA, runId);
    const last = runs.at(-1);
    expect(last.state).toBe('SUCCESS');
    // Events came in order, ending with the final one.
    expect(runs.map((r: { state: string }) => r.state)).toContain('SUCCESS');
    expect(last.tasks.map((t: { name: string; state: string }) => `${t.name}:${t.state}`)).toEqual([
      'validate:SUCCESS',
      'load:SUCCESS',
      'quality:SUCCESS',
      'publish:SUCCESS',
    ]);
    expect(last.deltaVersion).toBe(0);
    expect(last.upload.status).toBe('LOADED');
    expect(last.quality).toEqual({
      rowsRead: penguinRows.length,
      rowsWritten: penguinRows.length,
      rowsRejected: 0,
      nullCounts: PENGUIN_COLUMNS.map(([key, column]) => ({ column, nulls: nullsInFile(key) })),
      rejected: [],
    });
  }, 300_000);

  it('finds the table in lakeTables with 344 rows, and the lake answers an aggregate like the file does', async () => {
    expect(await tables(tokenA)).toEqual([{ name: 'penguins', version: 0, rowCount: 344 }]);
    const res = await h.lake
      .forTenant({ orgId: ORG_A })
      .query('SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species');
    expect(Object.fromEntries(res.rows as [string, number][])).toEqual(speciesCounts);
  }, 120_000);

  it('lists the upload and the run; a re-upload in APPEND then OVERWRITE gives versions 1 and 2', async () => {
    const list = await h.gql(
      `{ uploads { edges { node { id status } } } pipelineRuns(table: "penguins") { edges { node { id state } } } }`,
      {},
      tokenA,
    );
    expect(list.data!.uploads.edges).toEqual([{ node: { id: runId, status: 'LOADED' } }]);
    expect(list.data!.pipelineRuns.edges).toEqual([{ node: { id: runId, state: 'SUCCESS' } }]);

    const appended = await upload(tokenA, 'penguins', PENGUINS, 'JSON', { mode: 'APPEND' });
    expect((await follow(tokenA, appended)).at(-1)).toMatchObject({
      state: 'SUCCESS',
      deltaVersion: 1,
      mode: 'APPEND',
    });
    expect(await tables(tokenA)).toEqual([{ name: 'penguins', version: 1, rowCount: 688 }]);

    const overwritten = await upload(tokenA, 'penguins', PENGUINS, 'JSON', { mode: 'OVERWRITE' });
    expect((await follow(tokenA, overwritten)).at(-1)).toMatchObject({ state: 'SUCCESS', deltaVersion: 2 });
    expect(await tables(tokenA)).toEqual([{ name: 'penguins', version: 2, rowCount: 344 }]);
  }, 600_000);

  it('a second organization sees none of it and gets NOT_FOUND for its ids', async () => {
    expect(await tables(tokenB)).toEqual([]);
    const lists = await h.gql(
      `{ uploads { edges { node { id } } } pipelineRuns { edges { node { id } } } }`,
      {},
      tokenB,
    );
    expect(lists.data).toEqual({ uploads: { edges: [] }, pipelineRuns: { edges: [] } });
    expect(codes(await h.gql(`query($id: ID!) { upload(id: $id) { id } }`, { id: runId }, tokenB))).toEqual([
      'NOT_FOUND',
    ]);
    expect(codes(await h.gql(RUN, { id: runId }, tokenB))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(COMPLETE, { id: runId }, tokenB))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(`mutation { reloadTable(name: "penguins") { id } }`, {}, tokenB))).toEqual(['NOT_FOUND']);
    const sub = await h.subscribe(EVENTS, { id: runId }, tokenB, 10_000);
    expect(
      sub.events.flatMap((e) => e.errors ?? []).map((e: { extensions: { code: string } }) => e.extensions.code),
    ).toEqual(['NOT_FOUND']);
    expect(sub.events.every((e) => !e.data?.pipelineRunEvents)).toBe(true);
    // B's own table of the same name is B's alone.
    expect(await h.lake.forTenant({ orgId: ORG_B }).getTable('penguins')).toBeNull();
  }, 120_000);

  it('reloadTable replays from the latest OVERWRITE upload: one run here, a new version, the same rows', async () => {
    // Reloads are pipeline management: ADMIN and above (the permission table), an ANALYST is refused.
    const analyst = await h.gql(`mutation { reloadTable(name: "penguins") { id } }`, {}, await h.sign(ORG_A));
    expect(analyst.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredRole: 'ADMIN' });
    // penguins had OVERWRITE (v0), APPEND (v1), OVERWRITE (v2): only the last one is replayed.
    const res = await h.gql(`mutation { reloadTable(name: "penguins") { id reason mode state } }`, {}, tokenA);
    expect(res.errors).toBeUndefined();
    expect(res.data!.reloadTable).toHaveLength(1);
    expect(res.data!.reloadTable[0]).toMatchObject({ reason: 'RELOAD', mode: 'OVERWRITE', state: 'PENDING' });
    expect((await follow(tokenA, res.data!.reloadTable[0].id)).at(-1)).toMatchObject({
      state: 'SUCCESS',
      deltaVersion: 3,
    });
    expect(await tables(tokenA)).toEqual([{ name: 'penguins', version: 3, rowCount: 344 }]);
  }, 300_000);

  it('reloadTable replays an OVERWRITE and the APPENDs after it, in order, and skips failed uploads', async () => {
    const org = randomUUID();
    const token = await h.sign(org, { role: 'ADMIN' });
    const a = await upload(token, 'chain', Buffer.from('k,v\na,1\nb,2\n'), 'CSV');
    expect((await follow(token, a)).at(-1).state).toBe('SUCCESS');
    const b = await upload(token, 'chain', Buffer.from('k,v\nc,3\nd,4\ne,5\n'), 'CSV', { mode: 'APPEND' });
    // b's run is in flight: a reload now would replay without it, then b would land on top; it is refused.
    const early = await h.gql(`mutation { reloadTable(name: "chain") { id } }`, {}, token);
    expect(codes(early)).toEqual(['CONFLICT']);
    expect((await follow(token, b)).at(-1).state).toBe('SUCCESS');
    const bad = await upload(token, 'chain', Buffer.from('[{"k": "x"}]'), 'CSV', { mode: 'APPEND' });
    expect((await follow(token, bad)).at(-1).error.code).toBe('FORMAT_MISMATCH');
    expect(await tables(token)).toEqual([{ name: 'chain', version: 1, rowCount: 5 }]);

    const res = await h.gql(`mutation { reloadTable(name: "chain") { id mode upload { id } } }`, {}, token);
    const chain = res.data!.reloadTable as { id: string; mode: string; upload: { id: string } }[];
    expect(chain.map((r) => [r.upload.id, r.mode])).toEqual([
      [a, 'OVERWRITE'],
      [b, 'APPEND'],
    ]);
    expect((await follow(token, chain[1]!.id)).at(-1)).toMatchObject({ state: 'SUCCESS', deltaVersion: 3 });
    expect(await tables(token)).toEqual([{ name: 'chain', version: 3, rowCount: 5 }]);
    const sum = await h.lake.forTenant({ orgId: org }).query('SELECT sum(v) FROM chain');
    expect(sum.rows).toEqual([[1 + 2 + 3 + 4 + 5]]);
    // The uploads keep the status of their own load; a table with no loaded upload cannot be reloaded.
    const statuses = await h.gql(`{ uploads { edges { node { id status } } } }`, {}, token);
    expect(statuses.data!.uploads.edges.map((e: { node: { status: string } }) => e.node.status)).toEqual([
      'FAILED',
      'LOADED',
      'LOADED',
    ]);
    expect(codes(await h.gql(`mutation { reloadTable(name: "nothing_here") { id } }`, {}, token))).toEqual([
      'NOT_FOUND',
    ]);
  }, 600_000);

  it('the presigned URL cannot change a file once its upload is completed', async () => {
    const org = randomUUID();
    const token = await h.sign(org, { role: 'ADMIN' });
    const first = Buffer.from('id,val\n1,10\n2,20\n');
    const created = await createUpload(token, {
      table: 'swap',
      fileName: 's.csv',
      format: 'CSV',
      sizeBytes: first.length,
    });
    const ticket = created.data!.createUpload;
    const put = (body: Buffer) =>
      fetch(ticket.url, { method: 'PUT', headers: { 'Content-Type': 'text/csv' }, body }).then((r) => r.status);
    expect(await put(first)).toBe(200);
    await h.gql(COMPLETE, { id: ticket.upload.id }, token);
    expect((await follow(token, ticket.upload.id)).at(-1).state).toBe('SUCCESS');
    // Same size, other values, to the same (still valid) URL: it lands beside the loaded file, never in it.
    expect(await put(Buffer.from('id,val\n9,99\n8,88\n'))).toBe(200);
    const [reloaded] = (await h.gql(`mutation { reloadTable(name: "swap") { id } }`, {}, token)).data!.reloadTable;
    expect((await follow(token, reloaded.id)).at(-1).state).toBe('SUCCESS');
    const rows = await h.lake.forTenant({ orgId: org }).query('SELECT id, val FROM swap ORDER BY id');
    expect(rows.rows).toEqual([
      [1, 10],
      [2, 20],
    ]);
  }, 300_000);
});

describe('bad input gets a clear error or a FAILED run, and loses nothing', () => {
  it('refuses malformed createUpload input before anything is stored or signed', async () => {
    const token = await h.sign(randomUUID(), { role: 'ADMIN' });
    const good = { table: 'ok_table', fileName: 'a.csv', format: 'CSV', sizeBytes: 10 };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, table: 'Bad-Name' }, 'input.table'],
      [{ ...good, table: '1abc' }, 'input.table'],
      [{ ...good, fileName: '../../etc/passwd' }, 'input.fileName'],
      [{ ...good, fileName: 'a\u0000b.csv' }, 'input.fileName'],
      [{ ...good, fileName: '' }, 'input.fileName'],
      [{ ...good, fileName: 'abc\u202etxt.exe.csv' }, 'input.fileName'],
      [{ ...good, fileName: 'a\u0085b.csv' }, 'input.fileName'],
      [{ ...good, sizeBytes: 0 }, 'input.sizeBytes'],
      [{ ...good, sizeBytes: 2 ** 31 - 1 }, 'input.sizeBytes'],
      [{ ...good, maxBadRecords: 10_001 }, 'input.maxBadRecords'],
      [{ ...good, maxBadRecords: -1 }, 'input.maxBadRecords'],
    ];
    for (const [input, field] of cases) {
      const res = await createUpload(token, input);
      expect(codes(res), JSON.stringify(input)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.extensions).toMatchObject({ field });
    }
    const res = await createUpload(token, { ...good, format: 'XLSX' });
    expect(res.errors?.[0]?.extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    expect((await h.gql(`{ uploads { edges { node { id } } } }`, {}, token)).data!.uploads.edges).toEqual([]);
  }, 60_000);

  it('bounds the uploads waiting for their file per organization, also under concurrent calls', async () => {
    const token = await h.sign(randomUUID(), { role: 'ADMIN' });
    const input = { table: 'many', fileName: 'm.csv', format: 'CSV', sizeBytes: 10 };
    const results = await Promise.all(Array.from({ length: 120 }, () => createUpload(token, input)));
    const ok = results.filter((r) => !r.errors);
    const limited = results.filter((r) => codes(r)[0] === 'RATE_LIMITED');
    expect([ok.length, limited.length]).toEqual([100, 20]);
    for (const r of limited) {
      const wait = (r.errors![0]!.extensions as { retryAfterSeconds?: number }).retryAfterSeconds!;
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(900);
    }
    // Another organization is not affected.
    expect((await createUpload(await h.sign(randomUUID(), { role: 'ADMIN' }), input)).errors).toBeUndefined();
  }, 120_000);

  it('binds the presigned PUT to the announced size and type; completing before the PUT answers BAD_USER_INPUT', async () => {
    const token = await h.sign(randomUUID(), { role: 'ADMIN' });
    const body = Buffer.from('a,b\n1,2\n');
    const ticket = (await createUpload(token, { table: 't', fileName: 't.csv', format: 'CSV', sizeBytes: body.length }))
      .data!.createUpload;
    expect(ticket.headers).toEqual({ 'Content-Type': 'text/csv', 'Content-Length': String(body.length) });
    // Not yet uploaded.
    const early = await h.gql(COMPLETE, { id: ticket.upload.id }, token);
    expect(codes(early)).toEqual(['BAD_USER_INPUT']);
    // Another size or another type is refused by the store itself.
    const bigger = await fetch(ticket.url, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/csv' },
      body: Buffer.concat([body, body]),
    });
    expect(bigger.status).toBe(403);
    const otherType = await fetch(ticket.url, { method: 'PUT', headers: { 'Content-Type': 'text/plain' }, body });
    expect(otherType.status).toBe(403);
    const key = decodeURIComponent(new URL(ticket.url).pathname).replace(`/${h.store.bucket}/`, '');
    expect(await h.store.head(key)).toBeUndefined();
    const status = await h.gql(`query($id: ID!) { upload(id: $id) { status } }`, { id: ticket.upload.id }, token);
    expect(status.data!.upload.status).toBe('PENDING');
    // The key is under the caller's org, table and upload id (its incoming folder, which completeUpload empties);
    // the URL carries no secret key.
    expect(decodeURIComponent(new URL(ticket.url).pathname)).toMatch(
      new RegExp(`/bronze/org=[0-9a-f-]{36}/t/${ticket.upload.id}/\\.incoming/t\\.csv$`),
    );
    expect(ticket.url).not.toContain(process.env.S3_SECRET_ACCESS_KEY!);
  }, 60_000);

  it('a malformed file, a format mismatch and a conflicting APPEND fail their run with a reason; the table keeps its version', async () => {
    const org = randomUUID();
    const token = await h.sign(org, { role: 'ADMIN' });
    const good = Buffer.from('name,score\nada,1\ngrace,2\nlinus,3\n');
    const first = await upload(token, 'scores', good, 'CSV');
    expect((await follow(token, first)).at(-1)).toMatchObject({ state: 'SUCCESS', deltaVersion: 0 });

    const failures: [Buffer, string, Record<string, unknown>, string][] = [
      [Buffer.from('[{"name": "x", "score": 1}, {"name": '), 'JSON', {}, 'MALFORMED_FILE'],
      [Buffer.from('[{"name": "x", "score": 1}]'), 'CSV', {}, 'FORMAT_MISMATCH'],
      [Buffer.from('name,score\nmargaret,not-a-number\n'), 'CSV', { mode: 'APPEND' }, 'SCHEMA_CONFLICT'],
      [Buffer.from('Name,name \nx,y\n'), 'CSV', {}, 'DUPLICATE_COLUMNS'],
      [Buffer.from('\n\n'), 'CSV', {}, 'EMPTY_FILE'],
    ];
    for (const [body, format, extra, code] of failures) {
      const id = await upload(token, 'scores', body, format, extra);
      const last = (await follow(token, id)).at(-1);
      expect(last.state, code).toBe('FAILED');
      expect(last.error.code).toBe(code);
      expect(last.error.message.length).toBeGreaterThan(10);
      expect(last.upload).toMatchObject({ status: 'FAILED', error: { code } });
      // The gold table is untouched: same version, same rows.
      expect(await tables(token)).toEqual([{ name: 'scores', version: 0, rowCount: 3 }]);
    }
    const sum = await h.lake.forTenant({ orgId: org }).query('SELECT sum(score) FROM scores');
    expect(sum.rows).toEqual([[6]]);
  }, 900_000);
});

describe('Airflow down', () => {
  it('uploads and reads keep working, reloadTable answers UPSTREAM_UNAVAILABLE, and a waiting run starts once Airflow is back', async () => {
    const org = randomUUID();
    const token = await h.sign(org, { role: 'ADMIN' });
    // A second replica whose Airflow is unreachable takes over the watcher while the first is stopped.
    await h.server.close();
    const down = await h.another({ airflow: 'down' });
    const q = (query: string, variables: Record<string, unknown> = {}) =>
      fetch(down.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      }).then((r) => r.json() as Promise<{ data?: any; errors?: { extensions: { code: string } }[] }>);
    const body = Buffer.from('k,v\na,1\nb,2\n');
    const created = (
      await q(CREATE, { input: { table: 'kv', fileName: 'kv.csv', format: 'CSV', sizeBytes: body.length } })
    ).data.createUpload as Ticket;
    expect((await fetch(created.url, { method: 'PUT', headers: { 'Content-Type': 'text/csv' }, body })).status).toBe(
      200,
    );
    const done = await q(COMPLETE, { id: created.upload.id });
    expect(done.data.completeUpload).toMatchObject({ status: 'UPLOADED', run: { state: 'PENDING' } });
    await down.watchNow();
    const waiting = await q(RUN, { id: created.upload.id });
    expect(waiting.data.pipelineRun).toMatchObject({ state: 'PENDING' });
    expect(waiting.data.pipelineRun.waitingReason).toMatch(/Airflow/);
    // A table with a loaded upload (org A's penguins) cannot be reloaded while Airflow is down; nothing is recorded.
    const reload = await fetch(down.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenA}` },
      body: JSON.stringify({ query: `mutation { reloadTable(name: "penguins") { id } }` }),
    }).then((r) => r.json() as Promise<{ errors?: { extensions: { code: string }; message: string }[] }>);
    expect(reload.errors?.map((e) => e.extensions.code)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(reload.errors![0]!.message).not.toMatch(/127\.0\.0\.1|http/);
    expect((await q(`{ lakeTables { name } }`)).data).toEqual({ lakeTables: [] });

    // Airflow back: a replica that reaches it picks the waiting run up.
    await down.close();
    const up = await h.another({ airflow: 'run' });
    const { events } = await (
      await import('../../../test/e2e/client.ts')
    ).collectSubscription(up.wsUrl, EVENTS, { id: created.upload.id }, { authorization: `Bearer ${token}` }, 240_000);
    expect(events.at(-1).data.pipelineRunEvents.run).toMatchObject({
      state: 'SUCCESS',
      waitingReason: null,
      deltaVersion: 0,
    });
    expect(await h.lake.forTenant({ orgId: org }).rowCount('kv')).toBe(2);
  }, 400_000);
});
