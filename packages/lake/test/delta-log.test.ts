/**
 * The Delta log reader against tables that the real Spark Connect server wrote over s3a into a real S3Proxy bucket.
 * Expected versions and columns are stated by hand from the statements the test runs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBucket, type TestBucket } from '../../../infra/s3/testing.ts';
import {
  createDeltaLogReader,
  createObjectStore,
  createSparkConnectClient,
  deltaTypeName,
  goldTablePrefix,
  parseSchemaString,
  s3aUri,
  type ObjectStore,
  type SparkConnectClient,
} from '../src/index.ts';
import { SPARK_REMOTE } from './lake-fixture.ts';

const ORG = '0e0e0e0e-0000-4000-8000-00000000000e';
let bucket: TestBucket;
let store: ObjectStore;
let spark: SparkConnectClient;
const session = randomUUID();
const sql = (q: string) => spark.executeSql(session, q);
const uri = (table: string) => `delta.\`${s3aUri(store.bucket, goldTablePrefix(ORG, table))}\``;

beforeAll(async () => {
  bucket = await createTestBucket();
  store = createObjectStore(bucket.store);
  spark = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 180_000 });
}, 120_000);

afterAll(async () => {
  await spark?.releaseSession(session).catch(() => undefined);
  spark?.close();
  store?.close();
  await bucket?.close();
});

describe('type names', () => {
  it('maps Delta schema types to the names Spark prints', () => {
    expect(deltaTypeName('long')).toBe('bigint');
    expect(deltaTypeName('integer')).toBe('int');
    expect(deltaTypeName('short')).toBe('smallint');
    expect(deltaTypeName('byte')).toBe('tinyint');
    expect(deltaTypeName('decimal(10,2)')).toBe('decimal(10,2)');
    expect(deltaTypeName({ type: 'array', elementType: 'string' })).toBe('array<string>');
    expect(deltaTypeName({ type: 'map', keyType: 'string', valueType: 'long' })).toBe('map<string,bigint>');
    expect(
      deltaTypeName({
        type: 'struct',
        fields: [
          { name: 'a', type: 'integer' },
          { name: 'b', type: 'timestamp_ntz' },
        ],
      }),
    ).toBe('struct<a:int,b:timestamp_ntz>');
    expect(() => parseSchemaString('{"type":"array","elementType":"string"}')).toThrow(/struct/);
  });
});

describe('snapshots of tables written by Spark', () => {
  it('reads version and columns from the commits, every Spark type name as DESCRIBE prints it', async () => {
    await sql(
      `CREATE TABLE ${uri('typed')} USING delta AS SELECT CAST(1 AS INT) AS i, CAST(2 AS BIGINT) AS l, ` +
        `CAST(3 AS SMALLINT) AS s, CAST(1.5 AS DECIMAL(7,3)) AS d, 'x' AS t, DATE'2024-01-02' AS day, ` +
        `array('a') AS tags, map('k', 1) AS m, named_struct('x', 1.0D, 'y', true) AS p`,
    );
    await sql(`INSERT INTO ${uri('typed')} SELECT 2, 3, 4, 2.5, 'y', DATE'2024-01-03', array(), map(), NULL`);
    const snap = await createDeltaLogReader(store).snapshot(goldTablePrefix(ORG, 'typed'));
    expect(snap?.version).toBe(1);
    expect(snap?.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'i int',
      'l bigint',
      's smallint',
      'd decimal(7,3)',
      't string',
      'day date',
      'tags array<string>',
      'm map<string,int>',
      'p struct<x:double,y:boolean>',
    ]);
    // The same names Spark itself reports for the table.
    const described = await sql(`SELECT * FROM ${uri('typed')} LIMIT 0`);
    expect(described.columns.map((c) => c.type)).toEqual(snap?.columns.map((c) => c.type));
  }, 180_000);

  it('finds the schema in the checkpoint when no later commit has a metaData action', async () => {
    // Version 0 (CREATE: metaData), versions 1..11 (INSERT: no metaData). Delta checkpoints every 10 commits, so
    // version 10 is a checkpoint and only commit 11 is newer: the schema must come from the checkpoint's Parquet.
    await sql(`CREATE TABLE ${uri('many')} USING delta AS SELECT CAST(0 AS INT) AS n, 'zero' AS word`);
    for (let v = 1; v <= 11; v++) await sql(`INSERT INTO ${uri('many')} VALUES (${v}, 'w${v}')`);
    const keys = (await store.listObjects(`${goldTablePrefix(ORG, 'many')}_delta_log/`)).map((o) =>
      o.key.split('/').pop(),
    );
    expect(keys).toContain('00000000000000000010.checkpoint.parquet');
    // Log cleanup would remove the commits the checkpoint replaces; remove them here so only the checkpoint is left.
    for (let v = 0; v <= 10; v++)
      await store.delete(`${goldTablePrefix(ORG, 'many')}_delta_log/${String(v).padStart(20, '0')}.json`);
    const snap = await createDeltaLogReader(store).snapshot(goldTablePrefix(ORG, 'many'));
    expect(snap).toEqual({
      version: 11,
      columns: [
        { name: 'n', type: 'int', nullable: true },
        { name: 'word', type: 'string', nullable: true },
      ],
    });
  }, 300_000);

  it('answers undefined for a prefix without a Delta log', async () => {
    await store.put(`${goldTablePrefix(ORG, 'plain')}part-0.parquet`, 'not delta');
    const reader = createDeltaLogReader(store);
    expect(await reader.snapshot(goldTablePrefix(ORG, 'plain'))).toBeUndefined();
    expect(await reader.version(goldTablePrefix(ORG, 'nothing'))).toBeUndefined();
  }, 60_000);
});
