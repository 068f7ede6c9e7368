/**
 * Change notices of pipeline runs inside one lake process, and the `pipelineRunEvents` stream built on them.
 *
 * A notice only wakes subscribers; what they send is always read back from PostgreSQL through the subscriber's own
 * tenant-bound records, so a notice can never carry one org's run to another org's socket. Subscribers also re-read
 * every `pollMs`, which covers changes recorded by another replica's watcher.
 */
import type { LakeRecords, PipelineRun } from '../data/records.ts';
import { FINAL_RUN_STATES } from '../data/records.ts';

/** In-process notices keyed by `(orgId, runId)`. */
export interface RunEvents {
  /** Announces that `run` changed. */
  publish(run: Pick<PipelineRun, 'orgId' | 'id'>): void;
  /** Calls `fn` on every notice of run `(orgId, runId)` until the returned function is called. */
  listen(orgId: string, runId: string, fn: () => void): () => void;
}

/** Creates the notice board. */
export function createRunEvents(): RunEvents {
  const listeners = new Map<string, Set<() => void>>();
  return {
    publish(run) {
      for (const fn of listeners.get(`${run.orgId}/${run.id}`) ?? []) fn();
    },
    listen(orgId, runId, fn) {
      const key = `${orgId}/${runId}`;
      let set = listeners.get(key);
      if (!set) listeners.set(key, (set = new Set()));
      set.add(fn);
      return () => {
        set.delete(fn);
        if (!set.size) listeners.delete(key);
      };
    },
  };
}

/** One event of `pipelineRunEvents`. */
export type PipelineRunEvent = { sequence: number; run: PipelineRun };

/**
 * The events of run `first` (already read through the subscriber's records): `first` itself, then the run each time
 * its revision grows, ending after a final state. Waits for a notice or `pollMs` (default 2 000 ms) between reads.
 */
export async function* runEventStream(
  records: LakeRecords,
  events: RunEvents,
  first: PipelineRun,
  pollMs = 2_000,
): AsyncGenerator<PipelineRunEvent> {
  let wake: (() => void) | null = null;
  let pending = false;
  const stop = events.listen(first.orgId, first.id, () => {
    pending = true;
    wake?.();
  });
  try {
    let run = first;
    yield { sequence: run.revision, run };
    while (!FINAL_RUN_STATES.includes(run.state)) {
      if (!pending)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      wake = null;
      pending = false;
      const next = await records.getRun(run.id);
      if (!next) return;
      if (next.revision > run.revision) {
        run = next;
        yield { sequence: run.revision, run };
      }
    }
  } finally {
    stop();
  }
}
