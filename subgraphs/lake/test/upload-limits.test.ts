/**
 * The per-organization bound on uploads in progress (LAKE_MAX_CONCURRENT_UPLOADS_PER_ORG) through the lake subgraph,
 * on the real engines: PostgreSQL keeps the count, S3Proxy takes the files, the test run's Airflow loads them with
 * the real DAG. An upload counts from createUpload until it is loaded or failed; beyond the bound createUpload
 * answers RATE_LIMITED with `retryAfterSeconds`, another organization is not affected, and a finished load (failed
 * or successful) frees its place. Expected waits are worked out here: the URL's 900 s; 60 s assumed before any load
 * finished; afterwards the duration of the finished load, read from its run's own timestamps.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadRefusal } from '../src/uploads.ts';
import { codes, startLakeHarness, type LakeHarness } from './support/harness.ts';

const MAX_IN_PROGRESS = 3;
const URL_TTL_SECONDS = 900;

let h: LakeHarness;
let tokenA: string;
let tokenB: string;

beforeAll(async () => {
  h = await startLakeHarness({
    limits: { maxBytes: 1 << 20, urlTtlSeconds: URL_TTL_SECONDS, maxPending: 10, maxInProgress: MAX_IN_PROGRESS },
  });
  tokenA = await h.sign(randomUUID());
  tokenB = await h.sign(randomUUID());
}, 300_000);

afterAll(async () => {
  await h?.close();
});

const CREATE = `mutation($input: CreateUploadInput!) { createUpload(input: $input) { url headers upload { id } } }`;
const COMPLETE = `mutation($id: ID!) { completeUpload(id: $id) { id status run { id } } }`;
const RUN = `query($id: ID!) { pipelineRun(id: $id) { state createdAt endedAt upload { status } } }`;
const GOOD = Buffer.from('city,visits\nParis,3\nRome,5\n');

type Ticket = { url: string; headers: Record<string, string>; upload: { id: string } };
type Refusal = { code: string; retryAfterSeconds: number; message: string };

/** createUpload of `body` as `format`; the ticket, or the refusal's code, wait and message. */
async function create(token: string, body: Buffer, format = 'CSV'): Promise<Ticket | Refusal> {
  const input = { table: 'visits', fileName: 'visits.data', format, sizeBytes: body.length };
  const res = await h.gql<{ createUpload: Ticket }>(CREATE, { input }, token);
  if (!res.errors) return res.data!.createUpload;
  const e = res.errors[0]!;
  const retryAfterSeconds = (e.extensions as { retryAfterSeconds?: number }).retryAfterSeconds!;
  return { code: codes(res)[0]!, message: e.message, retryAfterSeconds };
}

/** PUTs `body` to the ticket's URL and completes the upload; returns its run id and when it was completed. */
async function putAndComplete(ticket: Ticket, body: Buffer, token: string) {
  const put = await fetch(ticket.url, {
    method: 'PUT',
    headers: { 'Content-Type': ticket.headers['Content-Type']! },
    body,
  });
  expect(put.status).toBe(200);
  const done = await h.gql(COMPLETE, { id: ticket.upload.id }, token);
  expect(done.errors).toBeUndefined();
  expect(done.data!.completeUpload.status).toBe('UPLOADED');
  return { runId: done.data!.completeUpload.run.id as string, completedAt: Date.now() };
}

