/**
 * The lake subgraph's records in PostgreSQL (schema `lake`, see migrations/): uploads and pipeline runs.
 *
 * Two doors, and only two:
 * - {@link createLakeRecords}(pool, tenant): what a request may do. Every statement binds `tenant.orgId`; an id of
 *   another organization is simply not found.
 * - {@link createRunLedger}(pool): what the run watcher (a background loop, not a request) needs across
 *   organizations: FINDING the runs not yet finished and the uploads due for housekeeping — (org_id, id) pairs from
 *   three SECURITY DEFINER functions of migrations/004 — then reading and updating each row keyed by its own
 *   `(org_id, id)`.
 * Both run every statement in a tenant transaction ({@link inTenantTransaction}) of the org concerned: row-level
 * security (migrations/004) admits that org's rows only, even to a statement that forgot its org filter.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import {
  cursorAtColumn,
  inTenantTransaction,
  recordAudit,
  keysetPage,
  keysetSql,
  type KeysetOrder,
  type Page,
  type PageRequest,
  type TenantContext,
} from '@datapilot/common';

export type UploadFormat = 'CSV' | 'JSON' | 'NDJSON' | 'PARQUET';
export type LoadMode = 'OVERWRITE' | 'APPEND';
export type UploadStatus = 'PENDING' | 'UPLOADED' | 'LOADING' | 'LOADED' | 'FAILED';
export type RunState = 'PENDING' | 'QUEUED' | 'RUNNING' | 'SUCCESS' | 'FAILED';
/** Run states after which a run never changes again. */
export const FINAL_RUN_STATES: readonly RunState[] = ['SUCCESS', 'FAILED'];

/** A failure a user can act on: a stable code and one sentence. */
export type PipelineError = { code: string; message: string };

/** An upload as the API shows it (instants as Dates). */
export type Upload = {
  orgId: string;
  id: string;
  table: string;
  fileName: string;
  objectKey: string;
  format: UploadFormat;
  mode: LoadMode;
  sizeBytes: number;
  contentType: string;
  maxBadRecords: number;
  status: UploadStatus;
  error: PipelineError | null;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  completedAt: Date | null;
};

/** One task of a run as Airflow last reported it. */
export type RunTask = {
  name: string;
  state: string;
  tries: number;
  durationMs: number | null;
  startedAt: string | null;
  endedAt: string | null;
};

/** The quality task's report (snake_case keys as the DAG's XCom carries them). */
export type QualityReport = {
  rows_read: number;
  rows_written: number;
  rows_rejected: number;
  null_counts: Record<string, number>;
  rejected: { line: number; value: string; reason?: string | null }[];
  columns?: { name: string; type: string; nullable: boolean }[];
  delta_version?: number;
};

/** A pipeline run. `revision` increases with every change. */
export type PipelineRun = {
  orgId: string;
  id: string;
  uploadId: string;
  table: string;
  mode: LoadMode;
  reason: 'UPLOAD' | 'RELOAD';
  dagId: string;
  dagRunId: string;
  state: RunState;
  triggeredBy: string;
  createdAt: Date;
  queuedAt: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
  tasks: RunTask[];
  quality: QualityReport | null;
  deltaVersion: number | null;
  error: PipelineError | null;
  waitingReason: string | null;
  /** The reloadTable chain the run belongs to (null for an upload's own run) and its step (0 = the OVERWRITE). */
  chainId: string | null;
  chainStep: number | null;
  revision: number;
};

/** What a new upload needs (the id and key are chosen by the caller, the org comes from the tenant). */
export type NewUpload = Pick<
  Upload,
  'id' | 'table' | 'fileName' | 'objectKey' | 'format' | 'mode' | 'sizeBytes' | 'contentType' | 'maxBadRecords'
> & { expiresAt: Date };

/** What a new run needs. */
export type NewRun = Pick<PipelineRun, 'id' | 'uploadId' | 'table' | 'mode' | 'reason' | 'dagId' | 'dagRunId'> &
  Partial<Pick<PipelineRun, 'chainId' | 'chainStep'>>;

/** Fields of a run the watcher may change (unset fields keep their value). */
export type RunPatch = Partial<
  Pick<
    PipelineRun,
    'state' | 'queuedAt' | 'startedAt' | 'endedAt' | 'tasks' | 'quality' | 'deltaVersion' | 'error' | 'waitingReason'
  >
>;

