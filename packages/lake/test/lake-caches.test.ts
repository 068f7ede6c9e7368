/**
 * Row counts from the Delta log, the result cache of `query()` and the bound on org sessions, against the real Spark
 * Connect server and Delta tables on S3Proxy (lake-fixture.ts). Expected values are the fixture's (stated by hand);
 * the Spark client is wrapped (calls go to Spark) to see which statements reach it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLake,
  createSparkConnectClient,
  goldTablePrefix,
  type Lake,
  type SparkConnectClient,
} from '../src/index.ts';
import {
  CUSTOMERS,
  ORDER_COUNT,
  ORG_A,
  ORG_B,
  ORG_C,
  SPARK_REMOTE,
  createLakeFixture,
  type LakeFixture,
} from './lake-fixture.ts';

let fx: LakeFixture;
let spark: SparkConnectClient;
/** Every statement sent to Spark, and every session released. */
const sent: string[] = [];
const released: string[] = [];
let recording: SparkConnectClient;
const lakes: Lake[] = [];
const A = { orgId: ORG_A };
const B = { orgId: ORG_B };
const C = { orgId: ORG_C };
const D = { orgId: '0d0d0d0d-0000-4000-8000-00000000000d' };

const newLake = (opts: Partial<Parameters<typeof createLake>[0]> = {}) => {
  const lake = createLake({ spark: recording, store: fx.store, ...opts });
  lakes.push(lake);
  return lake;
};

beforeAll(async () => {
  fx = await createLakeFixture();
  spark = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 120_000 });
  recording = {
    executeSql(sid, sql, args, opts) {
      sent.push(sql);
      return spark.executeSql(sid, sql, args, opts);
    },
    releaseSession: (id) => {
      released.push(id);
      return spark.releaseSession(id);
    },
    close: () => spark.close(),
  };
}, 300_000);

afterAll(async () => {
  for (const l of lakes) await l.close();
  spark?.close();
  await fx?.cleanup();
});

describe('row counts from the Delta log', () => {
  it('counts from numRecords without a Spark statement, across commits, deletes and checkpoints', async () => {
    const lake = newLake();
    sent.length = 0;
    expect(await lake.forTenant(A).rowCounts(['customers', 'orders', 'nope'])).toMatchObject([
      CUSTOMERS.length, // CREATE of 3 + INSERT of 2: two commits
      ORDER_COUNT,
      { extensions: { code: 'NOT_FOUND' } },
    ]);
    expect(sent).toEqual([]);

    // A checkpoint every 2 commits; a DELETE rewrites files (remove + add actions).
    const uri = fx.tableUri(ORG_C, 'counted');
    await fx.write(
      `CREATE TABLE delta.\`${uri}\` USING delta TBLPROPERTIES ('delta.checkpointInterval' = '2') AS SELECT id FROM range(10)`,
    );
    await fx.write(`INSERT INTO delta.\`${uri}\` SELECT id FROM range(10, 15)`); // version 1: 15 rows
    await fx.write(`DELETE FROM delta.\`${uri}\` WHERE id < 4`); // version 2 (checkpoint): 11 rows
    await fx.write(`INSERT INTO delta.\`${uri}\` SELECT id FROM range(100, 103)`); // version 3: 14 rows
    const keys = (await fx.store.listObjects(`${goldTablePrefix(ORG_C, 'counted')}_delta_log/`)).map((o) => o.key);
    expect(keys.some((k) => /00000000000000000002\.checkpoint\.parquet$/.test(k))).toBe(true);
    sent.length = 0;
    const c = lake.forTenant(C);
    expect(await c.getTable('counted')).toMatchObject({ version: 3 });
    expect(await c.rowCount('counted')).toBe(14);
    expect(sent).toEqual([]);
  }, 300_000);

  it('falls back to COUNT(*) in Spark for a table whose log has no statistics', async () => {
    const prefix = goldTablePrefix(ORG_C, 'nostats');
    await fx.write(`CREATE TABLE delta.\`${fx.tableUri(ORG_C, 'nostats')}\` USING delta AS SELECT id FROM range(6)`);
    // The same commit with `stats` taken out of every `add` (statistics are optional in the protocol).
    const commit = `${prefix}_delta_log/00000000000000000000.json`;
    const text = new TextDecoder().decode(await fx.store.get(commit));
    const stripped = text
      .split('\n')
      .map((l) => {
        if (!l.includes('"add"')) return l;
        const a = JSON.parse(l) as { add: Record<string, unknown> };
        delete a.add.stats;
        return JSON.stringify(a);
      })
      .join('\n');
    await fx.store.put(commit, stripped);
    const lake = newLake();
    sent.length = 0;
    expect(await lake.forTenant(C).rowCount('nostats')).toBe(6);
    expect(sent.some((s) => /COUNT\(\*\)/.test(s))).toBe(true);
  }, 300_000);
});

