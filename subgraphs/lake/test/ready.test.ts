/**
 * Readiness follows Spark: a lake subgraph on a Spark Connect server of this test's own (the shared one is never
 * stopped) answers `/ready` 200 while Spark answers, 503 naming `spark` once the server is stopped, and 200 again once
 * it is started on the same port — without a restart of the subgraph.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSparkConnect, type RunningSparkConnect } from '../../../infra/spark/index.ts';
import { freePort } from '../../../infra/net.ts';
import { startLakeHarness, type LakeHarness } from './support/harness.ts';

let port: number;
let spark: RunningSparkConnect | undefined;
let h: LakeHarness | undefined;

const s3 = () => ({
  endpoint: process.env.S3_ENDPOINT!,
  region: process.env.S3_REGION || 'us-east-1',
  accessKeyId: process.env.S3_ACCESS_KEY_ID!,
  secretAccessKey: process.env.S3_SECRET_ACCESS_KEY!,
});
const start = () => startSparkConnect({ port, s3: s3(), log: () => undefined, driverMemory: '1g' });

/** `/ready` every 500 ms until `status` (at most `ms`); returns the last body. */
async function readyUntil(
  status: number,
  ms: number,
): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const deadline = Date.now() + ms;
  let last = { status: 0, body: { checks: {} as Record<string, string> } };
  while (Date.now() < deadline) {
    const res = await fetch(`${h!.server.url}/ready`);
    last = { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

beforeAll(async () => {
  port = await freePort();
  spark = await start();
  h = await startLakeHarness({ airflow: 'down', sparkRemote: spark.remote });
}, 300_000);

afterAll(async () => {
  await h?.close();
  await spark?.stop();
});

it('is ready with Spark, unavailable (spark) while Spark is stopped, and ready again once it is back', async () => {
  const up = await readyUntil(200, 30_000);
  expect(up).toEqual({
    status: 200,
    body: { status: 'ready', checks: { spark: 'ok', postgres: 'ok', objectStore: 'ok', airflow: 'unavailable' } },
  });

  await spark!.stop();
  spark = undefined;
  const down = await readyUntil(503, 30_000);
  expect(down).toEqual({
    status: 503,
    body: {
      status: 'unavailable',
      checks: { spark: 'unavailable', postgres: 'ok', objectStore: 'ok', airflow: 'unavailable' },
    },
  });

  spark = await start();
  const back = await readyUntil(200, 60_000);
  expect(back.status).toBe(200);
  expect(back.body.checks['spark']).toBe('ok');
}, 300_000);
