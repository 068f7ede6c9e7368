/**
 * Server restart: a private Spark Connect server (infra/spark's starter, on a free port) is stopped and started
 * again under a running lake. The client sends back the server-side session id it saw, so the new server
 * answers INVALID_HANDLE.SESSION_CHANGED; the lake must start a fresh session, register its views again and
 * answer as before. (The shared server of the other tests is never restarted.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSparkConnect, type RunningSparkConnect } from '../../../infra/spark/index.ts';
import { createTestBucket, type TestBucket } from '../../../infra/s3/testing.ts';
import { freePort } from '../../../infra/net.ts';
import {
  createLake,
  createObjectStore,
  createSparkConnectClient,
  goldTablePrefix,
  s3aUri,
  type Lake,
  type ObjectStore,
  type SparkConnectClient,
} from '../src/index.ts';

const ORG = '0d0d0d0d-0000-4000-8000-00000000000d';
const quiet = () => undefined;

let bucket: TestBucket;
let store: ObjectStore;
let port: number;
let server: RunningSparkConnect | undefined;
let spark: SparkConnectClient;
let lake: Lake;
const errorClasses: string[] = [];

beforeAll(async () => {
  bucket = await createTestBucket();
  store = createObjectStore(bucket.store);
  port = await freePort();
  server = await startSparkConnect({ port, s3: bucket.store, log: quiet, driverMemory: '1g' });
  spark = createSparkConnectClient({ remote: server.remote, timeoutMs: 120_000 });
  const recording: SparkConnectClient = {
    executeSql: (sid, sql, args, opts) =>
      spark.executeSql(sid, sql, args, opts).catch((e: { errorClass?: string }) => {
        errorClasses.push(e.errorClass ?? 'none');
        throw e;
      }),
    releaseSession: (id) => spark.releaseSession(id),
    close: () => spark.close(),
  };
  lake = createLake({ spark: recording, store });
  const dir = s3aUri(store.bucket, goldTablePrefix(ORG, 'metrics'));
  await spark.executeSql(
    randomUUID(),
    `CREATE TABLE delta.\`${dir}\` USING delta AS SELECT id, id * 2 AS twice FROM range(7)`,
  );
}, 300_000);

afterAll(async () => {
  await lake?.close();
  spark?.close();
  await server?.stop();
  store?.close();
  await bucket?.close();
});

it('recovers its org session after the Spark Connect server restarts', async () => {
  const q = 'SELECT sum(twice) FROM metrics WHERE id >= :min';
  expect((await lake.forTenant({ orgId: ORG }).query(q, { min: 3 })).rows).toEqual([[2 * (3 + 4 + 5 + 6)]]);

  await server!.stop();
  server = await startSparkConnect({ port, s3: bucket.store, log: quiet, driverMemory: '1g' });

  expect((await lake.forTenant({ orgId: ORG }).query(q, { min: 5 })).rows).toEqual([[2 * (5 + 6)]]);
  expect(await lake.forTenant({ orgId: ORG }).rowCount('metrics')).toBe(7);
  expect(errorClasses).toEqual(['INVALID_HANDLE.SESSION_CHANGED']);
}, 300_000);
