import { devSecret, int, optStr, str, url, type Logger } from '@datapilot/common';
import { createSparkConnectClient, type SparkConnectClient } from './spark-connect.ts';
import {
  DEFAULT_RESULT_CACHE,
  DEFAULT_SESSION_LIMITS,
  DEFAULT_STATEMENT_LIMITS,
  createLake,
  type Lake,
} from './org-lake.ts';
import { createObjectStore, type ObjectStore } from './object-store.ts';

/**
 * The environment variables of every service that reads the lake (lake and chat subgraphs), for
 * `loadConfig({ ...LAKE_CONFIG, ... })` in an entry point. The S3 credentials have no default: `npm start`
 * generates them for the embedded S3Proxy and passes them on; a deployment sets them (MinIO, S3).
 */
export const LAKE_CONFIG = {
  SPARK_REMOTE: str('Spark Connect connection string, sc://host:port[/;token=...]', 'sc://127.0.0.1:15002'),
  S3_ENDPOINT: url('S3 API endpoint of the lake, http(s)://host:port (path-style addressing)', 'http://127.0.0.1:9100'),
  S3_PUBLIC_ENDPOINT: optStr('S3 endpoint that clients reach for presigned upload URLs (default S3_ENDPOINT)'),
  S3_REGION: str('SigV4 signing region of the object store', 'us-east-1'),
  // compose's development overlay publishes datapilot-lake-dev / datapilot-lake-dev-secret.
  S3_ACCESS_KEY_ID: devSecret(
    str('access key id of the lake bucket (never sent to clients)'),
    'the access key id of your store',
    ['datapilot-lake-dev'],
  ),
  S3_SECRET_ACCESS_KEY: devSecret(
    str('secret access key of the lake bucket (never sent to clients)'),
    'the secret key of that access key',
    ['datapilot-lake-dev-secret'],
  ),
  LAKE_BUCKET: str('bucket of the lake: bronze/org=<org>/..., gold/org=<org>/<table>', 'datapilot-lake'),
  LAKE_QUERY_TIMEOUT_MS: int('deadline of one Spark statement, in milliseconds', 30_000, 1_000, 600_000),
  LAKE_MAX_CONCURRENT_STATEMENTS_PER_ORG: int(
    'Spark statements one organization may have running at once in this process (rows, row counts, questions)',
    DEFAULT_STATEMENT_LIMITS.perOrg,
    1,
    1_000,
  ),
  LAKE_STATEMENT_WAIT_MS: int(
    'how long a statement of an organization at its limit waits for a slot before RATE_LIMITED, in milliseconds',
    DEFAULT_STATEMENT_LIMITS.waitMs,
    0,
    60_000,
  ),
  LAKE_RESULT_CACHE_MB: int(
    'bound on the result cache of lake questions (per process, all organizations), in MiB; 0 turns it off',
    DEFAULT_RESULT_CACHE.maxBytes >> 20,
    0,
    4_096,
  ),
  LAKE_RESULT_CACHE_FRESH_MS: int(
    'how long a cached result trusts a Delta version without checking the log again, in milliseconds',
    DEFAULT_RESULT_CACHE.freshMs,
    0,
    60_000,
  ),
  LAKE_MAX_SESSIONS: int(
    'Spark Connect sessions this process keeps open (one per organization; least recently used released first)',
    DEFAULT_SESSION_LIMITS.max,
    1,
    10_000,
  ),
  LAKE_SESSION_IDLE_MS: int(
    'an organization session unused this long is released on the Spark server, in milliseconds',
    DEFAULT_SESSION_LIMITS.idleMs,
    1_000,
    86_400_000,
  ),
  LAKE_PREWARM: int(
    "1: listing an organization's tables warms its Spark session in the background (views, Delta snapshots); 0: off",
    0,
    0,
    1,
  ),
};

/** The parsed {@link LAKE_CONFIG} values. */
export type LakeConfig = {
  SPARK_REMOTE: string;
  S3_ENDPOINT: string;
  S3_PUBLIC_ENDPOINT?: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  LAKE_BUCKET: string;
  LAKE_QUERY_TIMEOUT_MS: number;
  /** Default {@link DEFAULT_STATEMENT_LIMITS}.perOrg. */
  LAKE_MAX_CONCURRENT_STATEMENTS_PER_ORG?: number;
  /** Default {@link DEFAULT_STATEMENT_LIMITS}.waitMs. */
  LAKE_STATEMENT_WAIT_MS?: number;
  /** Default {@link DEFAULT_RESULT_CACHE}.maxBytes in MiB. */
  LAKE_RESULT_CACHE_MB?: number;
  /** Default {@link DEFAULT_RESULT_CACHE}.freshMs. */
  LAKE_RESULT_CACHE_FRESH_MS?: number;
  /** Default {@link DEFAULT_SESSION_LIMITS}.max. */
  LAKE_MAX_SESSIONS?: number;
  /** Default {@link DEFAULT_SESSION_LIMITS}.idleMs. */
  LAKE_SESSION_IDLE_MS?: number;
  /** 1: background warm-up of sessions on listing (default 0). */
  LAKE_PREWARM?: number;
};

/** The lake's object store from {@link LAKE_CONFIG} values. @throws Error for a malformed bucket or endpoint. */
export function objectStoreFromConfig(config: LakeConfig): ObjectStore {
  return createObjectStore({
    endpoint: config.S3_ENDPOINT,
    publicEndpoint: config.S3_PUBLIC_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    bucket: config.LAKE_BUCKET,
  });
}

/**
 * Creates the Spark Connect client, the object store and the org-scoped lake from {@link LAKE_CONFIG} values
 * (statement limits, result cache, session bounds: the defaults of {@link DEFAULT_STATEMENT_LIMITS},
 * {@link DEFAULT_RESULT_CACHE}, {@link DEFAULT_SESSION_LIMITS} when absent; no background warm-up).
 */
export function createLakeFromConfig(
  config: LakeConfig,
  logger: Logger,
): { spark: SparkConnectClient; store: ObjectStore; lake: Lake } {
  const spark = createSparkConnectClient({ remote: config.SPARK_REMOTE, timeoutMs: config.LAKE_QUERY_TIMEOUT_MS });
  const store = objectStoreFromConfig(config);
  const statementLimits = {
    perOrg: config.LAKE_MAX_CONCURRENT_STATEMENTS_PER_ORG ?? DEFAULT_STATEMENT_LIMITS.perOrg,
    waitMs: config.LAKE_STATEMENT_WAIT_MS ?? DEFAULT_STATEMENT_LIMITS.waitMs,
  };
  const resultCache = {
    maxBytes: (config.LAKE_RESULT_CACHE_MB ?? DEFAULT_RESULT_CACHE.maxBytes >> 20) << 20,
    freshMs: config.LAKE_RESULT_CACHE_FRESH_MS ?? DEFAULT_RESULT_CACHE.freshMs,
  };
  const sessions = {
    max: config.LAKE_MAX_SESSIONS ?? DEFAULT_SESSION_LIMITS.max,
    idleMs: config.LAKE_SESSION_IDLE_MS ?? DEFAULT_SESSION_LIMITS.idleMs,
  };
  const prewarm = config.LAKE_PREWARM === 1;
  return {
    spark,
    store,
    lake: createLake({ spark, store, logger, statementLimits, resultCache, sessions, prewarm }),
  };
}
