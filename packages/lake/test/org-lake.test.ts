/**
 * The org-scoped lake against the real Spark Connect server and Delta tables written by the fixture.
 * Expected values come from what the fixture wrote (see lake-fixture.ts), not from the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ABORT_GRACE_MS,
  StatementAbortedError,
  createLake,
  createSparkConnectClient,
  type KeysetRowsPage,
  type Lake,
  type RowPosition,
  type SparkConnectClient,
  type SqlResult,
} from '../src/index.ts';
import {
  CUSTOMERS,
  CUSTOMER_COLUMNS,
  INJECTION_NAME,
  INVENTORY_COLUMNS,
  ORDER_COLUMNS,
  ORDER_COUNT,
  ORG_A,
  ORG_B,
  ORG_C,
  SPARK_REMOTE,
  createLakeFixture,
  orderRow,
  type LakeFixture,
} from './lake-fixture.ts';

let fx: LakeFixture;
let spark: SparkConnectClient;
let lake: Lake;
/** Every session id the lake used, in order (the client is wrapped, not mocked: calls go to Spark). */
const sessionsUsed: string[] = [];

const A = { orgId: ORG_A };
const B = { orgId: ORG_B };
const C = { orgId: ORG_C };

beforeAll(async () => {
  fx = await createLakeFixture();
  spark = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 120_000 });
  const recording: SparkConnectClient = {
    executeSql(sessionId, sql, args, opts) {
      if (sessionsUsed.at(-1) !== sessionId) sessionsUsed.push(sessionId);
      return spark.executeSql(sessionId, sql, args, opts);
    },
    releaseSession: (id) => spark.releaseSession(id),
    close: () => spark.close(),
  };
  lake = createLake({ spark: recording, store: fx.store });
}, 300_000);

afterAll(async () => {
  await lake?.close();
  spark?.close();
  await fx?.cleanup();
});

