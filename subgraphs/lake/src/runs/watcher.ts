/**
 * The run watcher: the background loop that moves pipeline runs through Airflow and records what Airflow says.
 *
 * Each cycle (every `intervalMs`, and at once after `kick()`), after the upload housekeeping (once a minute: see
 * `sweep`):
 * 1. Triggers the PENDING runs whose table has no run in Airflow yet: at most one run per (organization, table) is
 *    queued or running at a time, oldest first, so two uploads of the same table load in the order they completed.
 *    The DAG run id is DataPilot's ({@link dagRunIdFor}): a repeated trigger finds the existing DAG run.
 *    Airflow unreachable: the run stays PENDING with a `waitingReason`, and the next cycle tries again: a run
 *    started while Airflow was down is not lost. Airflow refusing the parameters: the run FAILS with that reason.
 * 2. Reads the QUEUED/RUNNING runs' DAG run and task instances and records changes; at the end, the `load` task's
 *    Delta version, the `quality` task's report, or the failed task's `datapilot_error` (else a generic reason).
 * Every change bumps the run's revision and is announced on `events` (pipelineRunEvents subscribers). A failed step of
 * a reloadTable chain fails the steps after it (CANCELLED).
 *
 * Replicas: a cycle runs only in the replica that holds a PostgreSQL session advisory lock, so one replica drives
 * Airflow at a time; another takes over when that session ends.
 */
import type { Pool, PoolClient } from 'pg';
import { hasErrorCode, type Logger } from '@datapilot/common';
import { incomingKey, type ObjectStore } from '@datapilot/lake-core';
import { createRunLedger, type ActiveRun, type PipelineRun, type RunPatch, type RunTask } from '../data/records.ts';
import {
  ERROR_XCOM_KEY,
  type DagRunInfo,
  type TaskInstanceInfo,
  INGEST_DAG_ID,
  INGEST_TASKS,
  ingestConf,
  pipelineErrorOf,
  qualityReportOf,
  runStateOf,
  taskOf,
} from './pipeline.ts';
import type { RunEvents } from './events.ts';

export type { DagRunInfo, TaskInstanceInfo } from './pipeline.ts';

/** The Airflow REST API v2 calls the watcher makes (implemented by `createAirflowClient`). */
export interface AirflowApi {
  /** Triggers (or finds, on 409) DAG run `dagRunId`. @throws DataPilotError UPSTREAM_* / BAD_USER_INPUT. */
  triggerDagRun(dagId: string, run: { dagRunId: string; conf: Record<string, unknown> }): Promise<DagRunInfo>;
  /** The DAG run, or undefined when Airflow does not know it. @throws DataPilotError UPSTREAM_*. */
  getDagRun(dagId: string, dagRunId: string): Promise<DagRunInfo | undefined>;
  /** The DAG run's task instances. @throws DataPilotError UPSTREAM_*. */
  listTaskInstances(dagId: string, dagRunId: string): Promise<TaskInstanceInfo[]>;
  /** The JSON value of an XCom, or undefined when there is none. @throws DataPilotError UPSTREAM_*. */
  getXcom(dagId: string, dagRunId: string, taskId: string, key?: string): Promise<unknown>;
}

/** A running watcher. */
export interface RunWatcher {
  /** Runs a cycle soon (after the current one), e.g. right after a run was recorded. */
  kick(): void;
  /** Runs one cycle now (tests), returning when it is done. Does nothing unless this replica leads. */
  cycle(): Promise<void>;
  /** Stops the loop and releases the leader lock. */
  stop(): Promise<void>;
}

/**
 * True when two task lists say the same, field by field. (Not by JSON text: the stored list comes back from a
 * PostgreSQL `jsonb` column, which does not keep the order of object keys.)
 */
export function sameTasks(a: readonly RunTask[], b: readonly RunTask[]): boolean {
  const fields: (keyof RunTask)[] = ['name', 'state', 'tries', 'durationMs', 'startedAt', 'endedAt'];
  return a.length === b.length && a.every((t, i) => fields.every((f) => (t[f] ?? null) === (b[i]![f] ?? null)));
}

/** What a PENDING run shows while Airflow cannot be reached. */
export const AIRFLOW_DOWN_REASON = 'The orchestrator (Airflow) is unreachable; the run starts as soon as it is back.';
/** What a PENDING run shows while an earlier run of its table is still in Airflow. */
export const QUEUED_BEHIND_REASON = 'Waiting for the earlier run of this table to finish.';

const LEADER_LOCK = 'datapilot:lake:run-watcher';
/** How long after its URL expired a PENDING upload may still be completed, in seconds. */
export const DEFAULT_UPLOAD_GRACE_SECONDS = 3_600;

/**
 * Starts the watcher.
 * @param opts.intervalMs pause between two cycles, in milliseconds (default 1 000).
 */