type UploadRow = {
  org_id: string;
  id: string;
  table_name: string;
  file_name: string;
  object_key: string;
  format: UploadFormat;
  mode: LoadMode;
  size_bytes: string;
  content_type: string;
  max_bad_records: number;
  status: UploadStatus;
  error_code: string | null;
  error_message: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  completed_at: Date | null;
  cursor_at: string;
};

type RunRow = {
  org_id: string;
  id: string;
  upload_id: string;
  table_name: string;
  mode: LoadMode;
  reason: 'UPLOAD' | 'RELOAD';
  dag_id: string;
  dag_run_id: string;
  state: RunState;
  triggered_by: string;
  created_at: Date;
  queued_at: Date | null;
  started_at: Date | null;
  ended_at: Date | null;
  tasks: RunTask[];
  quality: QualityReport | null;
  delta_version: number | null;
  error_code: string | null;
  error_message: string | null;
  waiting_reason: string | null;
  chain_id: string | null;
  chain_step: number | null;
  revision: number;
  cursor_at: string;
};

const UPLOAD_COLUMNS = `org_id, id, table_name, file_name, object_key, format, mode, size_bytes, content_type,
  max_bad_records, status, error_code, error_message, created_by, created_at, expires_at, completed_at,
  ${cursorAtColumn('created_at')}`;
/** The run columns, each prefixed with `p` (a table alias and a dot, or nothing). */
const runColumns = (p = '') =>
  [
    'org_id',
    'id',
    'upload_id',
    'table_name',
    'mode',
    'reason',
    'dag_id',
    'dag_run_id',
    'state',
    'triggered_by',
    'created_at',
    'queued_at',
    'started_at',
    'ended_at',
    'tasks',
    'quality',
    'delta_version',
    'error_code',
    'error_message',
    'waiting_reason',
    'chain_id',
    'chain_step',
    'revision',
  ]
    .map((c) => p + c)
    .concat(cursorAtColumn(`${p}created_at`))
    .join(', ');
const RUN_COLUMNS = runColumns();

const errorOf = (code: string | null, message: string | null): PipelineError | null =>
  code ? { code, message: message ?? '' } : null;

const toUpload = (r: UploadRow): Upload => ({
  orgId: r.org_id,
  id: r.id,
  table: r.table_name,
  fileName: r.file_name,
  objectKey: r.object_key,
  format: r.format,
  mode: r.mode,
  sizeBytes: Number(r.size_bytes),
  contentType: r.content_type,
  maxBadRecords: r.max_bad_records,
  status: r.status,
  error: errorOf(r.error_code, r.error_message),
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  completedAt: r.completed_at,
});

const toRun = (r: RunRow): PipelineRun => ({
  orgId: r.org_id,
  id: r.id,
  uploadId: r.upload_id,
  table: r.table_name,
  mode: r.mode,
  reason: r.reason,
  dagId: r.dag_id,
  dagRunId: r.dag_run_id,
  state: r.state,
  triggeredBy: r.triggered_by,
  createdAt: r.created_at,
  queuedAt: r.queued_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  tasks: r.tasks,
  quality: r.quality,
  deltaVersion: r.delta_version,
  error: errorOf(r.error_code, r.error_message),
  waitingReason: r.waiting_reason,
  chainId: r.chain_id,
  chainStep: r.chain_step,
  revision: r.revision,
});

/** The order of the upload and run lists: newest first. */
const NEWEST_FIRST: KeysetOrder = { at: 'created_at', id: 'id', descending: true };

/** Runs behind {@link OpenUploads.meanLoadSeconds}: the org's latest finished upload runs. */
const MEAN_LOAD_RUNS = 20;

/** An organization's uploads in progress, as `createUpload` counts them (times from the database clock). */
export type OpenUploads = {
  /** PENDING uploads whose URL still works. */
  pending: number;
  /** Uploads whose file arrived and whose load is not finished (UPLOADED, LOADING). */
  loading: number;
  /** Seconds until the first of those PENDING URLs expires (null: none pending). */
  pendingExpiresInSeconds: number | null;
  /** Seconds since the longest-loading of those uploads was completed (null: none loading). */
  oldestLoadSeconds: number | null;
  /** Mean duration (recorded to finished) of the org's latest 20 finished upload runs, in seconds (null: none). */
  meanLoadSeconds: number | null;
};

