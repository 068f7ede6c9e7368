/**
 * Test fixture: a fresh bucket (on the test run's S3Proxy) with gold Delta tables of three orgs, written through the
 * real Spark Connect server (SPARK_REMOTE, default sc://127.0.0.1:15002) over s3a by a separate writer session.
 *
 * What is written, so that tests can state the expected values by hand:
 * - org A `customers` (id int, name string, city string, signup date, score double): 3 rows by CREATE (Delta
 *   version 0), then 2 more by INSERT (version 1) → 5 rows, version 1. One name is `O'Brien'; DROP TABLE
 *   customers; --`.
 * - org A `orders` (order_id bigint, customer_id int, amount decimal(10,2), placed_at timestamp): 120 rows,
 *   order_id 1..120, customer_id = order_id % 5 + 1, amount = order_id * 1.25, placed_at = 2024-01-01 00:00:00
 *   UTC + order_id hours; one CREATE → version 0.
 * - org A prefix `notes/` without `_delta_log` and `Bad-Name/` with one: neither is a table.
 * - org B `inventory` (sku string, qty int): 3 rows, version 0.
 * - org C: no objects at all (tests add tables to it).
 */
import { randomUUID } from 'node:crypto';
import { createTestBucket } from '../../../infra/s3/testing.ts';
import {
  createObjectStore,
  createSparkConnectClient,
  goldTablePrefix,
  s3aUri,
  type ObjectStore,
  type SparkConnectClient,
} from '../src/index.ts';

export const SPARK_REMOTE = process.env.SPARK_REMOTE || 'sc://127.0.0.1:15002';

export const ORG_A = '0a0a0a0a-0000-4000-8000-00000000000a';
export const ORG_B = '0b0b0b0b-0000-4000-8000-00000000000b';
export const ORG_C = '0c0c0c0c-0000-4000-8000-00000000000c';

export const INJECTION_NAME = "O'Brien'; DROP TABLE customers; --";

/** The five customers rows as the lake returns them (JSON values). */
export const CUSTOMERS = [
  { id: 1, name: 'Ada', city: 'London', signup: '2024-01-15', score: 9.5 },
  { id: 2, name: INJECTION_NAME, city: 'Dublin', signup: '2024-02-29', score: 7.25 },
  { id: 3, name: 'Grace', city: null, signup: '2023-12-31', score: 8 },
  { id: 4, name: 'Linus', city: 'Helsinki', signup: '2024-03-01', score: 6.5 },
  { id: 5, name: "O'Brien", city: 'Cork', signup: '2024-03-02', score: 5 },
];

export const CUSTOMER_COLUMNS = [
  { name: 'id', type: 'int', nullable: true },
  { name: 'name', type: 'string', nullable: true },
  { name: 'city', type: 'string', nullable: true },
  { name: 'signup', type: 'date', nullable: true },
  { name: 'score', type: 'double', nullable: true },
];

export const ORDER_COLUMNS = [
  { name: 'order_id', type: 'bigint', nullable: true },
  { name: 'customer_id', type: 'int', nullable: true },
  { name: 'amount', type: 'decimal(10,2)', nullable: true },
  { name: 'placed_at', type: 'timestamp', nullable: true },
];

export const ORDER_COUNT = 120;

/** The order row with id `n`, as the lake returns it. */
export function orderRow(n: number) {
  return {
    order_id: n,
    customer_id: (n % 5) + 1,
    amount: n * 1.25,
    placed_at: new Date(Date.UTC(2024, 0, 1) + n * 3_600_000).toISOString(),
  };
}

export const INVENTORY_COLUMNS = [
  { name: 'sku', type: 'string', nullable: true },
  { name: 'qty', type: 'int', nullable: true },
];

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const customerValues = (rows: typeof CUSTOMERS) =>
  rows
    .map(
      (r) =>
        `(${r.id}, ${sqlString(r.name)}, ${r.city === null ? 'NULL' : sqlString(r.city)}, DATE'${r.signup}', ${r.score})`,
    )
    .join(', ');

export type LakeFixture = {
  /** The fixture's bucket (the lake's object store). */
  store: ObjectStore;
  /** A client of its own (writer session), for tests that write more tables. */
  writer: SparkConnectClient;
  writerSession: string;
  /** `s3a://<bucket>/gold/org=<orgId>/<table>`: where Spark writes a table. */
  tableUri(orgId: string, table: string): string;
  /** Runs a write statement in the writer session. */
  write(sql: string): Promise<void>;
  cleanup(): Promise<void>;
};

/** Creates the fixture lake (takes several seconds: four Delta commits through Spark). */
export async function createLakeFixture(): Promise<LakeFixture> {
  const bucket = await createTestBucket();
  const store = createObjectStore(bucket.store);
  const writer = createSparkConnectClient({ remote: SPARK_REMOTE, timeoutMs: 180_000 });
  const writerSession = randomUUID();
  const tableUri = (orgId: string, table: string) => s3aUri(store.bucket, goldTablePrefix(orgId, table));
  const write = async (sql: string) => {
    await writer.executeSql(writerSession, sql);
  };
  const at = (orgId: string, table: string) => `delta.\`${tableUri(orgId, table)}\``;

  await write(
    `CREATE TABLE ${at(ORG_A, 'customers')} USING delta AS ` +
      `SELECT CAST(id AS INT) AS id, CAST(name AS STRING) AS name, CAST(city AS STRING) AS city, ` +
      `CAST(signup AS DATE) AS signup, CAST(score AS DOUBLE) AS score ` +
      `FROM VALUES ${customerValues(CUSTOMERS.slice(0, 3))} AS t(id, name, city, signup, score)`,
  );
  await write(`INSERT INTO ${at(ORG_A, 'customers')} VALUES ${customerValues(CUSTOMERS.slice(3))}`);
  await write(
    `CREATE TABLE ${at(ORG_A, 'orders')} USING delta AS ` +
      `SELECT id AS order_id, CAST(id % 5 + 1 AS INT) AS customer_id, CAST(id * 1.25 AS DECIMAL(10,2)) AS amount, ` +
      `TIMESTAMP'2024-01-01 00:00:00Z' + make_interval(0, 0, 0, 0, CAST(id AS INT)) AS placed_at ` +
      `FROM range(1, ${ORDER_COUNT + 1})`,
  );
  await write(
    `CREATE TABLE ${at(ORG_B, 'inventory')} USING delta AS ` +
      `SELECT CAST(sku AS STRING) AS sku, CAST(qty AS INT) AS qty FROM VALUES ('A-1', 10), ('B-2', 0), ('C-3', 7) AS t(sku, qty)`,
  );
  await store.put(`gold/org=${ORG_A}/notes/readme.txt`, 'not a Delta table');
  await store.put(`gold/org=${ORG_A}/Bad-Name/_delta_log/00000000000000000000.json`, '{}');

  return {
    store,
    writer,
    writerSession,
    tableUri,
    write,
    async cleanup() {
      await writer.releaseSession(writerSession);
      writer.close();
      store.close();
      await bucket.close();
    },
  };
}