export function startRunWatcher(opts: {
  pool: Pool;
  /** The lake's object store (the sweep deletes expired incoming objects). */
  store: ObjectStore;
  airflow: AirflowApi;
  events: RunEvents;
  logger: Logger;
  intervalMs?: number;
  /** How long after its URL expired an upload is swept, in seconds (default 3 600). */
  uploadGraceSeconds?: number;
  /** Pause between two upload sweeps, in milliseconds (default 60 000). */
  sweepIntervalMs?: number;
}): RunWatcher {
  const { pool, airflow, events, logger, store } = opts;
  const ledger = createRunLedger(pool);
  const intervalMs = opts.intervalMs ?? 1_000;
  const graceSeconds = opts.uploadGraceSeconds ?? DEFAULT_UPLOAD_GRACE_SECONDS;
  const sweepIntervalMs = opts.sweepIntervalMs ?? 60_000;
  let leader: PoolClient | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let airflowDown = false;
  /** While Airflow is down: no call before this instant; the pause doubles from 1 s to 15 s. */
  let retryAt = 0;
  let backoffMs = 1_000;
  /** When the next sweep of expired uploads is due. */
  let nextSweep = 0;

  const isLeader = async (): Promise<boolean> => {
    if (leader) return true;
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        LEADER_LOCK,
      ]);
      if (!rows[0]?.ok) {
        client.release();
        return false;
      }
    } catch (e) {
      client.release(e as Error);
      throw e;
    }
    // The lock lives as long as this session: losing the connection hands leadership to another replica.
    client.on('error', () => {
      if (leader === client) leader = null;
    });
    leader = client;
    return true;
  };

  const apply = async (run: PipelineRun | ActiveRun, patch: RunPatch) => {
    const updated = await ledger.updateRun(run.orgId, run.id, patch);
    if (updated) events.publish(updated);
    if (updated?.state === 'FAILED' && updated.chainId) {
      const cancelled = await ledger.cancelChain(updated.orgId, updated.chainId, {
        code: 'CANCELLED',
        message:
          `Step ${(updated.chainStep ?? 0) + 1} of this reload failed (${updated.error?.code ?? 'FAILED'}); ` +
          'the steps after it did not run, so the table holds the steps before it. Fix the cause and reload again.',
      });
      for (const c of cancelled) events.publish(c);
    }
    return updated;
  };

  const markAirflow = (down: boolean, err?: unknown) => {
    if (down && !airflowDown) logger.warn('Airflow unreachable; runs wait', { err: String((err as Error)?.message) });
    if (!down && airflowDown) logger.info('Airflow reachable again');
    if (down) {
      retryAt = Date.now() + backoffMs;
      backoffMs = Math.min(backoffMs * 2, 15_000);
    } else backoffMs = 1_000;
    airflowDown = down;
  };

  const trigger = async (run: ActiveRun) => {
    try {
      const dagRun = await airflow.triggerDagRun(INGEST_DAG_ID, { dagRunId: run.dagRunId, conf: ingestConf(run) });
      markAirflow(false);
      await apply(run, {
        state: runStateOf(dagRun.state) === 'RUNNING' ? 'RUNNING' : 'QUEUED',
        queuedAt: dagRun.queuedAt ? new Date(dagRun.queuedAt) : new Date(),
        waitingReason: null,
      });
    } catch (e) {
      if (hasErrorCode(e, 'BAD_USER_INPUT')) {
        await apply(run, {
          state: 'FAILED',
          endedAt: new Date(),
          waitingReason: null,
          error: { code: 'REJECTED', message: `The orchestrator refused the run: ${(e as Error).message}` },
        });
      } else if (hasErrorCode(e, 'UPSTREAM_UNAVAILABLE') || hasErrorCode(e, 'UPSTREAM_TIMEOUT')) {
        markAirflow(true, e);
        if (run.waitingReason !== AIRFLOW_DOWN_REASON) await apply(run, { waitingReason: AIRFLOW_DOWN_REASON });
      } else throw e;
    }
  };

  /** What Airflow says of a queued or running run, as a patch (only what changed). */
  const observe = async (run: ActiveRun): Promise<RunPatch | null> => {
    const dagRun = await airflow.getDagRun(INGEST_DAG_ID, run.dagRunId);
    if (!dagRun) return { state: 'PENDING', waitingReason: 'The orchestrator lost the run; it is triggered again.' };
    const order = new Map<string, number>(INGEST_TASKS.map((t, i) => [t, i]));
    const tasks = (await airflow.listTaskInstances(INGEST_DAG_ID, run.dagRunId))
      .map(taskOf)
      .sort((a, b) => (order.get(a.name) ?? 99) - (order.get(b.name) ?? 99));
    const state = runStateOf(dagRun.state);
    const patch: RunPatch = {};
    if (state !== run.state) patch.state = state;
    if (!sameTasks(tasks, run.tasks)) patch.tasks = tasks;
    const started = dagRun.startDate ? new Date(dagRun.startDate) : null;
    if (started && run.startedAt?.getTime() !== started.getTime()) patch.startedAt = started;
    if (state === 'SUCCESS' || state === 'FAILED') {
      patch.endedAt = dagRun.endDate ? new Date(dagRun.endDate) : new Date();
      const load = (await airflow.getXcom(INGEST_DAG_ID, run.dagRunId, 'load')) as { delta_version?: unknown };
      if (Number.isInteger(load?.delta_version)) patch.deltaVersion = load.delta_version as number;
      const report = qualityReportOf(await airflow.getXcom(INGEST_DAG_ID, run.dagRunId, 'quality'));
      if (report) patch.quality = report;
      if (state === 'FAILED') {
        const failed = tasks.find((t) => t.state === 'FAILED') ?? tasks.find((t) => t.state !== 'SUCCESS');
        const reported = failed
          ? pipelineErrorOf(await airflow.getXcom(INGEST_DAG_ID, run.dagRunId, failed.name, ERROR_XCOM_KEY))
          : null;
        patch.error = reported ?? {
          code: 'TASK_FAILED',
          message: failed
            ? `The ${failed.name} step failed after ${failed.tries} tries; an operator can read its log in Airflow ` +
              `(DAG run ${run.dagRunId}). Retry with reloadTable.`
            : `The DAG run ${run.dagRunId} failed.`,
        };
      }
    }
    return Object.keys(patch).length ? patch : null;
  };

  /**
   * Upload housekeeping, every `sweepIntervalMs`: PENDING uploads whose URL expired over `uploadGraceSeconds` ago
   * become FAILED (UPLOAD_EXPIRED), and whatever is left at such an upload's incoming key is deleted (at most 500 a
   * sweep).
   */
  const sweep = async () => {
    const expired = await ledger.expireUploads(graceSeconds);
    if (expired) logger.info('uploads expired', { count: expired });
    for (const u of await ledger.uploadsToSweep(graceSeconds, 500)) {
      try {
        await store.delete(incomingKey(u.objectKey));
        await ledger.markSwept(u.orgId, u.id);
      } catch (err) {
        logger.warn('incoming object not swept; the next sweep tries again', { uploadId: u.id, err });
        break;
      }
    }
  };

  const cycle = async () => {
    if (stopped || !(await isLeader())) return;
    if (Date.now() >= nextSweep) {
      nextSweep = Date.now() + sweepIntervalMs;
      await sweep();
    }
    const runs = await ledger.activeRuns();
    const inAirflow = new Set<string>();
    for (const run of runs) if (run.state !== 'PENDING') inAirflow.add(`${run.orgId}/${run.table}`);
    // While Airflow is down (or in its back-off), nothing is sent to it, but waiting runs still say why they wait.
    let reachable = !(airflowDown && Date.now() < retryAt);
    for (const run of runs) {
      const key = `${run.orgId}/${run.table}`;
      try {
        if (run.state === 'PENDING') {
          if (inAirflow.has(key)) {
            const why = reachable ? QUEUED_BEHIND_REASON : AIRFLOW_DOWN_REASON;
            if (run.waitingReason !== why) await apply(run, { waitingReason: why });
            continue;
          }
          inAirflow.add(key);
          if (!reachable) {
            if (run.waitingReason !== AIRFLOW_DOWN_REASON) await apply(run, { waitingReason: AIRFLOW_DOWN_REASON });
            continue;
          }
          await trigger(run);
          reachable = !airflowDown;
        } else if (reachable) {
          const patch = await observe(run);
          markAirflow(false);
          if (patch) await apply(run, patch);
        }
      } catch (e) {
        if (hasErrorCode(e, 'UPSTREAM_UNAVAILABLE') || hasErrorCode(e, 'UPSTREAM_TIMEOUT')) {
          markAirflow(true, e);
          reachable = false;
          continue;
        }
        logger.error('run watcher: run not updated', { runId: run.id, orgId: run.orgId, err: e });
      }
    }
  };

  const loop = () => {
    if (stopped) return;
    running = cycle()
      .catch((err) => logger.error('run watcher cycle failed', { err }))
      .finally(() => {
        running = null;
        if (stopped) return;
        const wait = again ? 0 : intervalMs;
        again = false;
        timer = setTimeout(loop, wait);
      });
  };
  timer = setTimeout(loop, 0);

  return {
    kick() {
      if (running) again = true;
      else {
        clearTimeout(timer);
        timer = setTimeout(loop, 0);
      }
    },
    async cycle() {
      while (running) await running;
      await cycle();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      while (running) await running;
      const held = leader;
      leader = null;
      if (held) {
        await held.query('SELECT pg_advisory_unlock(hashtext($1))', [LEADER_LOCK]).catch(() => undefined);
        held.release();
      }
    },
  };
}
