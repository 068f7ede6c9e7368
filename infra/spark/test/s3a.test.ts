// Delta on S3 through s3a: a real S3Proxy and a real Spark Connect server started with its keys, driven by SQL
// from the lake's Spark Connect client. Expected counts and sums are stated by hand from the ranges written
// (sum of 0..n-1 = n(n-1)/2), and the objects are looked up in the bucket with the S3 SDK, not through Spark.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createSparkConnectClient, type SparkConnectClient } from '@datapilot/lake-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../net.ts';
import {
  ensureBucket,
  ensureS3ProxyInstalled,
  s3ClientConfig,
  startS3Proxy,
  type RunningS3Proxy,
} from '../../s3/index.ts';
import {
  deltaJarsToPass,
  ensureSparkInstalled,
  jarVersion,
  s3aConf,
  sparkHome,
  startSparkConnect,
  type RunningSparkConnect,
} from '../index.ts';
import { REPO_ROOT, sparkPaths } from '../paths.ts';

const quiet = () => undefined;
const BUCKET = 'lake';
const ORG = '3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c';
const gold = (table: string) => `s3a://${BUCKET}/gold/org=${ORG}/${table}`;
const delta = (table: string) => `delta.\`${gold(table)}\``;

let dir: string;
let s3proxy: RunningS3Proxy;
let server: RunningSparkConnect;
let spark: SparkConnectClient;
let s3: S3Client;
const session = randomUUID();
const sql = async (text: string) => (await spark.executeSql(session, text)).rows;

/** Every key under `prefix` in the bucket with its size in bytes, listed page by page with the S3 SDK. */
async function listKeys(prefix: string): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.set(o.Key ?? '', o.Size ?? -1);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

describe('s3a settings (no process)', () => {
  it('names the endpoint, region, path style, TLS by scheme and the simple credentials provider', () => {
    const keys = { region: 'eu-west-3', accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 's'.repeat(40) };
    expect(s3aConf({ ...keys, endpoint: 'http://127.0.0.1:9100' })).toEqual({
      'spark.hadoop.fs.s3a.endpoint': 'http://127.0.0.1:9100',
      'spark.hadoop.fs.s3a.endpoint.region': 'eu-west-3',
      'spark.hadoop.fs.s3a.path.style.access': 'true',
      'spark.hadoop.fs.s3a.connection.ssl.enabled': 'false',
      'spark.hadoop.fs.s3a.aws.credentials.provider': 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
      'spark.hadoop.fs.s3a.access.key': 'AKIAEXAMPLEEXAMPLE00',
      'spark.hadoop.fs.s3a.secret.key': 's'.repeat(40),
    });
    expect(s3aConf({ ...keys, endpoint: 'https://s3.example.org' })['spark.hadoop.fs.s3a.connection.ssl.enabled']).toBe(
      'true',
    );
    expect(() => s3aConf({ ...keys, endpoint: 'ftp://x' })).toThrow(RangeError);
  });

  it('hands Spark hadoop-aws of pyspark’s Hadoop version and the AWS SDK modules, not Netty or the bundle', () => {
    // pyspark 4.1.4 ships hadoop-client-api-3.4.2.jar (see its jars/ folder).
    expect(jarVersion(path.join(sparkHome(), 'jars'), 'hadoop-client-api')).toBe('3.4.2');
    expect(jarVersion(sparkPaths().jarsDir, 'hadoop-aws')).toBe('3.4.2');
    const names = deltaJarsToPass().map((j) => path.basename(j));
    for (const jar of [
      'hadoop-aws-3.4.2.jar',
      's3-2.29.52.jar',
      's3-transfer-manager-2.29.52.jar',
      'apache-client-2.29.52.jar',
    ])
      expect(names).toContain(jar);
    expect(names.filter((n) => /^(netty-(?!nio-client)|bundle-|httpclient-)/.test(n))).toEqual([]);
  });
});

