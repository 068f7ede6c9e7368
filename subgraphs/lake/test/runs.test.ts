/** The run watcher's pure rules (no I/O): task comparison, Airflow states, the DAG's parameters. */
import { describe, expect, it } from 'vitest';
import { sameTasks } from '../src/runs/watcher.ts';
import { dagRunIdFor, ingestConf, runStateOf, taskOf } from '../src/runs/pipeline.ts';
import type { ActiveRun, RunTask } from '../src/data/records.ts';

describe('sameTasks', () => {
  const built: RunTask = taskOf({
    taskId: 'load',
    state: 'running',
    tryNumber: 1,
    startDate: '2026-12-02T10:18:04.853Z',
    endDate: null,
    durationMs: 1234,
  });

  it('compares field by field: the same task read back from jsonb with its keys reordered is the same', () => {
    const fromJsonb = JSON.parse(
      '{"name":"load","state":"RUNNING","tries":1,"endedAt":null,"startedAt":"2026-12-02T10:18:04.853Z","durationMs":null}',
    ) as RunTask;
    expect(JSON.stringify(fromJsonb)).not.toBe(JSON.stringify(built));
    expect(sameTasks([built], [fromJsonb])).toBe(true);
  });

  it('sees a change of state, tries or end, and a different number of tasks', () => {
    expect(sameTasks([built], [{ ...built, state: 'SUCCESS' }])).toBe(false);
    expect(sameTasks([built], [{ ...built, tries: 2 }])).toBe(false);
    expect(sameTasks([built], [{ ...built, endedAt: '2026-12-02T10:18:09.000Z' }])).toBe(false);
    expect(sameTasks([built], [])).toBe(false);
  });

  it('ignores the growing duration of a running task (kept only once it ended)', () => {
    expect(built.durationMs).toBeNull();
    const ended = taskOf({
      taskId: 'load',
      state: 'success',
      tryNumber: 1,
      startDate: '2026-12-02T10:18:04.853Z',
      endDate: '2026-12-02T10:18:09.000Z',
      durationMs: 4147,
    });
    expect(ended).toMatchObject({ state: 'SUCCESS', durationMs: 4147 });
  });
});

describe('the DAG contract', () => {
  it('maps Airflow DAG run states and names DAG runs after the run id', () => {
    expect(['queued', 'running', 'success', 'failed', 'restarting', null].map(runStateOf)).toEqual([
      'QUEUED',
      'RUNNING',
      'SUCCESS',
      'FAILED',
      'RUNNING',
      'RUNNING',
    ]);
    expect(dagRunIdFor('0b0b0b0b-0000-4000-8000-00000000000b')).toBe('datapilot__0b0b0b0b-0000-4000-8000-00000000000b');
  });

  it('takes every parameter from the run record (whose org came from the verified token)', () => {
    const run = {
      orgId: '0a0a0a0a-0000-4000-8000-00000000000a',
      id: '11111111-1111-4111-8111-111111111111',
      uploadId: '22222222-2222-4222-8222-222222222222',
      table: 'penguins',
      mode: 'APPEND',
      upload: {
        objectKey:
          'bronze/org=0a0a0a0a-0000-4000-8000-00000000000a/penguins/22222222-2222-4222-8222-222222222222/p.json',
        format: 'JSON',
        sizeBytes: 67119,
        maxBadRecords: 3,
        fileName: 'p.json',
      },
    } as unknown as ActiveRun;
    expect(ingestConf(run)).toEqual({
      org_id: '0a0a0a0a-0000-4000-8000-00000000000a',
      table: 'penguins',
      upload_id: '22222222-2222-4222-8222-222222222222',
      pipeline_run_id: '11111111-1111-4111-8111-111111111111',
      bronze_key:
        'bronze/org=0a0a0a0a-0000-4000-8000-00000000000a/penguins/22222222-2222-4222-8222-222222222222/p.json',
      format: 'JSON',
      mode: 'APPEND',
      size_bytes: 67119,
      max_bad_records: 3,
    });
  });
});
