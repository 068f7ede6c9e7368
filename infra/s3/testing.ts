/**
 * A fresh bucket for one test file, on the real S3-compatible server the test run started (test/global-setup.ts
 * exports `S3_ENDPOINT`, `S3_REGION`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`). Each test file gets its own
 * bucket, so tests never see each other's objects; `close()` empties and deletes it.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

/** The S3 settings of a test bucket, in the shape of the services' configuration variables. */
export type TestBucketEnv = {
  S3_ENDPOINT: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  LAKE_BUCKET: string;
};

/** A bucket that exists until `close()`. */
export interface TestBucket {
  /** The bucket's settings (also what a service's `loadConfig` wants). */
  env: TestBucketEnv;
  /** `{ endpoint, region, accessKeyId, secretAccessKey, bucket }` for `createObjectStore`. */
  store: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  /** Deletes every object of the bucket, then the bucket. */
  close(): Promise<void>;
}

/**
 * Creates a bucket `dp-test-<random>` on the server of `S3_ENDPOINT`.
 * @throws Error naming the missing variable when the test run has no S3 server.
 */
export async function createTestBucket(env: NodeJS.ProcessEnv = process.env): Promise<TestBucket> {
  const need = ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const;
  for (const k of need)
    if (!env[k]) throw new Error(`${k} is not set: run the tests through vitest (test/global-setup.ts starts S3Proxy)`);
  const bucket = `dp-test-${randomBytes(6).toString('hex')}`;
  const store = {
    endpoint: env.S3_ENDPOINT!,
    region: env.S3_REGION || 'us-east-1',
    accessKeyId: env.S3_ACCESS_KEY_ID!,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY!,
    bucket,
  };
  const client = new S3Client({
    endpoint: store.endpoint,
    region: store.region,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    env: {
      S3_ENDPOINT: store.endpoint,
      S3_REGION: store.region,
      S3_ACCESS_KEY_ID: store.accessKeyId,
      S3_SECRET_ACCESS_KEY: store.secretAccessKey,
      LAKE_BUCKET: bucket,
    },
    store,
    async close() {
      try {
        for (;;) {
          const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
          const keys = (res.Contents ?? []).map((o) => ({ Key: o.Key! }));
          if (!keys.length) break;
          await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
        }
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
  };
}