/** The uploads and runs of ONE organization; see the module comment. */
export interface LakeRecords {
  /**
   * Stores a PENDING upload made by the caller, unless `refuse` returns an error for the org's uploads in progress
   * ({@link OpenUploads}): counted and inserted under a per-org lock, so concurrent calls cannot pass a bound.
   * @returns the upload, or `refused` with the error `refuse` returned (nothing stored).
   */
  createUpload(
    u: NewUpload,
    refuse: (open: OpenUploads) => Error | null,
  ): Promise<{ upload: Upload } | { refused: Error }>;
  /** The upload `id` of the caller's org, or null. */
  getUpload(id: string): Promise<Upload | null>;
  /** Several uploads of the caller's org in one statement (for a DataLoader), in the order of `ids` (null: none). */
  getUploads(ids: readonly string[]): Promise<(Upload | null)[]>;
  /** A page of the org's uploads, newest first (by createdAt, then id). */
  listUploads(page: PageRequest): Promise<Page<Upload>>;
  /**
   * The LOADED uploads of `table` in the order they were completed (then by id), at most `limit`: what reloadTable
   * replays.
   */
  loadedUploadsOf(table: string, limit: number): Promise<Upload[]>;
  /**
   * Marks PENDING upload `id` FAILED with `error`. @returns the upload, or null when it is not PENDING any more.
   */
  failUpload(id: string, error: PipelineError): Promise<Upload | null>;
  /**
   * In one transaction: the PENDING upload `id` becomes UPLOADED (completed now) and its run is recorded PENDING.
   * @returns the upload and run, or null when the upload was not PENDING (another call completed it first).
   */
  completeUpload(id: string, run: NewRun): Promise<{ upload: Upload; run: PipelineRun } | null>;
  /**
   * Records a reloadTable chain of PENDING runs of `table` in one transaction, in order — unless the table has a run
   * that is not finished (an upload in flight, another reload), checked under a per-table lock so that two reloads
   * cannot interleave.
   * @returns the runs, or null when the table has a run in progress (nothing recorded).
   */
  createReloadChain(table: string, runs: readonly NewRun[]): Promise<PipelineRun[] | null>;
  /** The run `id` of the caller's org, or null. */
  getRun(id: string): Promise<PipelineRun | null>;
  /** The newest run of each table of `tables` (by creation time), one statement; null for a table without runs. */
  latestRunsOfTables(tables: readonly string[]): Promise<(PipelineRun | null)[]>;
  /** {@link LakeRecords.getRun} for many ids in one statement: one entry per id, in order (lower-case UUIDs). */
  getRuns(ids: readonly string[]): Promise<(PipelineRun | null)[]>;
  /** The latest run of each upload in `uploadIds` (for a DataLoader), in that order (null: none). */
  latestRunsOf(uploadIds: readonly string[]): Promise<(PipelineRun | null)[]>;
  /** A page of the org's runs, newest first (by createdAt, then id), optionally of one table. */
  listRuns(page: PageRequest, table: string | null): Promise<Page<PipelineRun>>;
}

