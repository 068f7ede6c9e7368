/**
 * The lake's object store, seen from Node: an S3-compatible endpoint (MinIO in production, S3Proxy embedded)
 * reached with `@aws-sdk/client-s3` over path-style addressing. The credentials stay in this process (and on the
 * Spark server); clients only ever see presigned URLs.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DataPilotError } from '@datapilot/common';
import { checkBucketName } from './lake-layout.ts';

/** Where the lake lives: `S3_ENDPOINT`, `S3_REGION`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, `LAKE_BUCKET`. */
export type ObjectStoreConfig = {
  /** `http(s)://host:port` of the S3 API, as this process reaches it. */
  endpoint: string;
  /** `http(s)://host:port` that clients reach for presigned URLs (default: `endpoint`). */
  publicEndpoint?: string;
  /** SigV4 signing region, e.g. `us-east-1`. */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The lake's bucket ({@link checkBucketName}). */
  bucket: string;
  /** Deadline of one S3 request, in milliseconds (default 10 000). */
  requestTimeoutMs?: number;
};

/** One object of a listing. */
export type ObjectEntry = { key: string; size: number };

/** Metadata of one object (HEAD). */
export type ObjectHead = { size: number; contentType?: string; lastModified?: Date };

/** The lake bucket's operations DataPilot uses; see {@link createObjectStore}. */
export interface ObjectStore {
  /** The lake's bucket. */
  readonly bucket: string;
  /**
   * The common prefixes one level below `prefix` (ListObjectsV2 with delimiter `/`), e.g. `gold/org=<id>/` →
   * `['gold/org=<id>/cars/', ...]`, in key order. At most `limit` (default 10 000) are returned.
   */
  listPrefixes(prefix: string, limit?: number): Promise<string[]>;
  /**
   * The objects whose key starts with `prefix`, in key order, starting after `startAfter` when given
   * (ListObjectsV2 `StartAfter`). At most `limit` (default 100 000) are returned.
   */
  listObjects(prefix: string, opts?: { startAfter?: string; limit?: number }): Promise<ObjectEntry[]>;
  /** The object's metadata, or undefined when it does not exist. */
  head(key: string): Promise<ObjectHead | undefined>;
  /**
   * The object's bytes, or undefined when it does not exist. `range` reads `[start, end]` (inclusive, HTTP Range).
   * @throws DataPilotError BAD_USER_INPUT when the object is larger than `maxBytes` (default 64 MiB).
   */
  get(key: string, opts?: { range?: [number, number]; maxBytes?: number }): Promise<Uint8Array | undefined>;
  /** Writes an object (small payloads: tests, markers). */
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  /** Deletes an object (no error when it is missing). */
  delete(key: string): Promise<void>;
  /** Copies object `from` to `to` inside the bucket (server-side CopyObject, up to 5 GiB). */
  copy(from: string, to: string): Promise<void>;
  /**
   * A presigned PUT URL (SigV4 query signing, AWS "Uploading objects with presigned URLs") for `key`, valid
   * `expiresInSeconds`, whose signature covers `Content-Length` and `Content-Type`: the store refuses (403) a body of
   * another size or type. Signed against {@link ObjectStoreConfig.publicEndpoint}.
   * @returns the URL and the headers the client must send with its PUT.
   */
  presignPut(
    key: string,
    opts: { sizeBytes: number; contentType: string; expiresInSeconds: number },
  ): Promise<{ url: string; headers: Record<string, string> }>;
  /** Health check: a HEAD of the bucket-level listing (one ListObjectsV2 with MaxKeys 1). */
  ping(): Promise<void>;
  /** Closes the HTTP connections. */
  close(): void;
}

/** S3 error names that mean "this object or bucket does not exist". */
const MISSING = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);

/**
 * Maps an S3 failure to a DataPilot error: the store unreachable, slow or refusing our own credentials is
 * UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT (the caller did nothing wrong); the message never carries keys or secrets.
 */
