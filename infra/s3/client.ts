/**
 * How to reach an S3-compatible store with `@aws-sdk/client-s3` (S3Proxy or any other), and the one bucket
 * operation the launchers need. The services' own S3 code lives in `packages/lake`.
 */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';

/** Where an S3-compatible store is and how to sign for it (the `S3_*` variables of the README). */
export interface S3Endpoint {
  /** Base URL, `http(s)://host:port` (S3Proxy: `http://127.0.0.1:<port>`). */
  endpoint: string;
  /** SigV4 signing region, e.g. `us-east-1` (S3Proxy accepts any). */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Client settings for an {@link S3Endpoint}: path-style addressing (`forcePathStyle`; S3Proxy serves
 * `http://host:port/<bucket>/<key>` only: its `s3proxy.virtual-host` setting broke path-style when tried here),
 * and checksums only where an operation requires them (`requestChecksumCalculation` /
 * `responseChecksumValidation: "WHEN_REQUIRED"`): with the default, `@aws-sdk/client-s3` 3.1175 puts
 * `x-amz-checksum-crc32=AAAAAA==` (the CRC32 of an EMPTY body) into presigned PUT URLs, which stores that check it
 * refuse for any real body. S3Proxy 4.1.0 ignored it when tried here, so the default would pass locally only.
 */
export function s3ClientConfig(s3: S3Endpoint): S3ClientConfig {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

const statusOf = (e: unknown) => (e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined);

/**
 * Creates `bucket` when it does not exist (HeadBucket, then CreateBucket); resolves true when it created it,
 * false when it was there already (also when another caller created it in between: `BucketAlreadyOwnedByYou`).
 * Bucket names follow S3's rules (3-63 characters of `a-z 0-9 . -`, starting and ending with a letter or digit);
 * the store refuses others (`InvalidBucketName`).
 * @throws S3ServiceException from the store as is: 403 for wrong keys, 409 `BucketAlreadyExists` when the name
 *   belongs to another account, 400 `InvalidBucketName`; network errors as the SDK raises them.
 */
export async function ensureBucket(s3: S3Endpoint, bucket: string): Promise<boolean> {
  const client = new S3Client({ ...s3ClientConfig(s3), maxAttempts: 2 });
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      return false;
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return true;
    } catch (e) {
      if ((e as Error).name === 'BucketAlreadyOwnedByYou') return false;
      throw e;
    }
  } finally {
    client.destroy();
  }
}
