/**
 * Chat replicas that lose nothing: each replica renews a heartbeat row, and ends the answers a dead replica left
 * unfinished.
 *
 * Every replica (a process of the chat service) has an id of its own and writes it on each message it answers
 * (responder.ts, `answered_by`). It renews its row of `chat.replicas` every {@link REPLICA_TIMING}.heartbeatMs. Every
 * `sweepMs`, each replica asks PostgreSQL for the orphaned answers (migrations/006 `answer_orphaned`: the replica
 * named on them has not renewed for `staleSeconds`, or none took them within that time, or they are its own and it is
 * not answering them any more, e.g. its store write of FAILED failed) and ends each FAILED with errorCode
 * INTERRUPTED (responder.ts) and its FAILED event in the outbox, which every subscriber on every replica receives.
 * The UPDATE re-checks the rule, so two replicas never both end one, and a replica that renewed in between keeps its
 * answer. Worst case from a replica's death to the FAILED event: staleSeconds + sweepMs (+ one heartbeat period
 * between its last renewal and its death): about 23 s with the defaults, under the 30 s of issue 9.
 *
 * The same loop deletes the outbox rows of messages finished more than `outboxGraceSeconds` ago (their events are
 * then rebuilt from the stored message), which bounds the outbox to the answers of the last minutes.
 *
 * Answers are ended, not re-answered: a subscriber has seen part of the interrupted answer (pieces of text), and a
 * second answer's events would not continue it. The member retries by asking again.
 */
import type { Pool } from 'pg';
import type { Logger } from '@datapilot/common';
import { interruptOrphanedAnswer } from './data/chat-store.ts';
import { INTERRUPTED, failureText } from './responder.ts';

/** The default timing of {@link startReplicaWatch}. */
export const REPLICA_TIMING = {
  /** How often a replica renews its heartbeat, in milliseconds. */
  heartbeatMs: 3_000,
  /** After how long without a heartbeat a replica's answers are orphaned, in seconds. */
  staleSeconds: 15,
  /** How often a replica looks for orphaned answers and sweeps the outbox, in milliseconds. */
  sweepMs: 5_000,
  /** How long the outbox keeps a finished message's events, in seconds. */
  outboxGraceSeconds: 120,
};

/** Most orphaned answers ended by one sweep (the next sweep takes the rest). */
const SWEEP_BATCH = 100;

/** A running {@link startReplicaWatch}. */
export type ReplicaWatch = {
  /** Runs one sweep now (also what the timer runs); resolves with the answers it ended. */
  sweep(): Promise<number>;
  /** Stops the timers and deletes this replica's heartbeat row (its answers are then orphaned at once). */
  stop(): Promise<void>;
};

/**
 * Registers replica `replicaId` (heartbeat row), then renews it and sweeps on timers (see the module comment).
 * Errors of a renewal or a sweep are logged and the next one tries again.
 * @param opts.isAnswering whether this replica is computing an answer now (responder.ts `isAnswering`): its own
 *   unfinished answers that it is not computing are orphans.
 * @throws the PostgreSQL error of the first heartbeat (the replica cannot take answers without one).
 */
export async function startReplicaWatch(opts: {
  pool: Pool;
  replicaId: string;
  logger: Logger;
  isAnswering(messageId: string): boolean;
  timing?: Partial<typeof REPLICA_TIMING>;
}): Promise<ReplicaWatch> {
  const { pool, replicaId } = opts;
  const timing = { ...REPLICA_TIMING, ...opts.timing };
  const log = opts.logger.child({ component: 'replicas', replicaId });
  const heartbeat = () =>
    pool.query(
      `INSERT INTO chat.replicas (id) VALUES ($1)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [replicaId],
    );
  await heartbeat();
  let stopped = false;
  let sweeping: Promise<number> | null = null;

  const sweepOnce = async (): Promise<number> => {
    let ended = 0;
    const { rows } = await pool.query<{ org_id: string; id: string; answered_by: string | null }>(
      'SELECT org_id, id, answered_by FROM chat.orphaned_answers($1, $2, $3)',
      [replicaId, timing.staleSeconds, SWEEP_BATCH],
    );
    for (const r of rows) {
      if (r.answered_by === replicaId && opts.isAnswering(r.id)) continue;
      const stored = await interruptOrphanedAnswer(pool, r.org_id, r.id, replicaId, timing.staleSeconds, {
        status: 'FAILED',
        errorCode: INTERRUPTED,
        text: failureText(INTERRUPTED),
      });
      if (stored) {
        ended++;
        log.warn('ended an answer its replica left unfinished', {
          orgId: r.org_id,
          messageId: r.id,
          answeredBy: r.answered_by,
        });
      }
    }
    await pool.query('SELECT chat.sweep_message_events($1)', [timing.outboxGraceSeconds]);
    // Replicas gone for a day: their rows only tell that they once ran.
    await pool.query(`DELETE FROM chat.replicas WHERE heartbeat_at < now() - interval '1 day'`);
    return ended;
  };
  const sweep = () =>
    (sweeping ??= sweepOnce().finally(() => {
      sweeping = null;
    }));

  const beat = setInterval(() => {
    heartbeat().catch((err) => log.warn('could not renew the replica heartbeat', { err }));
  }, timing.heartbeatMs);
  const sweeper = setInterval(() => {
    if (!stopped) sweep().catch((err) => log.warn('the orphaned-answer sweep failed', { err }));
  }, timing.sweepMs);
  beat.unref();
  sweeper.unref();
  // At start: what a replica that died before this one started left behind.
  sweep().catch((err) => log.warn('the orphaned-answer sweep failed', { err }));

  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(beat);
      clearInterval(sweeper);
      await sweeping?.catch(() => undefined);
      await pool
        .query('DELETE FROM chat.replicas WHERE id = $1', [replicaId])
        .catch((err) => log.warn('could not remove the replica heartbeat', { err }));
    },
  };
}