export function objectStoreError(e: unknown): DataPilotError {
  if (e instanceof DataPilotError) return e;
  const name = (e as { name?: string } | null)?.name ?? '';
  if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'AbortError')
    return new DataPilotError('UPSTREAM_TIMEOUT', 'The object store did not answer in time; try again.');
  return new DataPilotError('UPSTREAM_UNAVAILABLE', 'The object store is unavailable; try again.');
}

const isMissing = (e: unknown) =>
  MISSING.has((e as { name?: string } | null)?.name ?? '') ||
  (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404);

const s3Client = (endpoint: string, config: ObjectStoreConfig) =>
  new S3Client({
    endpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    forcePathStyle: true,
    // Checksums only where S3 requires them: newer SDKs otherwise add CRC32 headers that S3-compatible stores
    // (and presigned URLs used with plain fetch) do not all accept.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    requestHandler: { requestTimeout: config.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000 },
  });

/**
 * Creates the lake's object store client.
 * @throws Error when the bucket name or an endpoint is malformed (configuration, checked at start).
 */
export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  const bucket = checkBucketName(config.bucket);
  for (const [name, value] of [
    ['S3_ENDPOINT', config.endpoint],
    ['S3_PUBLIC_ENDPOINT', config.publicEndpoint ?? config.endpoint],
  ] as const) {
    if (!/^https?:\/\/[^/?#]+\/?$/.test(value)) throw new Error(`${name} must be http(s)://host[:port], got ${value}`);
  }
  const client = s3Client(config.endpoint, config);
  const presigner =
    config.publicEndpoint && config.publicEndpoint !== config.endpoint
      ? s3Client(config.publicEndpoint, config)
      : client;

  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw objectStoreError(e);
    }
  };

  return {
    bucket,
    async listPrefixes(prefix, limit = 10_000) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const res = await call(() =>
          client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
          ),
        );
        for (const p of res.CommonPrefixes ?? []) if (p.Prefix && out.length < limit) out.push(p.Prefix);
        token = res.IsTruncated && out.length < limit ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async listObjects(prefix, opts = {}) {
      const limit = opts.limit ?? 100_000;
      const out: ObjectEntry[] = [];
      let token: string | undefined;
      do {
        const res = await call(() =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ContinuationToken: token,
              ...(token ? {} : opts.startAfter ? { StartAfter: opts.startAfter } : {}),
            }),
          ),
        );
        for (const o of res.Contents ?? [])
          if (o.Key && out.length < limit) out.push({ key: o.Key, size: o.Size ?? 0 });
        token = res.IsTruncated && out.length < limit ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async head(key) {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: res.ContentLength ?? 0, contentType: res.ContentType, lastModified: res.LastModified };
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw objectStoreError(e);
      }
    },
    async get(key, opts = {}) {
      const maxBytes = opts.maxBytes ?? 64 << 20;
      try {
        const res = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(opts.range ? { Range: `bytes=${opts.range[0]}-${opts.range[1]}` } : {}),
          }),
        );
        if ((res.ContentLength ?? 0) > maxBytes) {
          res.Body?.transformToWebStream()
            .cancel()
            .catch(() => undefined);
          throw new DataPilotError('BAD_USER_INPUT', `The object is larger than ${maxBytes} bytes.`);
        }
        return res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw objectStoreError(e);
      }
    },
    async put(key, body, contentType = 'application/octet-stream') {
      await call(() =>
        client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })),
      );
    },
    async delete(key) {
      await call(() => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    },
    async copy(from, to) {
      await call(() =>
        client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: to,
            CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          }),
        ),
      );
    },
    async presignPut(key, { sizeBytes, contentType, expiresInSeconds }) {
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        ContentLength: sizeBytes,
        ContentType: contentType,
      });
      const url = await call(() =>
        getSignedUrl(presigner, command, {
          expiresIn: expiresInSeconds,
          // Keep both headers in SignedHeaders instead of hoisting them into the query string.
          signableHeaders: new Set(['content-length', 'content-type']),
        }),
      );
      return { url, headers: { 'Content-Type': contentType, 'Content-Length': String(sizeBytes) } };
    },
    async ping() {
      await call(() => client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 })));
    },
    close() {
      client.destroy();
      if (presigner !== client) presigner.destroy();
    },
  };
}