describe('org A', () => {
  it('lists exactly its Delta tables with columns and Delta versions', async () => {
    const tables = await lake.forTenant(A).listTables();
    expect(tables).toEqual([
      { name: 'customers', version: 1, columns: CUSTOMER_COLUMNS },
      { name: 'orders', version: 0, columns: ORDER_COLUMNS },
    ]);
  }, 120_000);

  it('counts rows, one statement for several tables, NOT_FOUND for unknown names', async () => {
    const a = lake.forTenant(A);
    expect(await a.rowCount('customers')).toBe(CUSTOMERS.length);
    const counts = await a.rowCounts(['orders', 'nope', 'customers', 'Bad-Name']);
    expect(counts.slice(0, 1)).toEqual([ORDER_COUNT]);
    expect(counts[2]).toBe(CUSTOMERS.length);
    expect(counts[1]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    expect(counts[3]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
  }, 120_000);

  it('pages through rows by keyset in a stable order, every row exactly once, forward and backward', async () => {
    const a = lake.forTenant(A);
    const fwd = (size: number, after: RowPosition | null = null, before: RowPosition | null = null) =>
      a.rowsPage('orders', { size, backward: false, after, before });
    const seen: unknown[] = [];
    const positions: RowPosition[] = [];
    let after: RowPosition | null = null;
    for (;;) {
      const { page, positions: ps } = await fwd(50, after);
      seen.push(...page.items.map((i) => i.node));
      positions.push(...ps);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!page.pageInfo.hasNextPage) break;
      after = ps.at(-1)!;
    }
    expect(seen).toEqual(Array.from({ length: ORDER_COUNT }, (_, i) => orderRow(i + 1)));
    // Every row's key is its own (order_id is unique): nth 1, key = the columns as Spark prints them.
    expect(positions[0]).toEqual({ key: ['1', '2', '1.25', '2024-01-01 01:00:00'], nth: 1 });
    const again = await fwd(3, positions[116]!);
    expect(again.page.items.map((i) => i.node)).toEqual([orderRow(118), orderRow(119), orderRow(120)]);
    expect(again.columns).toEqual(ORDER_COLUMNS);
    // Backward: the 3 rows before order 101; and the last 2 rows of the table.
    const back = await a.rowsPage('orders', { size: 3, backward: true, after: null, before: positions[100]! });
    expect(back.page.items.map((i) => i.node)).toEqual([orderRow(98), orderRow(99), orderRow(100)]);
    expect(back.page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const last = await a.rowsPage('orders', { size: 2, backward: true, after: null, before: null });
    expect(last.page.items.map((i) => i.node)).toEqual([orderRow(119), orderRow(120)]);
    // Between two cursors.
    const between = await fwd(10, positions[9]!, positions[13]!);
    expect(between.page.items.map((i) => i.node)).toEqual([orderRow(11), orderRow(12), orderRow(13)]);
    const { page: customers } = await a.rowsPage('customers', { size: 10, backward: false, after: null, before: null });
    expect(customers.items.map((i) => i.node)).toEqual(CUSTOMERS);
  }, 180_000);

  it('tells identical rows apart by their count: every duplicate once, across page boundaries', async () => {
    // Org C's `dups`: 4 rows of (1, 'x'), 2 of (2, null), 1 of (null, 'z'): in key order (nulls first).
    await fx.write(
      `CREATE OR REPLACE TABLE delta.\`${fx.tableUri(ORG_C, 'dups')}\` USING delta AS SELECT * FROM VALUES ` +
        `${Array(4).fill("(1, 'x')").join(', ')}, (2, NULL), (2, NULL), (NULL, 'z') AS t(a, b)`,
    );
    const c = lake.forTenant(C);
    const expected = [{ a: null, b: 'z' }, ...Array(4).fill({ a: 1, b: 'x' }), ...Array(2).fill({ a: 2, b: null })];
    // Pages of 2 and 3 start and end inside the runs of equal rows.
    for (const size of [2, 3]) {
      const got: unknown[] = [];
      let after: RowPosition | null = null;
      for (let i = 0; i < 10; i++) {
        const { page, positions }: KeysetRowsPage = await c.rowsPage('dups', {
          size,
          backward: false,
          after,
          before: null,
        });
        got.push(...page.items.map((x) => x.node));
        if (!page.pageInfo.hasNextPage) break;
        after = positions.at(-1)!;
      }
      expect(got, `size ${size}`).toEqual(expected);
    }
    // Backward from the end, pages of 2 (the run of four is cut in the middle: its count comes from Spark).
    const back: unknown[] = [];
    let before: RowPosition | null = null;
    for (let i = 0; i < 10; i++) {
      const { page, positions }: KeysetRowsPage = await c.rowsPage('dups', {
        size: 2,
        backward: true,
        after: null,
        before,
      });
      back.unshift(...page.items.map((x) => x.node));
      if (!page.pageInfo.hasPreviousPage) break;
      before = positions[0]!;
    }
    expect(back).toEqual(expected);
    for (const o of await fx.store.listObjects(`gold/org=${ORG_C}/dups/`)) await fx.store.delete(o.key);
  }, 300_000);

  it('rejects a bad page size, a cursor that does not fit the table and an unknown table', async () => {
    const a = lake.forTenant(A);
    const bad = [
      { size: 10_001, backward: false, after: null, before: null },
      { size: 1, backward: false, after: { key: ['1'], nth: 1 }, before: null },
      { size: 1, backward: false, after: { key: ['1', '2', '3', '4'], nth: 0 }, before: null },
      // Values Spark cannot read as the columns' types: BAD_USER_INPUT, not INTERNAL.
      { size: 1, backward: false, after: { key: ['x', '2', '1.25', 'not a time'], nth: 1 }, before: null },
    ];
    for (const req of bad)
      await expect(a.rowsPage('orders', req), JSON.stringify(req)).rejects.toMatchObject({
        extensions: { code: 'BAD_USER_INPUT' },
      });
    await expect(
      a.rowsPage('orders; DROP', { size: 1, backward: false, after: null, before: null }),
    ).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });

  it('matches a named parameter holding quotes and SQL literally', async () => {
    const a = lake.forTenant(A);
    const hit = await a.query('SELECT id, name FROM customers WHERE name = :name', { name: INJECTION_NAME });
    expect(hit.rows).toEqual([[2, INJECTION_NAME]]);
    const prefix = await a.query('SELECT id FROM customers WHERE name = :name ORDER BY id', { name: "O'Brien" });
    expect(prefix.rows).toEqual([[5]]);
    const none = await a.query('SELECT id FROM customers WHERE name = :name', { name: "' OR '1'='1" });
    expect(none.rows).toEqual([]);
    expect(await a.rowCount('customers')).toBe(CUSTOMERS.length);
    const typed = await a.query(
      'SELECT count(*) AS n FROM orders WHERE amount >= :min AND placed_at < :before AND customer_id = :cid',
      { min: 100, before: new Date(Date.UTC(2024, 0, 5)), cid: 1 },
    );
    // amount >= 100 ⇔ id >= 80; placed_at < Jan 5 ⇔ id < 96; customer_id = 1 ⇔ id % 5 = 0 → 80, 85, 90, 95.
    expect(typed.rows).toEqual([[4]]);
  }, 120_000);

  it('runs only SELECT/WITH statements through query()', async () => {
    const a = lake.forTenant(A);
    for (const sql of [
      `CREATE OR REPLACE TEMPORARY VIEW x USING parquet OPTIONS (path '${fx.tableUri(ORG_B, 'inventory')}')`,
      'DROP VIEW customers',
      'SET spark.sql.runSQLOnFiles=true',
    ])
      await expect(a.query(sql)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const withCte = await a.query('-- lead\n/* c */ WITH c AS (SELECT id FROM customers) SELECT count(*) FROM c');
    expect(withCte.rows).toEqual([[5]]);
  }, 120_000);

  it('a signal stops a running query in Spark; a signal that already fired sends nothing', async () => {
    const a = lake.forTenant(A);
    // The session and views exist: what follows is the query.
    expect((await a.query('SELECT count(*) AS warm FROM orders')).rows).toEqual([[ORDER_COUNT]]);
    const controller = new AbortController();
    // 120 orders x 1e9: far longer than the test.
    const pending = a
      .query(
        'SELECT count(*) FROM orders CROSS JOIN range(1000000000) r WHERE (orders.order_id + r.id) % 1000003 = 0',
        {},
        {
          signal: controller.signal,
        },
      )
      .catch((e) => e);
    await new Promise((r) => setTimeout(r, 1_500));
    const abortedAt = Date.now();
    controller.abort();
    const err = await pending;
    expect(err).toBeInstanceOf(StatementAbortedError);
    expect(err.interrupted).toBe(true);
    expect(Date.now() - abortedAt).toBeLessThan(ABORT_GRACE_MS);
    // The org's session and views are intact.
    expect((await a.query('SELECT count(*) FROM orders')).rows).toEqual([[ORDER_COUNT]]);

    const before = sessionsUsed.length;
    await expect(a.query('SELECT 1', {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
      operationId: null,
      interrupted: false,
    });
    expect(sessionsUsed.length).toBe(before);
  }, 120_000);
});

describe('org B (isolation)', () => {
  it('sees only its own table', async () => {
    const b = lake.forTenant(B);
    const tables = await b.listTables();
    expect(tables).toEqual([{ name: 'inventory', version: 0, columns: INVENTORY_COLUMNS }]);
    expect(await b.getTable('customers')).toBeNull();
    await expect(b.rowCount('customers')).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    await expect(b.rowsPage('orders', { size: 1, backward: false, after: null, before: null })).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  }, 120_000);

  it("cannot read A's view by guessing its name, nor A's files by path", async () => {
    const b = lake.forTenant(B);
    await expect(b.query('SELECT * FROM customers')).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    await expect(b.query(`SELECT * FROM delta.\`${fx.tableUri(ORG_A, 'customers')}\``)).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    await expect(b.query(`SELECT * FROM parquet.\`${fx.tableUri(ORG_A, 'orders')}\``)).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    // Error messages never carry the lake's bucket or keys.
    const err = await b.query(`SELECT * FROM delta.\`${fx.tableUri(ORG_A, 'customers')}\``).catch((e: Error) => e);
    expect(String((err as Error).message)).not.toContain(fx.store.bucket);
    expect(String((err as Error).message)).not.toContain(ORG_A);
    // A's own session cannot read by path either (runSQLOnFiles=false), only through its views.
    await expect(
      lake.forTenant(A).query(`SELECT * FROM delta.\`${fx.tableUri(ORG_A, 'customers')}\``),
    ).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    const inv = await b.query('SELECT sku, qty FROM inventory ORDER BY sku');
    expect(inv.rows).toEqual([
      ['A-1', 10],
      ['B-2', 0],
      ['C-3', 7],
    ]);
  }, 120_000);
});

describe('registration follows the object store, sessions recover', () => {
  it('an org without objects has no tables; new tables, new versions and removed tables are picked up', async () => {
    expect(await lake.forTenant(C).listTables()).toEqual([]);
    await fx.write(`CREATE TABLE delta.\`${fx.tableUri(ORG_C, 'events')}\` USING delta AS SELECT id FROM range(3)`);
    let c = lake.forTenant(C);
    expect(await c.listTables()).toEqual([
      { name: 'events', version: 0, columns: [{ name: 'id', type: 'bigint', nullable: true }] },
    ]);
    expect(await c.rowCount('events')).toBe(3);

    // Version 1 adds a column: the view is re-registered, so the new column shows.
    await fx.write(
      `CREATE OR REPLACE TABLE delta.\`${fx.tableUri(ORG_C, 'events')}\` USING delta AS SELECT id, 'x' AS tag FROM range(4)`,
    );
    c = lake.forTenant(C);
    expect(await c.getTable('events')).toEqual({
      name: 'events',
      version: 1,
      columns: [
        { name: 'id', type: 'bigint', nullable: true },
        { name: 'tag', type: 'string', nullable: true },
      ],
    });
    expect((await c.query('SELECT * FROM events ORDER BY id')).rows).toEqual([
      [0, 'x'],
      [1, 'x'],
      [2, 'x'],
      [3, 'x'],
    ]);

    for (const o of await fx.store.listObjects(`gold/org=${ORG_C}/events/`)) await fx.store.delete(o.key);
    c = lake.forTenant(C);
    expect(await c.listTables()).toEqual([]);
    await expect(c.query('SELECT * FROM events')).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
  }, 180_000);

  it('starts a fresh session when Spark closed the old one', async () => {
    // Statements of different text: an identical one would be served from the result cache, without Spark.
    expect((await lake.forTenant(B).query('SELECT count(*) AS before_release FROM inventory')).rows).toEqual([[3]]);
    const old = sessionsUsed.at(-1)!;
    await spark.releaseSession(old); // what an idle timeout does on the server
    expect((await lake.forTenant(B).query('SELECT count(*) AS after_release FROM inventory')).rows).toEqual([[3]]);
    const now = sessionsUsed.at(-1)!;
    expect(now).not.toBe(old);
    // The new session is isolated like the old one.
    await expect(lake.forTenant(B).query('SELECT * FROM orders')).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  }, 120_000);

  it('re-registers when Spark forgot a view of the session (retry once in a new session)', async () => {
    expect((await lake.forTenant(A).query('SELECT count(*) AS n FROM orders')).rows).toEqual([[ORDER_COUNT]]);
    const sid = sessionsUsed.at(-1)!;
    await spark.executeSql(sid, 'DROP VIEW orders');
    const res: SqlResult = await lake.forTenant(A).query('SELECT count(*) AS after_drop FROM orders');
    expect(res.rows).toEqual([[ORDER_COUNT]]);
    expect(sessionsUsed.at(-1)).not.toBe(sid);
  }, 120_000);
});