describe('the result cache of query()', () => {
  it('answers the same statement again without Spark, per organization; a new version is never served stale', async () => {
    const lake = newLake({ resultCache: { maxBytes: 1 << 20, freshMs: 0 } });
    // Org D gets its own `customers` (2 rows): the same statement text must answer its own count.
    await fx.write(
      `CREATE TABLE delta.\`${fx.tableUri(D.orgId, 'customers')}\` USING delta AS SELECT id FROM range(2)`,
    );
    const q = 'SELECT count(*) AS n FROM customers WHERE id >= :min';
    expect((await lake.forTenant(A).query(q, { min: 0 })).rows).toEqual([[CUSTOMERS.length]]);
    sent.length = 0;
    const started = performance.now();
    expect((await lake.forTenant(A).query(q, { min: 0 })).rows).toEqual([[CUSTOMERS.length]]);
    const hitMs = performance.now() - started;
    expect(sent).toEqual([]); // served from the cache
    // freshMs 0: the hit probed the log (one listing); still well under Spark's time.
    expect(hitMs).toBeLessThan(500);
    // Other arguments, another org: not the cached answer.
    expect((await lake.forTenant(A).query(q, { min: 3 })).rows).toEqual([[3]]);
    expect((await lake.forTenant(D).query(q, { min: 0 })).rows).toEqual([[2]]);
    // An org without a `customers` table: NOT_FOUND, never org A's or D's cached result.
    await expect(lake.forTenant(B).query(q, { min: 0 })).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });

    // A new Delta version of A's customers: the next answer counts it.
    await fx.write(
      `INSERT INTO delta.\`${fx.tableUri(ORG_A, 'customers')}\` SELECT 6, 'Eve', 'Oslo', DATE'2024-04-01', 4.0`,
    );
    expect((await lake.forTenant(A).query(q, { min: 0 })).rows).toEqual([[CUSTOMERS.length + 1]]);
    expect((await lake.forTenant(D).query(q, { min: 0 })).rows).toEqual([[2]]);
    await fx.write(`DELETE FROM delta.\`${fx.tableUri(ORG_A, 'customers')}\` WHERE id = 6`);
  }, 300_000);

  it('a hit at the same version (confirmed within freshMs) costs no store request: ≤ 5 ms', async () => {
    let clock = 1_000_000;
    const lake = newLake({ now: () => clock });
    const q = 'SELECT customer_id, avg(amount) AS a FROM orders GROUP BY customer_id ORDER BY customer_id';
    const first = await lake.forTenant(A).query(q);
    // customer_id = id % 5 + 1; amount = id * 1.25: customer 1 has ids 5, 10, ..., 120 → avg 62.5 * 1.25.
    expect(first.rows[0]).toEqual([1, 78.125]);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      expect((await lake.forTenant(A).query(q)).rows).toEqual(first.rows);
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    expect(times[10]).toBeLessThan(5);
    // Past freshMs, the version is probed again (and still the same: served from the cache).
    clock += 5_000;
    sent.length = 0;
    expect((await lake.forTenant(A).query(q)).rows).toEqual(first.rows);
    expect(sent).toEqual([]);
    expect(lake.cachedResults().entries).toBe(1);
  }, 300_000);

  it('stays within its byte bound, least recently used out first', async () => {
    const lake = newLake({ resultCache: { maxBytes: 8 << 10, freshMs: 60_000 } });
    // Each result: 100 order ids, about 1.5 KB as estimated; at most a quarter of the bound each.
    const q = (i: number) => `SELECT order_id FROM orders WHERE order_id <= 100 + 0 * ${i}`;
    for (let i = 0; i < 10; i++) await lake.forTenant(A).query(q(i));
    const { entries, bytes } = lake.cachedResults();
    expect(bytes).toBeLessThanOrEqual(8 << 10);
    expect(entries).toBeGreaterThan(1);
    expect(entries).toBeLessThan(10);
    sent.length = 0;
    expect((await lake.forTenant(A).query(q(9))).rows).toHaveLength(100); // the newest: still cached
    expect(sent).toEqual([]);
    expect((await lake.forTenant(A).query(q(0))).rows).toHaveLength(100); // the oldest: gone, asked again
    expect(sent.filter((s) => s === q(0))).toHaveLength(1);
  }, 300_000);
});

