/**
 * Upload housekeeping against real PostgreSQL and S3Proxy: with 3-second URLs and no grace, an upload never
 * completed becomes FAILED (UPLOAD_EXPIRED) and its incoming object is deleted; a file PUT again after completion is
 * deleted too, while the completed file stays. Airflow is down here: the runs just wait (which also keeps
 * subscriptions to them open, for the per-socket bound).
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { incomingKey } from '@datapilot/lake-core';
import { codes, startLakeHarness, type LakeHarness } from './support/harness.ts';

let h: LakeHarness;
beforeAll(async () => {
  h = await startLakeHarness({
    airflow: 'down',
    limits: { maxBytes: 1 << 20, urlTtlSeconds: 3, maxPending: 10 },
    sweep: { uploadGraceSeconds: 0, intervalMs: 200 },
  });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const CREATE = `mutation($input: CreateUploadInput!) { createUpload(input: $input) { url upload { id } } }`;
const STATUS = `query($id: ID!) { upload(id: $id) { status expiresAt error { code } } }`;

it('expires uploads that were never completed and sweeps what is left at their incoming keys', async () => {
  const org = randomUUID();
  const token = await h.sign(org);
  const body = Buffer.from('a,b\n1,2\n');
  const create = async (table: string) => {
    const r = await h.gql(
      CREATE,
      { input: { table, fileName: 'f.csv', format: 'CSV', sizeBytes: body.length } },
      token,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.createUpload as { url: string; upload: { id: string } };
  };
  const put = (url: string) =>
    fetch(url, { method: 'PUT', headers: { 'Content-Type': 'text/csv' }, body }).then((r) => r.status);
  const keyOf = (url: string) => decodeURIComponent(new URL(url).pathname).replace(`/${h.store.bucket}/`, '');

  const abandoned = await create('abandoned');
  const completed = await create('completed');
  expect([await put(abandoned.url), await put(completed.url)]).toEqual([200, 200]);
  const done = await h.gql(
    `mutation($id: ID!) { completeUpload(id: $id) { status } }`,
    { id: completed.upload.id },
    token,
  );
  expect(done.data!.completeUpload.status).toBe('UPLOADED');
  const finalKey = keyOf(completed.url).replace('/.incoming/', '/');
  expect(incomingKey(finalKey)).toBe(keyOf(completed.url));
  expect(await h.store.head(keyOf(completed.url))).toBeUndefined();
  // The URL still works: the same file PUT again lands in the incoming folder, not in the loaded file.
  expect(await put(completed.url)).toBe(200);
  expect(await h.store.head(keyOf(completed.url))).toMatchObject({ size: body.length });

  await new Promise((r) => setTimeout(r, 4_000)); // both URLs have expired
  for (let i = 0; i < 50; i++) {
    await h.server.watchNow();
    const left = await Promise.all([keyOf(abandoned.url), keyOf(completed.url)].map((k) => h.store.head(k)));
    if (left.every((x) => x === undefined)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(await h.store.head(keyOf(abandoned.url))).toBeUndefined();
  expect(await h.store.head(keyOf(completed.url))).toBeUndefined();
  expect(await h.store.head(finalKey)).toMatchObject({ size: body.length });
  const a = await h.gql(STATUS, { id: abandoned.upload.id }, token);
  expect(a.data!.upload).toMatchObject({ status: 'FAILED', error: { code: 'UPLOAD_EXPIRED' } });
  expect(new Date(a.data!.upload.expiresAt).getTime()).toBeLessThan(Date.now());
  const c = await h.gql(STATUS, { id: completed.upload.id }, token);
  expect(c.data!.upload).toMatchObject({ status: 'UPLOADED', error: null });
  // A late completion of the expired upload keeps its answer.
  const late = await h.gql(
    `mutation($id: ID!) { completeUpload(id: $id) { status } }`,
    { id: abandoned.upload.id },
    token,
  );
  expect(codes(late)).toEqual([]);
  expect(late.data!.completeUpload.status).toBe('FAILED');
}, 120_000);

it('a socket runs at most 100 subscriptions at once: the 101st answers RATE_LIMITED, the others go on', async () => {
  const org = randomUUID();
  const token = await h.sign(org);
  const body = Buffer.from('x\n1\n');
  const r = await h.gql(
    CREATE,
    { input: { table: 'subs', fileName: 's.csv', format: 'CSV', sizeBytes: body.length } },
    token,
  );
  const { url, upload } = r.data!.createUpload as { url: string; upload: { id: string } };
  await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'text/csv' }, body });
  await h.gql(`mutation($id: ID!) { completeUpload(id: $id) { status } }`, { id: upload.id }, token);
  // Airflow is down: the run stays PENDING, so every subscription to it stays open.
  const client = createClient({
    url: h.server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const firstEvents: Promise<string>[] = [];
  const unsubscribe: (() => void)[] = [];
  for (let i = 0; i < 101; i++)
    firstEvents.push(
      new Promise((resolve) => {
        unsubscribe.push(
          client.subscribe(
            {
              query: `subscription($id: ID!) { pipelineRunEvents(runId: $id) { run { state } } }`,
              variables: { id: upload.id },
            },
            {
              next: (v) =>
                resolve(
                  String((v.data as any)?.pipelineRunEvents?.run?.state ?? (v.errors as any)?.[0]?.extensions?.code),
                ),
              error: (e) => resolve(String((e as any)?.[0]?.extensions?.code ?? e)),
              complete: () => resolve('complete'),
            },
          ),
        );
      }),
    );
  const results = await Promise.all(firstEvents);
  expect(results.filter((x) => x === 'PENDING')).toHaveLength(100);
  expect(results.filter((x) => x === 'RATE_LIMITED')).toHaveLength(1);
  for (const u of unsubscribe) u();
  await client.dispose();
}, 60_000);
