import neo4j, { type Driver } from 'neo4j-driver';
import { badUserInput } from '@datapilot/common';

/** One column of a gold table, as the pipeline read it from the Delta schema. */
export type DatasetColumnInput = {
  /** Column name as in the Delta table. */
  name: string;
  /** Spark SQL type name, e.g. `bigint`, `string`, `timestamp`, `array<string>`. */
  type: string;
  /** Whether the column may hold nulls. */
  nullable: boolean;
};

/** The catalog entry of one gold table (`<LAKE_ROOT>/gold/org=<orgId>/<name>/`). */
export type DatasetInput = {
  /** Table name, ^[a-z][a-z0-9_]{0,62}$ (the lake layout's rule). */
  name: string;
  /** Rows at `deltaVersion`; an integer in [0, 2^31 - 1] (GraphQL `Int` is 32-bit). */
  rowCount: number;
  /** Delta table version the entry describes; an integer in [0, 2^31 - 1]. */
  deltaVersion: number;
  /** Columns in table order. */
  columns: readonly DatasetColumnInput[];
  /** When the gold table was written; default: now. */
  updatedAt?: Date;
};

/** Database the graph lives in (Community has one user database). */
const DATABASE = 'neo4j';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TABLE_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const INT32_MAX = 2 ** 31 - 1;

function checkOrgId(orgId: string): void {
  if (!UUID.test(orgId)) throw badUserInput('orgId must be a lowercase UUID.', 'orgId');
}

function checkDataset(d: DatasetInput, i: number): void {
  const at = `datasets[${i}]`;
  if (!TABLE_NAME.test(d.name)) throw badUserInput(`${at}.name must match ^[a-z][a-z0-9_]{0,62}$.`, `${at}.name`);
  for (const key of ['rowCount', 'deltaVersion'] as const) {
    const v = d[key];
    if (!Number.isInteger(v) || v < 0 || v > INT32_MAX)
      throw badUserInput(`${at}.${key} of ${d.name} must be an integer in [0, ${INT32_MAX}].`, `${at}.${key}`);
  }
  if (!Array.isArray(d.columns)) throw badUserInput(`${at}.columns must be a list.`, `${at}.columns`);
  d.columns.forEach((c, j) => {
    if (typeof c?.name !== 'string' || c.name === '' || typeof c.type !== 'string' || typeof c.nullable !== 'boolean')
      throw badUserInput(`${at}.columns[${j}] must be { name, type, nullable }.`, `${at}.columns[${j}]`);
  });
  if (d.updatedAt !== undefined && !(d.updatedAt instanceof Date && !Number.isNaN(d.updatedAt.getTime())))
    throw badUserInput(`${at}.updatedAt must be a valid Date.`, `${at}.updatedAt`);
}

/**
 * Creates the graph's schema objects, idempotently (`IF NOT EXISTS`): a uniqueness constraint on
 * `(:Dataset {orgId, name})` (composite uniqueness works on Community) and a range index on
 * `:Dataset(orgId)`. Call at service start and before the pipeline writes.
 * @throws the driver's error when Neo4j is unreachable or the credentials are wrong.
 */
export async function ensureGraphSchema(driver: Driver): Promise<void> {
  await driver.executeQuery(
    'CREATE CONSTRAINT dataset_org_name_unique IF NOT EXISTS FOR (d:Dataset) REQUIRE (d.orgId, d.name) IS UNIQUE',
    {},
    { database: DATABASE },
  );
  await driver.executeQuery(
    'CREATE INDEX dataset_org IF NOT EXISTS FOR (d:Dataset) ON (d.orgId)',
    {},
    { database: DATABASE },
  );
}

/**
 * Writes the catalog entries of `orgId`'s gold tables after the pipeline wrote them: one `:Dataset` node per
 * table, MERGEd on `(orgId, name)` so that a re-run updates in place. Columns are stored as three parallel
 * lists (`columnNames`, `columnTypes`, `columnNullable`); `updatedAt` as a Neo4j DATETIME (UTC).
 * All entries are written in one transaction.
 * @returns how many entries were written.
 * @throws DataPilotError BAD_USER_INPUT naming the first malformed entry (nothing is written then);
 *   the driver's error when Neo4j fails.
 */
export async function upsertDatasets(
  driver: Driver,
  orgId: string,
  datasets: readonly DatasetInput[],
): Promise<number> {
  checkOrgId(orgId);
  datasets.forEach(checkDataset);
  if (datasets.length === 0) return 0;
  const now = new Date();
  const rows = datasets.map((d) => ({
    name: d.name,
    rowCount: neo4j.int(d.rowCount),
    deltaVersion: neo4j.int(d.deltaVersion),
    columnNames: d.columns.map((c) => c.name),
    columnTypes: d.columns.map((c) => c.type),
    columnNullable: d.columns.map((c) => c.nullable),
    updatedAt: (d.updatedAt ?? now).toISOString(),
  }));
  const { records } = await driver.executeQuery(
    `UNWIND $rows AS row
     MERGE (d:Dataset {orgId: $orgId, name: row.name})
     SET d.rowCount = row.rowCount,
         d.deltaVersion = row.deltaVersion,
         d.columnNames = row.columnNames,
         d.columnTypes = row.columnTypes,
         d.columnNullable = row.columnNullable,
         d.updatedAt = datetime(row.updatedAt)
     RETURN count(d) AS written`,
    { orgId, rows },
    { database: DATABASE },
  );
  return (records[0]?.get('written') as { toNumber(): number } | undefined)?.toNumber() ?? 0;
}

/**
 * Deletes `orgId`'s `:Dataset` nodes whose name is not in `keepNames` (tables the last pipeline run no longer
 * produced). Other organizations' nodes are never touched.
 * @returns how many nodes were deleted.
 * @throws DataPilotError BAD_USER_INPUT for a malformed orgId; the driver's error when Neo4j fails.
 */
export async function deleteMissingDatasets(
  driver: Driver,
  orgId: string,
  keepNames: readonly string[],
): Promise<number> {
  checkOrgId(orgId);
  const { records } = await driver.executeQuery(
    `MATCH (d:Dataset {orgId: $orgId})
     WHERE NOT d.name IN $keep
     DETACH DELETE d
     RETURN count(*) AS deleted`,
    { orgId, keep: [...keepNames] },
    { database: DATABASE },
  );
  return (records[0]?.get('deleted') as { toNumber(): number } | undefined)?.toNumber() ?? 0;
}