describe('org sessions', () => {
  it('keeps at most `max` sessions, releasing the least recently used', async () => {
    const lake = newLake({ sessions: { max: 2, idleMs: 600_000 }, resultCache: { maxBytes: 0, freshMs: 0 } });
    released.length = 0;
    expect((await lake.forTenant(A).query('SELECT count(*) FROM orders')).rows).toEqual([[ORDER_COUNT]]);
    expect((await lake.forTenant(B).query('SELECT count(*) FROM inventory')).rows).toEqual([[3]]);
    expect(lake.sessionsOpen()).toBe(2);
    expect((await lake.forTenant(D).query('SELECT count(*) FROM customers')).rows).toEqual([[2]]);
    expect(lake.sessionsOpen()).toBe(2);
    expect(released).toHaveLength(1); // A's, the least recently used
    // A comes back in a new session, with its views registered again; B's goes.
    expect((await lake.forTenant(A).query('SELECT count(*) FROM orders')).rows).toEqual([[ORDER_COUNT]]);
    expect(lake.sessionsOpen()).toBe(2);
    expect(released).toHaveLength(2);
  }, 300_000);

  it('releases a session unused for idleMs', async () => {
    const lake = newLake({ sessions: { max: 8, idleMs: 1_000 }, resultCache: { maxBytes: 0, freshMs: 0 } });
    released.length = 0;
    expect((await lake.forTenant(B).query('SELECT count(*) FROM inventory')).rows).toEqual([[3]]);
    await new Promise((r) => setTimeout(r, 3_500));
    expect(lake.sessionsOpen()).toBe(0);
    expect(released).toHaveLength(1);
    expect((await lake.forTenant(B).query('SELECT count(*) FROM inventory')).rows).toEqual([[3]]);
  }, 300_000);
});

describe('views on demand, warm-up', () => {
  it('a statement registers only the views it names; warm() registers them all and reads a row of each', async () => {
    const lake = newLake({ resultCache: { maxBytes: 0, freshMs: 0 } });
    sent.length = 0;
    expect((await lake.forTenant(A).query('SELECT count(*) FROM customers')).rows).toEqual([[CUSTOMERS.length]]);
    const views = () => sent.filter((x) => x.startsWith('CREATE OR REPLACE TEMPORARY VIEW'));
    expect(views()).toEqual([expect.stringContaining('VIEW `customers`')]);

    const warmed = newLake({ resultCache: { maxBytes: 0, freshMs: 0 } });
    sent.length = 0;
    await warmed.forTenant(A).warm();
    expect(views().sort()).toEqual([
      expect.stringContaining('VIEW `customers`'),
      expect.stringContaining('VIEW `orders`'),
    ]);
    expect(sent.filter((x) => / LIMIT 1$/.test(x)).sort()).toEqual([
      'SELECT * FROM `customers` LIMIT 1',
      'SELECT * FROM `orders` LIMIT 1',
    ]);
    expect(warmed.sessionsOpen()).toBe(1);
    // The session is ready: the statement goes alone.
    sent.length = 0;
    expect((await warmed.forTenant(A).query('SELECT count(*) FROM orders')).rows).toEqual([[ORDER_COUNT]]);
    expect(sent).toEqual(['SELECT count(*) FROM orders']);
    // A second warm-up has nothing to do; org B's warm-up sees only B's table.
    sent.length = 0;
    await warmed.forTenant(A).warm();
    expect(sent).toEqual([]);
    await warmed.forTenant(B).warm();
    expect(sent.filter((x) => x.includes('LIMIT 1'))).toEqual(['SELECT * FROM `inventory` LIMIT 1']);
  }, 300_000);
});