describe('Delta on S3Proxy through a Spark Connect server', () => {
  beforeAll(async () => {
    await Promise.all([ensureS3ProxyInstalled(quiet), ensureSparkInstalled(quiet)]);
    dir = await mkdtemp(path.join(tmpdir(), 'dp-s3a-'));
    s3proxy = await startS3Proxy({ port: await freePort(), dataDir: path.join(dir, 's3'), log: quiet });
    await ensureBucket(s3proxy, BUCKET);
    s3 = new S3Client(s3ClientConfig(s3proxy));
    server = await startSparkConnect({
      port: await freePort(),
      s3: s3proxy,
      log: quiet,
      driverMemory: '1g',
      conf: { 'spark.hadoop.fs.s3a.multipart.size': '8M' }, // smallest allowed part is 5 MiB
    });
    spark = createSparkConnectClient({ remote: server.remote, timeoutMs: 300_000 });
  }, 300_000);

  afterAll(async () => {
    spark?.close();
    s3?.destroy();
    await server?.stop();
    await s3proxy?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('keeps the S3 secret off every command line and removes its settings file once ready', () => {
    const withSecret = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(s3proxy.secretAccessKey);
        } catch {
          return false; // gone meanwhile
        }
      });
    expect(withSecret).toEqual([]);
    expect(readFileSync(`/proc/${server.pid}/cmdline`, 'utf8')).toContain('--properties-file');
    const stateDir = path.join(REPO_ROOT, '.local', 'spark', `connect-${server.port}`);
    expect(existsSync(path.join(stateDir, 'spark-connect.properties'))).toBe(false);
  });

  it('does not show the keys to a client: SET answers them redacted', async () => {
    expect(await sql('SET spark.hadoop.fs.s3a.secret.key')).toEqual([
      ['spark.hadoop.fs.s3a.secret.key', '*********(redacted)'],
    ]);
    expect(await sql('SET spark.hadoop.fs.s3a.endpoint')).toEqual([['spark.hadoop.fs.s3a.endpoint', s3proxy.endpoint]]);
  });

  it('writes, appends, overwrites and reads an older version', async () => {
    await sql(`CREATE OR REPLACE TABLE ${delta('numbers')} USING delta AS SELECT id, id % 3 AS k FROM range(0, 100)`);
    expect(await sql(`SELECT count(*), sum(id) FROM ${delta('numbers')}`)).toEqual([[100, 4950]]); // 100·99/2
    await sql(`INSERT INTO ${delta('numbers')} SELECT id, id % 3 AS k FROM range(100, 150)`);
    expect(await sql(`SELECT count(*), sum(id) FROM ${delta('numbers')}`)).toEqual([[150, 11175]]); // 150·149/2
    await sql(`INSERT OVERWRITE ${delta('numbers')} SELECT id, id % 3 AS k FROM range(0, 10)`);
    expect(await sql(`SELECT count(*), sum(id) FROM ${delta('numbers')}`)).toEqual([[10, 45]]);
    expect(await sql(`SELECT count(*), sum(id) FROM ${delta('numbers')} VERSION AS OF 0`)).toEqual([[100, 4950]]);
    expect(await sql(`SELECT count(*), sum(id) FROM ${delta('numbers')} VERSION AS OF 1`)).toEqual([[150, 11175]]);
  });

  it('keeps the history: version 2 overwrite, 1 append, 0 the create', async () => {
    const rows = await sql(`DESCRIBE HISTORY ${delta('numbers')}`);
    // DESCRIBE HISTORY columns: version, timestamp, userId, userName, operation, operationParameters, ...
    expect(rows.map((r) => [r[0], r[4], (r[5] as Record<string, string>).mode ?? null])).toEqual([
      [2, 'WRITE', 'Overwrite'],
      [1, 'WRITE', 'Append'],
      [0, 'CREATE OR REPLACE TABLE AS SELECT', null],
    ]);
  });

  it('deletes and merges', async () => {
    // After the overwrite: ids 0..9. k = 0 for 0, 3, 6, 9: 4 rows deleted, 6 left (1 2 4 5 7 8), sum 45 - 18 = 27.
    await sql(`DELETE FROM ${delta('numbers')} WHERE k = 0`);
    expect(await sql(`SELECT count(*), sum(id) FROM ${delta('numbers')}`)).toEqual([[6, 27]]);
    // Source 8..12: 8 matches (k becomes 9); 9, 10, 11, 12 are inserted with k = -1.
    await sql(
      `MERGE INTO ${delta('numbers')} t USING (SELECT id FROM range(8, 13)) s ON t.id = s.id ` +
        'WHEN MATCHED THEN UPDATE SET k = 9 WHEN NOT MATCHED THEN INSERT (id, k) VALUES (s.id, -1)',
    );
    expect(await sql(`SELECT k, count(*), sum(id) FROM ${delta('numbers')} GROUP BY k ORDER BY k`)).toEqual([
      [-1, 4, 42], // 9 + 10 + 11 + 12
      [1, 3, 12], // 1 + 4 + 7
      [2, 2, 7], // 2 + 5 (8 moved to k = 9)
      [9, 1, 8],
    ]);
  });

  it('writes a partitioned table as k=<value>/ prefixes and prunes on read', async () => {
    await sql(
      `CREATE OR REPLACE TABLE ${delta('parts')} USING delta PARTITIONED BY (k) ` +
        'AS SELECT id, CAST(id % 3 AS INT) AS k FROM range(0, 30)',
    );
    // k = 1: ids 1, 4, ..., 28 (10 of them), sum 10 · (1 + 28) / 2 = 145.
    expect(await sql(`SELECT count(*), sum(id) FROM ${delta('parts')} WHERE k = 1`)).toEqual([[10, 145]]);
    const keys = [...(await listKeys(`gold/org=${ORG}/parts/`)).keys()];
    const partitions = new Set(keys.filter((k) => k.endsWith('.parquet')).map((k) => k.split('/')[3]));
    expect(partitions).toEqual(new Set(['k=0', 'k=1', 'k=2']));
  });

  it('writes a multi-MB file as a multipart upload and reads it back', async () => {
    // 500 000 rows of a 64-character hex digest in one file: about 35 MB, so s3a uploads it in parts of
    // fs.s3a.multipart.size (8 MiB on this server; 64 MiB by default, the same code path).
    await sql(
      `CREATE OR REPLACE TABLE ${delta('big')} USING delta AS ` +
        'SELECT /*+ REPARTITION(1) */ id, sha2(CAST(id AS STRING), 256) AS h FROM range(0, 500000)',
    );
    expect(await sql(`SELECT count(*), sum(id), count(DISTINCT h) FROM ${delta('big')}`)).toEqual([
      [500_000, 124_999_750_000, 500_000], // 500 000 · 499 999 / 2
    ]);
    const parquet = [...(await listKeys(`gold/org=${ORG}/big/`))].filter(([k]) => k.endsWith('.parquet'));
    expect(parquet.length).toBe(1);
    const [key, size] = parquet[0] ?? ['', 0];
    expect(size).toBeGreaterThan(3 * 8 * 1024 * 1024);
    // A multipart object's ETag is "<md5 of the part md5s>-<number of parts>".
    const parts = Math.ceil(size / (8 * 1024 * 1024));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ETag).toMatch(new RegExp(`-${parts}"$`));
  }, 300_000);

  it('puts the objects in the bucket: gold/org=<org>/<table>/ with its _delta_log', async () => {
    const keys = await listKeys(`gold/org=${ORG}/numbers/`);
    const log = [...keys.keys()].filter((k) => k.includes('/_delta_log/') && k.endsWith('.json')).sort();
    // Versions 0 create, 1 append, 2 overwrite, 3 delete, 4 merge.
    expect(log).toEqual(
      [0, 1, 2, 3, 4].map((v) => `gold/org=${ORG}/numbers/_delta_log/${String(v).padStart(20, '0')}.json`),
    );
    expect([...keys.keys()].some((k) => /^gold\/org=[^/]+\/numbers\/part-[^/]+\.parquet$/.test(k))).toBe(true);
    const first = JSON.parse(
      readFileSync(
        path.join(dir, 's3', BUCKET, 'gold', `org=${ORG}`, 'numbers', '_delta_log', '00000000000000000000.json'),
        'utf8',
      )
        .split('\n')
        .find((l) => l.includes('"metaData"')) ?? '{}',
    ) as { metaData?: { schemaString?: string } };
    expect(JSON.parse(first.metaData?.schemaString ?? '{}')).toMatchObject({
      fields: [
        { name: 'id', type: 'long' },
        { name: 'k', type: 'long' },
      ],
    });
  });
});
