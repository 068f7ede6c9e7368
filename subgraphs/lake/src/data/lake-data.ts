import DataLoader from 'dataloader';
import type { Pool } from 'pg';
import type { TenantContext } from '@datapilot/common';
import type { KeysetRowsPage, Lake, ObjectStore, RowsRequest, TableInfo } from '@datapilot/lake-core';
import { createLakeRecords, type LakeRecords, type PipelineRun, type Upload } from './records.ts';
import type { RunEvents } from '../runs/events.ts';
import { createUploads, type UploadLimits } from '../uploads.ts';

/** What every request's data layer is built from (created once per process). */
export type LakeDataDeps = {
  lake: Lake;
  store: ObjectStore;
  pool: Pool;
  runEvents: RunEvents;
  limits: UploadLimits;
  /** Asks the run watcher for a cycle now. */
  kick(): void;
  /** Throws UPSTREAM_UNAVAILABLE when the orchestrator cannot take a run now. */
  orchestratorReady(): Promise<void>;
};

/** The lake subgraph's data access for one request: bound to the caller's org, never to an argument. */
export type LakeData = {
  /** The org's tables (see OrgLake.listTables). */
  tables(): Promise<TableInfo[]>;
  /** One table of the org, or null. */
  table(name: string): Promise<TableInfo | null>;
  /** Row count of a table of the org; the counts asked in one request go to Spark as one statement. */
  rowCount(name: string): Promise<number>;
  /** A page of a table's rows by keyset (see OrgLake.rowsPage). */
  rowsPage(name: string, req: RowsRequest): Promise<KeysetRowsPage>;
  /** The org's uploads and runs. */
  records: LakeRecords;
  /** createUpload / completeUpload / reloadTable of the org. */
  uploads: ReturnType<typeof createUploads>;
  /** Run change notices (for pipelineRunEvents). */
  runEvents: RunEvents;
  /** The latest run of an upload; the uploads asked in one request go to PostgreSQL as one statement. */
  latestRun(uploadId: string): Promise<PipelineRun | null>;
  /** An upload of the org by id, batched per request like {@link latestRun}. */
  uploadById(id: string): Promise<Upload | null>;
  /** The newest run of a table of the org, or null; batched per request. */
  latestRunOfTable(name: string): Promise<PipelineRun | null>;
  /** A run of the org by id (lower-case UUID), batched per request. */
  runById(id: string): Promise<PipelineRun | null>;
  /** A table of the org by name, or null; the names asked in one request cost one listing of the org's tables. */
  tableByName(name: string): Promise<TableInfo | null>;
};

/**
 * Builds the per-request data layer for `tenant`. Its DataLoaders batch the loads of one tick into one statement and
 * cache nothing: a subscription keeps its context for all its events, which must each read fresh rows.
 */
export function createLakeData(deps: LakeDataDeps, tenant: TenantContext): LakeData {
  const org = deps.lake.forTenant(tenant);
  const records = createLakeRecords(deps.pool, tenant);
  const batchOnly = { cache: false } as const;
  const counts = new DataLoader<string, number>((names) => org.rowCounts(names), batchOnly);
  const runs = new DataLoader<string, PipelineRun | null>((ids) => records.latestRunsOf(ids), batchOnly);
  const uploads = new DataLoader<string, Upload | null>((ids) => records.getUploads(ids), batchOnly);
  const tableRuns = new DataLoader<string, PipelineRun | null>((names) => records.latestRunsOfTables(names), batchOnly);
  const runsById = new DataLoader<string, PipelineRun | null>((ids) => records.getRuns(ids), batchOnly);
  // A fresh listing per batch (forTenant is cheap; `org` caches its listing for the life of this data layer): a
  // subscription keeps one data layer for all its events, and each run event must show the table as it is now.
  const tablesByName = new DataLoader<string, TableInfo | null>(async (names) => {
    const all = new Map((await deps.lake.forTenant(tenant).listTables()).map((t) => [t.name, t]));
    return names.map((n) => all.get(n) ?? null);
  }, batchOnly);
  return {
    tables: () => org.listTables(),
    table: (name) => org.getTable(name),
    rowCount: (name) => counts.load(name),
    rowsPage: (name, req) => org.rowsPage(name, req),
    records,
    uploads: createUploads(tenant, {
      records,
      store: deps.store,
      limits: deps.limits,
      kick: deps.kick,
      orchestratorReady: deps.orchestratorReady,
    }),
    runEvents: deps.runEvents,
    latestRun: (id) => runs.load(id),
    uploadById: (id) => uploads.load(id),
    runById: (id) => runsById.load(id),
    latestRunOfTable: (name) => tableRuns.load(name),
    tableByName: (name) => tablesByName.load(name),
  };
}
