/**
 * The Spark Connect client: connection strings and message sanitizing (no I/O), then value encoding,
 * Arrow decoding and error mapping against the real server (SPARK_REMOTE, default sc://127.0.0.1:15002).
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ABORT_GRACE_MS,
  StatementAbortedError,
  createSparkConnectClient,
  parseSparkRemote,
  safeSparkMessage,
  sqlDate,
  toLiteral,
  type SparkConnectClient,
} from '../src/index.ts';

const SPARK_REMOTE = process.env.SPARK_REMOTE || 'sc://127.0.0.1:15002';

/**
 * Spark Connect's `Interrupt` with INTERRUPT_TYPE_ALL for `sessionId`, sent here over gRPC without the client under
 * test: the ids of the operations Spark was still running in that session.
 */
async function interruptAll(sessionId: string): Promise<string[]> {
  const def = protoLoader.loadSync(fileURLToPath(new URL('../src/proto/spark_connect.proto', import.meta.url)), {
    keepCase: true,
    enums: String,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const { host, port } = parseSparkRemote(SPARK_REMOTE);
  const stub = new pkg.spark.connect.SparkConnectService(`${host}:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise<string[]>((resolve, reject) =>
      stub.Interrupt(
        { session_id: sessionId, user_context: { user_id: 'datapilot' }, interrupt_type: 'INTERRUPT_TYPE_ALL' },
        (err: Error | null, res: { interrupted_ids?: string[] }) =>
          err ? reject(err) : resolve(res.interrupted_ids ?? []),
      ),
    );
  } finally {
    stub.close();
  }
}

describe('parseSparkRemote', () => {
  it('reads host, port and parameters', () => {
    expect(parseSparkRemote('sc://127.0.0.1:15002')).toEqual({
      host: '127.0.0.1',
      port: 15002,
      token: undefined,
      userId: undefined,
      useSsl: false,
    });
    expect(parseSparkRemote('sc://spark.internal/;token=abc%3D;user_id=lake;use_ssl=true')).toEqual({
      host: 'spark.internal',
      port: 15002,
      token: 'abc=',
      userId: 'lake',
      useSsl: true,
    });
    expect(parseSparkRemote('sc://[::1]:15003/;token=t')).toMatchObject({ host: '::1', port: 15003, token: 't' });
  });

  it('rejects malformed strings and a token over plaintext to a remote host', () => {
    expect(() => parseSparkRemote('http://x:1')).toThrow(/sc:\/\//);
    expect(() => parseSparkRemote('sc://x:99999')).toThrow(/port/);
    expect(() => parseSparkRemote('sc://x:1/;novalue')).toThrow(/parameter/);
    expect(() => createSparkConnectClient({ remote: 'sc://spark.example.com:15002/;token=t' })).toThrow(/TLS/);
  });
});

describe('toLiteral / sqlDate', () => {
  it('encodes each JS type as the documented Spark literal', () => {
    expect(toLiteral('a', 'x')).toEqual({ string: 'x' });
    expect(toLiteral('a', 42)).toEqual({ long: '42' });
    expect(toLiteral('a', 2.5)).toEqual({ double: 2.5 });
    expect(toLiteral('a', 2n ** 62n)).toEqual({ long: '4611686018427387904' });
    expect(toLiteral('a', true)).toEqual({ boolean: true });
    expect(toLiteral('a', null)).toEqual({ null: { null: {} } });
    expect(toLiteral('a', new Date('1970-01-01T00:00:01.5Z'))).toEqual({ timestamp: '1500000' });
    expect(toLiteral('a', sqlDate('1970-01-11'))).toEqual({ date: 10 });
    expect(() => toLiteral('a', 2n ** 63n)).toThrow(/64-bit/);
    expect(() => sqlDate('2023-02-29')).toThrow(/date/);
  });
});

describe('safeSparkMessage', () => {
  it('keeps the first line, drops SQLSTATE and paths', () => {
    expect(
      safeSparkMessage(
        '[PATH_NOT_FOUND] Path does not exist: file:/data/lake/gold/org=x/t. SQLSTATE: 42K03\n+- Project [a#1]',
      ),
    ).toBe('[PATH_NOT_FOUND] Path does not exist: <path>');
    expect(safeSparkMessage('\n[X] table `/a/b` and `ok` (1 / 0)')).toBe('[X] table `<path>` and `ok` (1 / 0)');
  });
});

describe('against Spark Connect', () => {
  let client: SparkConnectClient;
  const session = randomUUID();
  beforeAll(() => {
    client = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 60_000 });
  });
  afterAll(async () => {
    await client.releaseSession(session);
    client.close();
  });

  it('decodes Arrow values to JSON-safe values with Spark type names', async () => {
    const res = await client.executeSql(
      session,
      `SELECT 1 AS i, CAST(9007199254740993 AS BIGINT) AS big, CAST(42 AS BIGINT) AS small, 'x' AS s,
        DATE'2024-02-29' AS d, DATE'1960-06-01' AS old, TIMESTAMP'2024-01-01 12:34:56.789123Z' AS ts,
        TIMESTAMP_NTZ'2024-01-01 00:00:00' AS ntz, CAST(-1.25 AS DECIMAL(10,2)) AS dec, 1.5D AS dbl,
        CAST('NaN' AS DOUBLE) AS nan, true AS b, CAST(NULL AS STRING) AS n, array(1, 2) AS arr,
        named_struct('k', 1, 'd', DATE'2020-01-01') AS st, map('a', 1) AS m, X'0102' AS bin`,
    );
    expect(res.columns.map((c) => `${c.name}:${c.type}`)).toEqual([
      'i:int',
      'big:bigint',
      'small:bigint',
      's:string',
      'd:date',
      'old:date',
      'ts:timestamp',
      'ntz:timestamp_ntz',
      'dec:decimal(10,2)',
      'dbl:double',
      'nan:double',
      'b:boolean',
      'n:string',
      'arr:array<int>',
      'st:struct<k:int,d:date>',
      'm:map<string,int>',
      'bin:binary',
    ]);
    expect(res.columns.find((c) => c.name === 'n')!.nullable).toBe(true);
    expect(res.columns.find((c) => c.name === 'i')!.nullable).toBe(false);
    expect(res.rows).toEqual([
      [
        1,
        '9007199254740993',
        42,
        'x',
        '2024-02-29',
        '1960-06-01',
        '2024-01-01T12:34:56.789123Z',
        '2024-01-01T00:00:00.000',
        -1.25,
        1.5,
        'NaN',
        true,
        null,
        [1, 2],
        { k: 1, d: '2020-01-01' },
        { a: 1 },
        'AQI=',
      ],
    ]);
  });

  it('binds named parameters as typed literals, never as SQL text', async () => {
    const evil = "x'; SELECT 1; --\\";
    const res = await client.executeSql(
      session,
      'SELECT :s AS s, :n AS n, :f AS f, :b AS b, :z AS z, :d AS d, :t AS t, typeof(:n) AS tn, :s = :s2 AS same',
      {
        s: evil,
        s2: evil,
        n: 7,
        f: 0.5,
        b: false,
        z: null,
        d: sqlDate('2024-02-29'),
        t: new Date('2024-03-01T10:00:00.250Z'),
      },
    );
    expect(res.rows).toEqual([[evil, 7, 0.5, false, null, '2024-02-29', '2024-03-01T10:00:00.250Z', 'bigint', true]]);
    await expect(client.executeSql(session, 'SELECT :x', { 'x; DROP': 1 })).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('maps Spark errors to DataPilot codes with safe messages', async () => {
    const notFound = await client.executeSql(session, 'SELECT * FROM no_such_table').catch((e) => e);
    expect(notFound.extensions.code).toBe('NOT_FOUND');
    expect(notFound.errorClass).toBe('TABLE_OR_VIEW_NOT_FOUND');
    expect(notFound.message).toBe('`no_such_table` was not found.');

    const unresolved = await client.executeSql(session, 'SELECT no_such_column').catch((e) => e);
    expect(unresolved.extensions.code).toBe('BAD_USER_INPUT');
    expect(unresolved.errorClass).toMatch(/^UNRESOLVED_COLUMN/);
    expect(unresolved.message).toContain('`no_such_column`');
    for (const leak of ['SQLSTATE', 'Project', 'org.apache', '\n']) expect(unresolved.message).not.toContain(leak);

    const parse = await client.executeSql(session, 'SELEC 1').catch((e) => e);
    expect(parse.extensions.code).toBe('BAD_USER_INPUT');
    expect(parse.errorClass).toBe('PARSE_SYNTAX_ERROR');

    const data = await client.executeSql(session, 'SELECT 1 / 0').catch((e) => e);
    expect(data.extensions.code).toBe('BAD_USER_INPUT');
    expect(data.errorClass).toBe('DIVIDE_BY_ZERO');
  });

  it('answers UPSTREAM_TIMEOUT past the deadline and UPSTREAM_UNAVAILABLE when nothing listens', async () => {
    const started = Date.now();
    const slow = await client
      .executeSql(session, 'SELECT count(*) FROM range(1000000000000)', {}, { timeoutMs: 1_000 })
      .catch((e) => e);
    expect(slow.extensions.code).toBe('UPSTREAM_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    // The operation was interrupted on the server: a new job gets the executor cores (local mode has only a
    // few; the endless count would hold them) and the session is still usable.
    const after = Date.now();
    expect((await client.executeSql(session, 'SELECT count(*) FROM range(1000)')).rows).toEqual([[1000]]);
    expect(Date.now() - after).toBeLessThan(20_000);

    const down = createSparkConnectClient({ remote: 'sc://127.0.0.1:1', timeoutMs: 5_000 });
    const err = await down.executeSql(randomUUID(), 'SELECT 1').catch((e) => e);
    down.close();
    expect(err.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('a signal interrupts the running statement on the server (Interrupt by operation id) within the grace time', async () => {
    const s = randomUUID();
    await client.executeSql(s, 'SELECT 1'); // the session exists: what follows times the statement alone
    // Minutes of work on this machine: 4e10 pairs.
    const long =
      'SELECT count(*) FROM range(200000) a CROSS JOIN range(200000) b WHERE (a.id * 7 + b.id) % 1000003 = 0';
    const controller = new AbortController();
    const started = Date.now();
    const pending = client.executeSql(s, long, {}, { signal: controller.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 1_500));
    const abortedAt = Date.now();
    controller.abort('the user cancelled');
    const err = await pending;
    const settledMs = Date.now() - abortedAt;
    expect(err).toBeInstanceOf(StatementAbortedError);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'the user cancelled' });
    expect(err.operationId).toMatch(/^[0-9a-f-]{36}$/);
    // Spark confirmed it: the operation id was in the Interrupt response, or its stream ended OPERATION_CANCELED.
    expect(err.interrupted).toBe(true);
    expect(settledMs).toBeLessThan(ABORT_GRACE_MS);
    expect(abortedAt - started).toBeLessThan(10_000);
    // Independently of the client under test: an "interrupt everything" of the session finds nothing running.
    expect(await interruptAll(s)).toEqual([]);
    // And the session still answers.
    expect((await client.executeSql(s, 'SELECT count(*) FROM range(1000)')).rows).toEqual([[1000]]);
    await client.releaseSession(s);
  }, 60_000);

  it('a signal that fired before the call sends nothing', async () => {
    const s = randomUUID();
    const controller = new AbortController();
    controller.abort();
    const err = await client.executeSql(s, 'SELECT 1', {}, { signal: controller.signal }).catch((e) => e);
    expect(err).toBeInstanceOf(StatementAbortedError);
    expect(err).toMatchObject({ operationId: null, interrupted: false });
    // A signal after the result changes nothing.
    const late = new AbortController();
    const res = await client.executeSql(s, 'SELECT 2 AS two', {}, { signal: late.signal });
    late.abort();
    expect(res.rows).toEqual([[2]]);
    await client.releaseSession(s);
  });

  it('reports a released session as lost (INVALID_HANDLE.SESSION_CLOSED)', async () => {
    const s = randomUUID();
    await client.executeSql(s, 'SELECT 1');
    await client.releaseSession(s);
    const err = await client.executeSql(s, 'SELECT 1').catch((e) => e);
    expect(err.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.errorClass).toBe('INVALID_HANDLE.SESSION_CLOSED');
  });
});
