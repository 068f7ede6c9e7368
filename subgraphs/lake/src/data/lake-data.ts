import DataLoader from 'dataloader';
import type { TenantContext } from '@datapilot/common';
import type { Lake, RowsPage, TableInfo } from '@datapilot/lake-core';

/** The lake subgraph's data access for one request: bound to the caller's org, never to an argument. */
export type LakeData = {
  /** The org's tables (see OrgLake.listTables). */
  tables(): Promise<TableInfo[]>;
  /** One table of the org, or null. */
  table(name: string): Promise<TableInfo | null>;
  /** Row count of a table of the org; the counts asked in one request go to Spark as one statement. */
  rowCount(name: string): Promise<number>;
  /** `limit` rows from position `offset` (see OrgLake.rows). */
  rows(name: string, limit: number, offset: number): Promise<RowsPage>;
};

/** Builds the per-request data layer for `tenant` (a fresh DataLoader per request: no cross-request cache). */
export function createLakeData(lake: Lake, tenant: TenantContext): LakeData {
  const org = lake.forTenant(tenant);
  const counts = new DataLoader<string, number>((names) => org.rowCounts(names));
  return {
    tables: () => org.listTables(),
    table: (name) => org.getTable(name),
    rowCount: (name) => counts.load(name),
    rows: (name, limit, offset) => org.rows(name, { limit, offset }),
  };
}