/** Polls the run until it is SUCCESS or FAILED (at most 4 minutes). */
async function finished(runId: string, token: string) {
  const end = Date.now() + 240_000;
  for (;;) {
    const run = (await h.gql(RUN, { id: runId }, token)).data!.pipelineRun;
    if (run.state === 'SUCCESS' || run.state === 'FAILED') return run;
    if (Date.now() > end) throw new Error(`run ${runId} did not finish: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const IN_PROGRESS_MESSAGE =
  `The organization has ${MAX_IN_PROGRESS} uploads in progress (waiting for their file or being loaded), its ` +
  'limit; create more when some of them are loaded, or let the unused ones expire.';

describe(`${MAX_IN_PROGRESS} uploads in progress per organization`, () => {
  it('refuses the next createUpload until a load ends, failed or successful; another org is not affected', async () => {
    // 1. Three announced uploads fill A's bound: the fourth is refused until the first URL expires (900 s). The
    //    first is announced as JSON: its CSV bytes will fail the DAG's validate task (FORMAT_MISMATCH).
    const tickets = [(await create(tokenA, GOOD, 'JSON')) as Ticket];
    for (let i = 1; i < MAX_IN_PROGRESS; i++) tickets.push((await create(tokenA, GOOD)) as Ticket);
    expect(tickets.every((t) => 'upload' in t)).toBe(true);
    const [fourth, fromB] = await Promise.all([create(tokenA, GOOD), create(tokenB, GOOD)]);
    expect(fourth).toEqual({
      code: 'RATE_LIMITED',
      message: IN_PROGRESS_MESSAGE,
      retryAfterSeconds: expect.any(Number),
    });
    expect((fourth as Refusal).retryAfterSeconds).toBeGreaterThan(URL_TTL_SECONDS - 30);
    expect((fourth as Refusal).retryAfterSeconds).toBeLessThanOrEqual(URL_TTL_SECONDS);
    expect('upload' in fromB).toBe(true);

    // 2. The first file arrives (the DAG will refuse it): still in progress while it loads. No load has finished
    //    yet, so the wait is the 60 s assumed for a load, less the time it has run.
    const [first, second] = tickets as [Ticket, Ticket, Ticket];
    const bad = await putAndComplete(first, GOOD, tokenA);
    const whileLoading = (await create(tokenA, GOOD)) as Refusal;
    expect(whileLoading.code).toBe('RATE_LIMITED');
    expect(whileLoading.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(whileLoading.retryAfterSeconds).toBeGreaterThanOrEqual(
      60 - Math.ceil((Date.now() - bad.completedAt) / 1000) - 1,
    );

    // 3. The failed load frees its place.
    const failedRun = await finished(bad.runId, tokenA);
    expect([failedRun.state, failedRun.upload.status]).toEqual(['FAILED', 'FAILED']);
    const afterFailure = await create(tokenA, GOOD);
    expect('upload' in afterFailure).toBe(true);

    // 4. The second file loads; A is at its bound again, and the wait is now the finished load's duration (its
    //    run's endedAt - createdAt) less the time this load has run.
    const good = await putAndComplete(second, GOOD, tokenA);
    const whileGood = (await create(tokenA, GOOD)) as Refusal;
    expect(whileGood.code).toBe('RATE_LIMITED');
    const d1 = (Date.parse(failedRun.endedAt) - Date.parse(failedRun.createdAt)) / 1000;
    const ran = (Date.now() - good.completedAt) / 1000;
    expect(whileGood.retryAfterSeconds).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(d1 - ran) - 1));
    expect(whileGood.retryAfterSeconds).toBeLessThanOrEqual(Math.max(1, Math.ceil(d1)) + 1);

    // 5. The successful load frees its place too.
    const goodRun = await finished(good.runId, tokenA);
    expect([goodRun.state, goodRun.upload.status]).toEqual(['SUCCESS', 'LOADED']);
    expect('upload' in (await create(tokenA, GOOD))).toBe(true);
    expect(await create(tokenA, GOOD)).toMatchObject({ code: 'RATE_LIMITED' });
  }, 600_000);
});

describe('uploadRefusal (the rule alone, waits worked out by hand)', () => {
  const limits = { maxBytes: 1, urlTtlSeconds: 900, maxPending: 2, maxInProgress: 3 };
  const open = { pendingExpiresInSeconds: 100.2, oldestLoadSeconds: 10, meanLoadSeconds: 30 };

  it('admits below both bounds', () => {
    expect(uploadRefusal({ ...open, pending: 1, loading: 1 }, limits)).toBeNull();
  });

  it('at the in-progress bound: the earlier of the first URL expiry (100.2 s) and the load end (30 - 10 = 20 s)', () => {
    const e = uploadRefusal({ ...open, pending: 1, loading: 2 }, limits)!;
    expect(e.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 20 });
    // No load finished yet: 60 s assumed, 10 s run → 50 s; nothing loading: the URL expiry, rounded up → 101 s.
    expect(uploadRefusal({ ...open, meanLoadSeconds: null, pending: 1, loading: 2 }, limits)!.extensions).toMatchObject(
      { retryAfterSeconds: 50 },
    );
    expect(
      uploadRefusal({ ...open, oldestLoadSeconds: null, pending: 3, loading: 0 }, { ...limits, maxPending: 5 })!
        .extensions,
    ).toMatchObject({ retryAfterSeconds: 101 });
    // A load running longer than the mean: any moment now → 1 s.
    expect(uploadRefusal({ ...open, oldestLoadSeconds: 45, pending: 0, loading: 3 }, limits)!.extensions).toMatchObject(
      { retryAfterSeconds: 1 },
    );
  });

  it('at the pending bound only: the first URL expiry', () => {
    const e = uploadRefusal({ ...open, pending: 2, loading: 0 }, limits)!;
    expect(e.message).toBe(
      'The organization has 2 uploads waiting for their file; complete them or let them expire first.',
    );
    expect(e.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 101 });
  });
});
