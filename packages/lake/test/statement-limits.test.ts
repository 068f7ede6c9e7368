/**
 * The per-organization limit on Spark statements (createLake's `statementLimits`) against the real Spark Connect
 * server and the fixture's Delta tables: a statement beyond the limit is refused (or waits), another org is not,
 * and a slot comes back when its statement succeeds, fails or times out. Long statements are endless counts cut by
 * the client's deadline, so how long a slot is held does not depend on the machine's speed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLake, createSparkConnectClient, type Lake, type SparkConnectClient } from '../src/index.ts';
import { ORDER_COUNT, ORG_A, ORG_B, SPARK_REMOTE, createLakeFixture, type LakeFixture } from './lake-fixture.ts';

/** Deadline of an endless statement, in milliseconds: how long it holds its slot. */
const DEADLINE_MS = 4_000;
/** Runs until its deadline interrupts it; one partition, so it keeps one of Spark's local cores busy, not all. */
const ENDLESS = 'SELECT count(*) FROM range(0, 1000000000000, 1, 1)';

const A = { orgId: ORG_A };
const B = { orgId: ORG_B };

let fx: LakeFixture;
let spark: SparkConnectClient;
const lakes: Lake[] = [];
const lakeWith = (perOrg: number, waitMs: number) => {
  const lake = createLake({ spark, store: fx.store, statementLimits: { perOrg, waitMs } });
  lakes.push(lake);
  return lake;
};

/** Waits until `lake` counts `n` statements of `orgId` in flight (they hold their slots after a store listing). */
async function untilInFlight(lake: Lake, orgId: string, n: number) {
  const end = Date.now() + 30_000;
  while (lake.statementsInFlight(orgId) !== n) {
    if (Date.now() > end) throw new Error(`never ${n} statements in flight (${lake.statementsInFlight(orgId)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const codeOf = (e: unknown) => (e as { extensions?: { code?: string } }).extensions?.code;

beforeAll(async () => {
  fx = await createLakeFixture();
  // The real client; endless statements get the short deadline, every other statement a long one (it may wait for
  // a core of the local Spark server while endless ones run).
  const client = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 120_000 });
  spark = {
    executeSql: (sessionId, sql, args, opts) =>
      client.executeSql(sessionId, sql, args, sql === ENDLESS ? { timeoutMs: DEADLINE_MS } : opts),
    releaseSession: (id) => client.releaseSession(id),
    close: () => client.close(),
  };
}, 300_000);

afterAll(async () => {
  for (const l of lakes) await l.close();
  spark?.close();
  await fx?.cleanup();
});

describe('refusing at once (waitMs 0), two statements per org', () => {
  it("refuses A's third statement with RATE_LIMITED while B's runs; timed-out statements free their slots", async () => {
    const lake = lakeWith(2, 0);
    const running = [lake.forTenant(A).query(ENDLESS), lake.forTenant(A).query(ENDLESS)].map((p) =>
      p.then(
        () => 'finished',
        (e) => codeOf(e),
      ),
    );
    await untilInFlight(lake, ORG_A, 2);

    const refused = await lake
      .forTenant(A)
      .query('SELECT count(*) AS third FROM orders')
      .catch((e) => e);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    const retry = refused.extensions.retryAfterSeconds;
    expect(Number.isInteger(retry) && retry >= 1).toBe(true);
    // B at the same moment: admitted, and its answer is the fixture's 3 inventory rows.
    expect((await lake.forTenant(B).query('SELECT count(*) FROM inventory')).rows).toEqual([[3]]);

    expect(await Promise.all(running)).toEqual(['UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT']);
    expect(lake.statementsInFlight(ORG_A)).toBe(0);
    expect(await lake.forTenant(A).rowCount('orders')).toBe(ORDER_COUNT);

    // The holds just seen lasted the 4 s deadline (plus the interrupt, under 1 s): the next refusal says 4-5 s.
    const again = [lake.forTenant(A).query(ENDLESS), lake.forTenant(A).query(ENDLESS)].map((p) => p.catch(codeOf));
    await untilInFlight(lake, ORG_A, 2);
    const second = await lake
      .forTenant(A)
      .query('SELECT 1 AS one')
      .catch((e) => e);
    expect(codeOf(second)).toBe('RATE_LIMITED');
    expect(second.extensions.retryAfterSeconds).toBeGreaterThanOrEqual(4);
    expect(second.extensions.retryAfterSeconds).toBeLessThanOrEqual(5);
    expect(await Promise.all(again)).toEqual(['UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT']);
    expect(lake.statementsInFlight(ORG_A)).toBe(0);
  }, 120_000);

  it('a failing statement frees its slot', async () => {
    const lake = lakeWith(2, 0);
    const a = lake.forTenant(A);
    const failures = await Promise.all([
      a.query('SELECT * FROM no_such_table').catch(codeOf),
      a.query('SELECT 1 / 0 AS boom').catch(codeOf), // ANSI mode: DIVIDE_BY_ZERO
    ]);
    expect(failures).toEqual(['NOT_FOUND', 'BAD_USER_INPUT']);
    expect(lake.statementsInFlight(ORG_A)).toBe(0);
    // Both slots are free again: two statements at once are admitted.
    const counts = await Promise.all([
      a.query('SELECT count(*) FROM orders'),
      a.query('SELECT count(*) FROM customers'),
    ]);
    expect(counts.map((r) => r.rows)).toEqual([[[ORDER_COUNT]], [[5]]]);
  }, 120_000);
});

describe('waiting (one statement per org)', () => {
  it('a statement at the limit waits for the slot and then runs', async () => {
    const lake = lakeWith(1, 30_000);
    const started = Date.now();
    const endless = lake
      .forTenant(A)
      .query(ENDLESS)
      .catch((e) => [codeOf(e), Date.now()]);
    await untilInFlight(lake, ORG_A, 1);
    const count = await lake.forTenant(A).query('SELECT count(*) FROM orders');
    const countDone = Date.now();
    expect(count.rows).toEqual([[ORDER_COUNT]]);
    const [code, endlessDone] = (await endless) as [string, number];
    expect(code).toBe('UPSTREAM_TIMEOUT');
    // The count ran only after the endless statement gave its slot back, after its 4 s deadline.
    expect(countDone).toBeGreaterThanOrEqual(endlessDone);
    expect(countDone - started).toBeGreaterThanOrEqual(DEADLINE_MS);
  }, 120_000);

  it('a statement whose wait runs out is refused with RATE_LIMITED; the holder keeps its slot', async () => {
    const lake = lakeWith(1, 500);
    const endless = lake.forTenant(A).query(ENDLESS).catch(codeOf);
    await untilInFlight(lake, ORG_A, 1);
    const started = Date.now();
    const refused = await lake
      .forTenant(A)
      .query('SELECT count(*) FROM orders')
      .catch((e) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(lake.statementsInFlight(ORG_A)).toBe(1);
    expect(await endless).toBe('UPSTREAM_TIMEOUT');
    expect(lake.statementsInFlight(ORG_A)).toBe(0);
  }, 120_000);
});