/** Builds the records of `tenant` over `pool` (schema `lake`). Cheap: build one per request. */
export function createLakeRecords(pool: Pool, tenant: TenantContext): LakeRecords {
  const org = tenant.orgId;
  const inTransaction = <T>(fn: (client: PoolClient) => Promise<T>, commitIf?: (result: T) => boolean) =>
    inTenantTransaction(pool, tenant, fn, commitIf);
  /** One statement in a tenant transaction of its own. */
  const query = <R extends QueryResultRow>(sql: string, params: unknown[]) =>
    inTransaction((client) => client.query<R>(sql, params));
  const insertRun = async (q: PoolClient, run: NewRun) => {
    const { rows } = await q.query<RunRow>(
      `INSERT INTO lake.pipeline_runs (org_id, id, upload_id, table_name, mode, reason, dag_id, dag_run_id, state,
         triggered_by, chain_id, chain_step)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $10, $11)
       RETURNING ${RUN_COLUMNS}`,
      [
        org,
        run.id,
        run.uploadId,
        run.table,
        run.mode,
        run.reason,
        run.dagId,
        run.dagRunId,
        tenant.userId,
        run.chainId ?? null,
        run.chainStep ?? null,
      ],
    );
    return toRun(rows[0]!);
  };
  return {
    createUpload(u, refuse) {
      return inTransaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`lake:uploads:${org}`]);
        const counted = await client.query<OpenUploads>(
          `SELECT count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
             count(*) FILTER (WHERE status <> 'PENDING')::int AS loading,
             extract(epoch FROM min(expires_at) FILTER (WHERE status = 'PENDING') - now())::float8
               AS "pendingExpiresInSeconds",
             extract(epoch FROM now() - min(completed_at) FILTER (WHERE status <> 'PENDING'))::float8
               AS "oldestLoadSeconds",
             (SELECT avg(extract(epoch FROM r.ended_at - r.created_at))::float8 FROM (
                SELECT created_at, ended_at FROM lake.pipeline_runs
                WHERE org_id = $1 AND reason = 'UPLOAD' AND ended_at IS NOT NULL
                ORDER BY created_at DESC LIMIT ${MEAN_LOAD_RUNS}) r) AS "meanLoadSeconds"
           FROM lake.uploads
           WHERE org_id = $1 AND (status IN ('UPLOADED', 'LOADING') OR (status = 'PENDING' AND expires_at > now()))`,
          [org],
        );
        const refused = refuse(counted.rows[0]!);
        if (refused) return { refused };
        const { rows } = await client.query<UploadRow>(
          `INSERT INTO lake.uploads (org_id, id, table_name, file_name, object_key, format, mode, size_bytes,
             content_type, max_bad_records, status, created_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'PENDING', $11, $12)
           RETURNING ${UPLOAD_COLUMNS}`,
          [
            org,
            u.id,
            u.table,
            u.fileName,
            u.objectKey,
            u.format,
            u.mode,
            u.sizeBytes,
            u.contentType,
            u.maxBadRecords,
            tenant.userId,
            u.expiresAt,
          ],
        );
        const upload = toUpload(rows[0]!);
        await recordAudit(client, {
          orgId: org,
          actor: { tenant },
          action: 'upload.create',
          targetType: 'Upload',
          targetId: upload.id,
          detail: { table: u.table, fileName: u.fileName, format: u.format, mode: u.mode, sizeBytes: u.sizeBytes },
        });
        return { upload };
      });
    },
    async getUpload(id) {
      const { rows } = await query<UploadRow>(
        `SELECT ${UPLOAD_COLUMNS} FROM lake.uploads WHERE org_id = $1 AND id = $2`,
        [org, id],
      );
      return rows[0] ? toUpload(rows[0]) : null;
    },
    async getUploads(ids) {
      const { rows } = await query<UploadRow>(
        `SELECT ${UPLOAD_COLUMNS} FROM lake.uploads WHERE org_id = $1 AND id = ANY($2::uuid[])`,
        [org, [...ids]],
      );
      const byId = new Map(rows.map((r) => [r.id, toUpload(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    async listUploads(page) {
      const k = keysetSql(page, NEWEST_FIRST, 2);
      const { rows } = await query<UploadRow>(
        `SELECT ${UPLOAD_COLUMNS} FROM lake.uploads WHERE org_id = $1${k.where}
         ORDER BY ${k.orderBy} LIMIT ${k.limit}`,
        [org, ...k.params],
      );
      return keysetPage(rows, page, 'upload', toUpload);
    },
    async loadedUploadsOf(table, limit) {
      const { rows } = await query<UploadRow>(
        `SELECT ${UPLOAD_COLUMNS} FROM lake.uploads WHERE org_id = $1 AND table_name = $2 AND status = 'LOADED'
         ORDER BY completed_at, id LIMIT $3`,
        [org, table, limit],
      );
      return rows.map(toUpload);
    },
    async failUpload(id, error) {
      const { rows } = await query<UploadRow>(
        `UPDATE lake.uploads SET status = 'FAILED', error_code = $3, error_message = $4, updated_at = clock_timestamp()
         WHERE org_id = $1 AND id = $2 AND status = 'PENDING' RETURNING ${UPLOAD_COLUMNS}`,
        [org, id, error.code, error.message],
      );
      return rows[0] ? toUpload(rows[0]) : null;
    },
    completeUpload(id, run) {
      return inTransaction(
        async (client) => {
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`lake:table:${org}/${run.table}`]);
          const { rows } = await client.query<UploadRow>(
            `UPDATE lake.uploads SET status = 'UPLOADED', completed_at = clock_timestamp(), updated_at = clock_timestamp()
             WHERE org_id = $1 AND id = $2 AND status = 'PENDING' RETURNING ${UPLOAD_COLUMNS}`,
            [org, id],
          );
          if (!rows[0]) return null;
          const done = { upload: toUpload(rows[0]), run: await insertRun(client, run) };
          await recordAudit(client, {
            orgId: org,
            actor: { tenant },
            action: 'upload.complete',
            targetType: 'Upload',
            targetId: id,
            detail: { table: run.table, runId: done.run.id },
          });
          return done;
        },
        (r) => r !== null,
      );
    },
    createReloadChain: (table, runs) =>
      inTransaction(
        async (client) => {
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`lake:table:${org}/${table}`]);
          const busy = await client.query(
            `SELECT 1 FROM lake.pipeline_runs
             WHERE org_id = $1 AND table_name = $2 AND state IN ('PENDING', 'QUEUED', 'RUNNING') LIMIT 1`,
            [org, table],
          );
          if (busy.rowCount) return null;
          const out: PipelineRun[] = [];
          for (const run of runs) out.push(await insertRun(client, run));
          await recordAudit(client, {
            orgId: org,
            actor: { tenant },
            action: 'pipeline_run.reload',
            targetType: 'LakeTable',
            targetId: table,
            detail: { runIds: out.map((r) => r.id) },
          });
          return out;
        },
        (r) => r !== null,
      ),
    async getRun(id) {
      const { rows } = await query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM lake.pipeline_runs WHERE org_id = $1 AND id = $2`,
        [org, id],
      );
      return rows[0] ? toRun(rows[0]) : null;
    },
    async latestRunsOfTables(tables) {
      const { rows } = await query<RunRow>(
        `SELECT DISTINCT ON (table_name) ${RUN_COLUMNS} FROM lake.pipeline_runs
         WHERE org_id = $1 AND table_name = ANY($2::text[]) ORDER BY table_name, created_at DESC, id DESC`,
        [org, [...new Set(tables)]],
      );
      const byTable = new Map(rows.map((r) => [r.table_name, toRun(r)]));
      return tables.map((t) => byTable.get(t) ?? null);
    },
    async getRuns(ids) {
      const { rows } = await query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM lake.pipeline_runs WHERE org_id = $1 AND id = ANY($2::uuid[])`,
        [org, [...new Set(ids)]],
      );
      const byId = new Map(rows.map((r) => [r.id, toRun(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    async latestRunsOf(uploadIds) {
      const { rows } = await query<RunRow>(
        `SELECT DISTINCT ON (upload_id) ${RUN_COLUMNS} FROM lake.pipeline_runs
         WHERE org_id = $1 AND upload_id = ANY($2::uuid[]) ORDER BY upload_id, created_at DESC, id DESC`,
        [org, [...uploadIds]],
      );
      const byUpload = new Map(rows.map((r) => [r.upload_id, toRun(r)]));
      return uploadIds.map((id) => byUpload.get(id) ?? null);
    },
    async listRuns(page, table) {
      const k = keysetSql(page, NEWEST_FIRST, table ? 3 : 2);
      const { rows } = await query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM lake.pipeline_runs WHERE org_id = $1${table ? ' AND table_name = $2' : ''}${k.where}
         ORDER BY ${k.orderBy} LIMIT ${k.limit}`,
        [org, ...(table ? [table] : []), ...k.params],
      );
      return keysetPage(rows, page, 'run', toRun);
    },
  };
}

/** A run with the upload fields the DAG's parameters need. */
export type ActiveRun = PipelineRun & {
  upload: Pick<Upload, 'objectKey' | 'format' | 'sizeBytes' | 'maxBadRecords' | 'fileName'>;
};

/** The run watcher's access across organizations; see the module comment. */
export interface RunLedger {
  /**
   * Runs in PENDING, QUEUED or RUNNING state, oldest first, at most `limit` (default 500), with their upload's
   * object key, format, size and bad-record bound.
   */
  activeRuns(limit?: number): Promise<ActiveRun[]>;
  /**
   * Applies `patch` to run `(orgId, id)` unless it is final already; bumps its revision. The upload of an UPLOAD run
   * follows in the same transaction: SUCCESS → LOADED, FAILED → FAILED (with the run's error), queued or running →
   * LOADING. A RELOAD run leaves its upload as it is (the upload's status tells how its own load went).
   * @returns the updated run, or null when nothing changed (unknown or already final).
   */
  updateRun(orgId: string, id: string, patch: RunPatch): Promise<PipelineRun | null>;
  /**
   * Fails the PENDING runs of reloadTable chain `(orgId, chainId)` with `error` (a step before them failed).
   * @returns the runs it failed.
   */
  cancelChain(orgId: string, chainId: string, error: PipelineError): Promise<PipelineRun[]>;
  /**
   * Marks FAILED (UPLOAD_EXPIRED) every PENDING upload whose URL expired more than `graceSeconds` ago: its file never
   * came, or came and was never completed in time.
   * @returns how many it marked.
   */
  expireUploads(graceSeconds: number): Promise<number>;
  /** Uploads whose URL expired more than `graceSeconds` ago and whose incoming key was not swept yet (oldest first). */
  uploadsToSweep(graceSeconds: number, limit: number): Promise<Pick<Upload, 'orgId' | 'id' | 'objectKey'>[]>;
  /** Records that upload `(orgId, id)`'s incoming key was swept. */
  markSwept(orgId: string, id: string): Promise<void>;
}

const RUN_PATCH_COLUMNS: Record<keyof RunPatch, string> = {
  state: 'state',
  queuedAt: 'queued_at',
  startedAt: 'started_at',
  endedAt: 'ended_at',
  tasks: 'tasks',
  quality: 'quality',
  deltaVersion: 'delta_version',
  error: 'error',
  waitingReason: 'waiting_reason',
};

/** An (org_id, id) pair found by one of the watcher's discovery functions (migrations/004). */
type Key = { org_id: string; id: string };

/** How many expired uploads one housekeeping pass marks at most (the rest: the next pass). */
const EXPIRE_BATCH = 1_000;

/**
 * Builds the watcher's ledger over `pool`. Only the run watcher uses it; request code never does. It finds work across
 * organizations only through the discovery functions, which answer (org_id, id) pairs; every row is then read or
 * written in a tenant transaction of its own org.
 */
export function createRunLedger(pool: Pool): RunLedger {
  const asOrg = <T>(orgId: string, fn: (client: PoolClient) => Promise<T>) => inTenantTransaction(pool, { orgId }, fn);
  /** The pairs `sql` finds (a discovery function call), outside any tenant: the functions need none. */
  const discover = async (sql: string, params: unknown[]) => (await pool.query<Key>(sql, params)).rows;
  /**
   * Runs `fn` once per org of `keys` with that org and its ids, in a tenant transaction of that org, and returns what
   * they found in the order of `keys` (a key whose row `fn` did not return is left out).
   */
  const perOrg = async <T extends { orgId: string; id: string }>(
    keys: readonly Key[],
    fn: (client: PoolClient, orgId: string, ids: string[]) => Promise<T[]>,
  ): Promise<T[]> => {
    const ids = new Map<string, string[]>();
    for (const k of keys) ids.set(k.org_id, [...(ids.get(k.org_id) ?? []), k.id]);
    const found = new Map<string, T>();
    for (const [orgId, orgIds] of ids)
      for (const row of await asOrg(orgId, (client) => fn(client, orgId, orgIds)))
        found.set(`${row.orgId}/${row.id}`, row);
    return keys.flatMap((k) => found.get(`${k.org_id}/${k.id}`) ?? []);
  };

  return {
    async activeRuns(limit = 500) {
      const keys = await discover('SELECT org_id, id FROM lake.watcher_active_runs($1)', [limit]);
      return perOrg(keys, async (client, orgId, ids) => {
        const { rows } = await client.query<RunRow & Record<string, unknown>>(
          `SELECT ${runColumns('r.')},
             u.object_key AS u_object_key, u.format AS u_format, u.size_bytes AS u_size_bytes,
             u.max_bad_records AS u_max_bad_records, u.file_name AS u_file_name
           FROM lake.pipeline_runs r JOIN lake.uploads u ON u.org_id = r.org_id AND u.id = r.upload_id
           WHERE r.org_id = $1 AND r.id = ANY($2::uuid[]) AND r.state IN ('PENDING', 'QUEUED', 'RUNNING')`,
          [orgId, ids],
        );
        return rows.map((r) => ({
          ...toRun(r),
          upload: {
            objectKey: r.u_object_key as string,
            format: r.u_format as UploadFormat,
            sizeBytes: Number(r.u_size_bytes),
            maxBadRecords: r.u_max_bad_records as number,
            fileName: r.u_file_name as string,
          },
        }));
      });
    },
    updateRun(orgId, id, patch) {
      return asOrg(orgId, async (client) => {
        const sets: string[] = [];
        const params: unknown[] = [orgId, id];
        for (const [key, value] of Object.entries(patch) as [keyof RunPatch, unknown][]) {
          if (value === undefined) continue;
          if (key === 'error') {
            const e = value as PipelineError | null;
            params.push(e?.code ?? null, e?.message ?? null);
            sets.push(`error_code = $${params.length - 1}`, `error_message = $${params.length}`);
          } else {
            params.push(key === 'tasks' || key === 'quality' ? JSON.stringify(value) : value);
            sets.push(`${RUN_PATCH_COLUMNS[key]} = $${params.length}`);
          }
        }
        if (!sets.length) return null;
        const { rows } = await client.query<RunRow>(
          `UPDATE lake.pipeline_runs SET ${sets.join(', ')}, revision = revision + 1, updated_at = clock_timestamp()
           WHERE org_id = $1 AND id = $2 AND state NOT IN ('SUCCESS', 'FAILED') RETURNING ${RUN_COLUMNS}`,
          params,
        );
        const run = rows[0] ? toRun(rows[0]) : null;
        if (!run) return null;
        const upload =
          run.reason !== 'UPLOAD'
            ? null
            : run.state === 'SUCCESS'
              ? { status: 'LOADED', error: null }
              : run.state === 'FAILED'
                ? { status: 'FAILED', error: run.error }
                : run.state === 'QUEUED' || run.state === 'RUNNING'
                  ? { status: 'LOADING', error: null }
                  : null;
        if (upload)
          await client.query(
            `UPDATE lake.uploads SET status = $3, error_code = $4, error_message = $5, updated_at = clock_timestamp()
             WHERE org_id = $1 AND id = $2 AND status <> 'PENDING'`,
            [orgId, run.uploadId, upload.status, upload.error?.code ?? null, upload.error?.message ?? null],
          );
        return run;
      });
    },
    cancelChain(orgId, chainId, error) {
      return asOrg(orgId, async (client) => {
        const { rows } = await client.query<RunRow>(
          `UPDATE lake.pipeline_runs SET state = 'FAILED', error_code = $3, error_message = $4, waiting_reason = NULL,
             ended_at = clock_timestamp(), revision = revision + 1, updated_at = clock_timestamp()
           WHERE org_id = $1 AND chain_id = $2 AND state = 'PENDING' RETURNING ${RUN_COLUMNS}`,
          [orgId, chainId, error.code, error.message],
        );
        return rows.map(toRun);
      });
    },
    async uploadsToSweep(graceSeconds, limit) {
      const keys = await discover('SELECT org_id, id FROM lake.watcher_unswept_uploads($1, $2)', [graceSeconds, limit]);
      return perOrg(keys, async (client, orgId, ids) => {
        const { rows } = await client.query<{ org_id: string; id: string; object_key: string }>(
          `SELECT org_id, id, object_key FROM lake.uploads
           WHERE org_id = $1 AND id = ANY($2::uuid[]) AND incoming_swept_at IS NULL`,
          [orgId, ids],
        );
        return rows.map((r) => ({ orgId: r.org_id, id: r.id, objectKey: r.object_key }));
      });
    },
    async markSwept(orgId, id) {
      await asOrg(orgId, (client) =>
        client.query(`UPDATE lake.uploads SET incoming_swept_at = clock_timestamp() WHERE org_id = $1 AND id = $2`, [
          orgId,
          id,
        ]),
      );
    },
    async expireUploads(graceSeconds) {
      const keys = await discover('SELECT org_id, id FROM lake.watcher_expired_uploads($1, $2)', [
        graceSeconds,
        EXPIRE_BATCH,
      ]);
      const expired = await perOrg(keys, async (client, orgId, ids) => {
        const { rows } = await client.query<{ org_id: string; id: string }>(
          `UPDATE lake.uploads SET status = 'FAILED', error_code = 'UPLOAD_EXPIRED',
             error_message = 'The upload URL expired before the upload was completed; create a new upload.',
             updated_at = clock_timestamp()
           WHERE org_id = $1 AND id = ANY($2::uuid[]) AND status = 'PENDING'
             AND expires_at < now() - make_interval(secs => $3)
           RETURNING org_id, id`,
          [orgId, ids, graceSeconds],
        );
        return rows.map((r) => ({ orgId: r.org_id, id: r.id }));
      });
      return expired.length;
    },
  };
}
