/**
 * The contract between the lake subgraph and the `datapilot_ingest` DAG (orchestration/dags/datapilot_ingest.py):
 * its id, the DAG run id DataPilot chooses, the parameters it is triggered with, and the XCom results it leaves.
 * Written once here; the DAG's typed `Param`s check the same shapes at trigger time.
 */
import type { ActiveRun, PipelineError, QualityReport, RunState, RunTask } from '../data/records.ts';

/** A DAG run as the watcher reads it from Airflow. */
export type DagRunInfo = {
  dagRunId: string;
  /** Airflow's state: `queued`, `running`, `success`, `failed`. */
  state: string;
  queuedAt: string | null;
  startDate: string | null;
  endDate: string | null;
};

/** A task instance as the watcher reads it from Airflow. */
export type TaskInstanceInfo = {
  taskId: string;
  state: string | null;
  tryNumber: number;
  startDate: string | null;
  endDate: string | null;
  durationMs: number | null;
};

/** The ingest DAG. */
export const INGEST_DAG_ID = 'datapilot_ingest';

/** The DAG's tasks, in order. */
export const INGEST_TASKS = ['validate', 'load', 'quality', 'publish'] as const;

/**
 * The Airflow DAG run id of a pipeline run: `datapilot__<run id>`. Chosen by DataPilot, so triggering the same run
 * twice answers 409 from Airflow instead of starting a second DAG run.
 */
export const dagRunIdFor = (runId: string) => `datapilot__${runId}`;

/**
 * The DAG's parameters (`conf`) for `run`: everything from the run's own record, whose org came from the verified
 * token that created it. The DAG checks that `bronze_key` lies under `bronze/org=<org_id>/<table>/<upload_id>/`.
 */
export function ingestConf(run: ActiveRun): Record<string, unknown> {
  return {
    org_id: run.orgId,
    table: run.table,
    upload_id: run.uploadId,
    pipeline_run_id: run.id,
    bronze_key: run.upload.objectKey,
    format: run.upload.format,
    mode: run.mode,
    size_bytes: run.upload.sizeBytes,
    max_bad_records: run.upload.maxBadRecords,
  };
}

/** An Airflow DAG run state as a pipeline run state (`queued`, `running`, `success`, `failed`; others: RUNNING). */
export function runStateOf(dagRunState: string | null | undefined): RunState {
  switch ((dagRunState ?? '').toLowerCase()) {
    case 'queued':
      return 'QUEUED';
    case 'success':
      return 'SUCCESS';
    case 'failed':
      return 'FAILED';
    default:
      return 'RUNNING';
  }
}

/**
 * An Airflow task instance as a {@link RunTask}; `state` upper-cased (`NONE` before it is scheduled), `durationMs` only
 * once the task ended.
 */
export function taskOf(t: TaskInstanceInfo): RunTask {
  return {
    name: t.taskId,
    state: (t.state ?? 'none').toUpperCase(),
    tries: t.tryNumber,
    // Only once the task ended: a running task's duration grows every poll and would be a change each time.
    durationMs: t.endDate ? t.durationMs : null,
    startedAt: t.startDate,
    endedAt: t.endDate,
  };
}

/** The XCom key under which a task leaves a failure the user can act on, before it raises. */
export const ERROR_XCOM_KEY = 'datapilot_error';

/** The `datapilot_error` XCom as a {@link PipelineError}, or null when it is not one. */
export function pipelineErrorOf(value: unknown): PipelineError | null {
  const v = value as { code?: unknown; message?: unknown } | null | undefined;
  if (!v || typeof v.code !== 'string' || typeof v.message !== 'string') return null;
  return { code: v.code.slice(0, 64), message: v.message.slice(0, 2_000) };
}

/** The quality task's XCom as a {@link QualityReport}, or null when it is not one. */
export function qualityReportOf(value: unknown): QualityReport | null {
  const v = value as Partial<QualityReport> | null | undefined;
  if (!v || typeof v !== 'object') return null;
  const int = (x: unknown) => (Number.isInteger(x) ? (x as number) : 0);
  return {
    rows_read: int(v.rows_read),
    rows_written: int(v.rows_written),
    rows_rejected: int(v.rows_rejected),
    null_counts: Object.fromEntries(
      Object.entries(v.null_counts ?? {}).filter(([, n]) => Number.isInteger(n)) as [string, number][],
    ),
    rejected: (Array.isArray(v.rejected) ? v.rejected : []).slice(0, 10).map((r) => ({
      line: int(r?.line),
      value: String(r?.value ?? '').slice(0, 200),
      reason: r?.reason == null ? null : String(r.reason).slice(0, 500),
    })),
    ...(Array.isArray(v.columns) ? { columns: v.columns } : {}),
    ...(Number.isInteger(v.delta_version) ? { delta_version: v.delta_version } : {}),
  };
}
