import type { Pool } from 'pg';
import { createOrgLimiter, hasErrorCode, type Logger, type OrgSlot, type TenantContext } from '@datapilot/common';
import type { Analyst, AnalystHooks, AnalystLake } from './analyst/index.ts';
import { createChatStore, type EventLogEntry, type Message, type MessagePatch } from './data/chat-store.ts';
import { isFinalEvent, type MessageEvent, type MessageEventHub, type MessageEventKind } from './events.ts';

/** Gives the analyst the lake of one tenant; `@datapilot/lake-core`'s `createLake(...)` fits. */
export interface TenantLakes {
  /** The tenant's lake; its `query` takes `{ signal }`, which interrupts the running Spark statement. */
  forTenant(tenant: TenantContext): AnalystLake;
  /** Resolves when the engine behind the lakes answers (readiness); lake-core's `Lake.ping`. */
  ping?(): Promise<unknown>;
}

/** Default of CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG: answers one organization may have computed at once. */
export const DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG = 2;
/** How long an answer is assumed to take before one was seen, in milliseconds (for `retryAfterSeconds`). */
const TYPICAL_ANSWER_MS = 5_000;
/** Most earlier questions of the conversation handed to the analyst (`history`, for follow-ups). */
export const MAX_HISTORY = 10;
/** Longest status line stored (`Message.statusText`); longer ones are cut. */
const MAX_STATUS_CHARS = 200;

/**
 * `Message.errorCode` of an answer stopped by `cancelMessage`. A message error code, not a GraphQL error code (no
 * request fails with it): the other codes a FAILED message carries are DataPilot's (UPSTREAM_TIMEOUT, INTERNAL, ...).
 */
export const CANCELLED = 'CANCELLED';
/**
 * `Message.errorCode` of an answer whose replica stopped before finishing it (killed, cut off from the database, or
 * shut down with the answer still running): ended FAILED by a live replica (replicas.ts) or by the replica itself at
 * shutdown. The member retries by asking again (`sendMessage` with the same question); a message error code like
 * {@link CANCELLED}.
 */
export const INTERRUPTED = 'INTERRUPTED';

/** Answers assistant messages in the background; see {@link createResponder}. */
export interface Responder {
  /**
   * Takes one of the organization's question slots, for one answer: call before storing the question, then hand the
   * slot to {@link start} (or release it when nothing is started). Refused at once, not queued: the question is
   * answered in the background, so a client waiting in `sendMessage` would only hold a connection; it retries
   * after `retryAfterSeconds` instead.
   * @throws DataPilotError RATE_LIMITED with `extensions.retryAfterSeconds` (about when one of the organization's
   *   answers ends) when the organization has `maxConcurrentPerOrg` answers being computed in this process.
   */
  admit(tenant: TenantContext): Promise<OrgSlot>;
  /**
   * Starts answering `question` into the PENDING assistant `message` of `tenant` and returns at once; `slot` (from
   * {@link admit}) is released when the answer ends — stored COMPLETE or FAILED, whatever failed (a Spark error,
   * a timeout, the store, a cancel). Its events are stored in the outbox (a subscriber on any replica, attaching at
   * any time, misses none of them: events.ts).
   */
  start(tenant: TenantContext, message: Message, question: string, slot: OrgSlot): void;
  /**
   * Cancels the answer `message` (an ASSISTANT message the caller `tenant` may cancel: the resolver checked who) and
   * returns it as stored afterwards:
   * - being answered in this process: its AbortController fires — the analyst's running Spark statement is
   *   interrupted (lake-core `query(..., { signal })`), nothing more is published but FAILED — and the message is
   *   stored FAILED with errorCode {@link CANCELLED} (event FAILED), as soon as the store write in flight, if any, is
   *   done: without waiting for Spark. If the answer was already storing COMPLETE, it ends COMPLETE.
   * - not answered here (by another replica, or one that stopped mid-answer): stored FAILED/CANCELLED directly when
   *   it is not final (`anyAuthor`: an ADMIN+ may cancel another member's answer), with its FAILED event in the
   *   outbox (chat-store.ts `cancelAssistantMessage`); a replica still computing it stops at its next write, which
   *   finds the message final.
   * - already final: returned unchanged.
   */
  cancel(tenant: TenantContext, message: Message, anyAuthor: boolean): Promise<Message>;
  /** Whether this process is computing the answer `messageId` now (replicas.ts: not an orphan). */
  isAnswering(messageId: string): boolean;
  /**
   * Stops taking new work and waits for running answers, at most `drainTimeoutMs`; the answers still running then
   * are stopped and stored FAILED with {@link INTERRUPTED} (event FAILED), so none is left STREAMING.
   */
  close(): Promise<void>;
}

/** The user-facing sentence of a FAILED message, by error code. */
const FAILURE_TEXT: Record<string, string> = {
  UPSTREAM_UNAVAILABLE: 'the data lake is not reachable right now',
  UPSTREAM_TIMEOUT: 'the query took too long',
  BAD_USER_INPUT: 'the lake refused the query',
  RATE_LIMITED: "the data lake is busy with your organization's other work",
  INTERRUPTED: 'the service answering it stopped before it was finished',
};
/** The text a FAILED message is stored with: an apology naming the cause, or that the answer was cancelled. */
export const failureText = (code: string) =>
  code === CANCELLED
    ? 'This answer was cancelled before it was finished.'
    : `Sorry, I could not answer that: ${FAILURE_TEXT[code] ?? 'something went wrong on our side'}. Please try again.`;

/** Size of a text piece ({@link textPieces}): a piece is cut at the first space at or after this many characters. */
const PIECE_SIZE = 16;

/**
 * Splits `text` into the pieces streamed as TEXT_DELTA events: runs of about `size` characters ending at a space,
 * so words are not cut. Their concatenation is `text`. Greedy from the start, so the pieces of a text are the pieces
 * of any prefix that ends at a cut followed by those of the rest: the responder cuts streamed text as it arrives and
 * gets exactly the pieces of the whole ({@link publishedEvents} rebuilds them from the stored text).
 */
export function textPieces(text: string, size = PIECE_SIZE): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > size) {
    const space = rest.indexOf(' ', size);
    const cut = space === -1 ? rest.length : space + 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/** The outline of a message stored before issue 8 (no `eventLog`): what the responder published then. */
const legacyLog = (m: Message): EventLogEntry[] => [
  { kind: 'STATUS' },
  ...(m.sql !== null ? [{ kind: 'SQL' } as const] : []),
  ...(m.result !== null ? [{ kind: 'RESULT' } as const] : []),
];

/**
 * The events {@link createResponder} published for `message`, which is now COMPLETE or FAILED, rebuilt from what is
 * stored, for a subscriber that resumes after the outbox rows were swept (events.ts `openMessageEventStream`). The order
 * is the message's stored outline (`eventLog`, written by `answer` below with every event it publishes: keep the
 * two together), sequences 1, 2, 3, ...:
 * - STATUS (the move to STREAMING; then each status line, `message.statusText` set to it), PLAN (`message.plan`),
 *   SQL, RESULT, CHART (`message.chart`) where they were published;
 * - TEXT_DELTA: the stored text's {@link textPieces}, as many at each place as were published there;
 * - COMPLETE: then the COMPLETE event. Exactly the published kinds, sequences, pieces and snapshot fields.
 * - FAILED: the text pieces streamed before the failure are not stored (the stored text is the apology): their
 *   sequences are skipped, the other events keep theirs, and FAILED gets the sequence after the last published
 *   event but at least `afterSequence + 1`, so it always follows what the subscriber saw.
 * A message stored before issue 8 has no outline: STATUS, SQL when `sql` is stored, RESULT when `result` is, then
 * the text pieces and COMPLETE, or FAILED (what the responder published then).
 * Each event's `message` is the message as of that event (status STREAMING; the status line, plan, SQL, result,
 * chart and text known then; `updatedAt` is the stored one); the final event carries the stored message.
 * @param afterSequence the last sequence the subscriber saw (default 0); events up to it are still returned.
 * @throws Error when `message` is not final (its events are the outbox's business).
 */
export function publishedEvents(message: Message, afterSequence = 0): MessageEvent[] {
  if (message.status !== 'COMPLETE' && message.status !== 'FAILED')
    throw new Error(`message ${message.id} is ${message.status}: only a final message's events can be rebuilt`);
  const failed = message.status === 'FAILED';
  const events: MessageEvent[] = [];
  let sequence = 0;
  const add = (kind: MessageEventKind, msg: Message, textDelta: string | null = null) =>
    events.push({ messageId: message.id, sequence: ++sequence, kind, textDelta, message: msg });
  let snapshot: Message = {
    ...message,
    status: 'STREAMING',
    text: '',
    sql: null,
    result: null,
    errorCode: null,
    plan: null,
    chart: null,
    statusText: null,
  };
  const pieces = failed ? [] : textPieces(message.text);
  let used = 0;
  let text = '';
  const piece = () => {
    const p = pieces[used++]!;
    add('TEXT_DELTA', { ...snapshot, text: (text += p) }, p);
  };
  for (const entry of message.eventLog ?? legacyLog(message)) {
    switch (entry.kind) {
      case 'TEXT_DELTA':
        if (failed) sequence += entry.count;
        else for (let i = 0; i < entry.count && used < pieces.length; i++) piece();
        break;
      case 'STATUS':
        add('STATUS', (snapshot = { ...snapshot, statusText: entry.statusText ?? snapshot.statusText }));
        break;
      case 'PLAN':
        add('PLAN', (snapshot = { ...snapshot, plan: message.plan }));
        break;
      case 'SQL':
        add('SQL', (snapshot = { ...snapshot, sql: message.sql }));
        break;
      case 'RESULT':
        add('RESULT', (snapshot = { ...snapshot, result: message.result }));
        break;
      case 'CHART':
        add('CHART', (snapshot = { ...snapshot, chart: message.chart }));
        break;
    }
  }
  if (failed) {
    events.push({
      messageId: message.id,
      sequence: Math.max(sequence + 1, afterSequence + 1),
      kind: 'FAILED',
      textDelta: null,
      message,
    });
    return events;
  }
  while (used < pieces.length) piece(); // a legacy outline: the pieces follow the other events
  add('COMPLETE', message);
  return events;
}

/**
 * `lake` whose every `query` carries `signal` (unless the caller passes its own): a cancelled answer's statements
 * are interrupted in Spark whether or not the analyst hands the signal on.
 */
const withSignal = (lake: AnalystLake, signal: AbortSignal): AnalystLake => ({
  listTables: () => lake.listTables(),
  query: (sql, args, opts) => lake.query(sql, args, { ...opts, signal: opts?.signal ?? signal }),
});

/** The abort reason of an answer whose message another replica ended (a write found it final). */
const ENDED_ELSEWHERE = new Error('The answer was ended by another replica.');
/** The abort reason of the answers still running when the responder closes. */
const SHUTTING_DOWN = new Error('The service is shutting down.');

/** What {@link createResponder} keeps of an answer being computed: its abort switch and its end. */
type Job = { controller: AbortController; done: Promise<Message> };

/**
 * Creates the responder: for each started message, in this order — status STREAMING (event STATUS); then, as the
 * analyst reports them through its hooks, each status line (STATUS, `statusText`), the plan and its summary (PLAN),
 * the SQL (SQL), the result (RESULT), the chart (CHART), each stored before its event; the answer text as
 * TEXT_DELTA events (the model's words as they arrive, or the finished text), cut into {@link textPieces}; then the
 * message stored COMPLETE with the full text (event COMPLETE). Every stored step also stores the outline of the
 * events so far (`eventLog`), from which {@link publishedEvents} rebuilds them.
 *
 * The analyst gets the conversation's earlier questions with the plans of their answers (`history`, newest last, at
 * most {@link MAX_HISTORY}) and the answer's abort signal, which also goes to every lake `query` it runs (the lake
 * it gets adds the signal to a query that has none).
 *
 * Any error stores the message FAILED with the error's DataPilot code (INTERNAL for anything else, logged) and a short
 * apology (event FAILED); a cancel ({@link Responder.cancel}) stores FAILED with {@link CANCELLED}. What was stored
 * before (plan, SQL, result) stays. Every write goes through the tenant's {@link createChatStore}.
 *
 * Events are not published in memory: each is stored in the outbox with the change it reports, in one transaction,
 * and announced to every replica (chat-store.ts; events.ts reads them), numbered 1, 2, 3, ... per message. The first
 * write stores `replicaId` as the message's `answeredBy`, so that a live replica ends it INTERRUPTED if this one
 * stops renewing its heartbeat (replicas.ts). When a write finds the message final, another replica ended it (a
 * cancel, or a recovery that took this one for dead): the answer stops there and publishes nothing more.
 * @param opts.streamDelayMs time between two TEXT_DELTA events, in milliseconds (default 20; the write of a piece
 *   counts in it): a finished text streams at that pace; a model's words are published as they arrive, at most one
 *   piece per pause.
 * @param opts.drainTimeoutMs how long {@link Responder.close} waits for running answers (default 10 000 ms).
 * @param opts.maxConcurrentPerOrg answers one organization may have computed at once in this process, from
 *   {@link Responder.admit} to the end of the answer (default {@link DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG});
 *   the limiter is packages/common org-limits.ts. Per process: each chat replica admits as many.
 */
export function createResponder(opts: {
  pool: Pool;
  lakes: TenantLakes;
  analyst: Analyst;
  /** This replica's id (replicas.ts), stored on the messages it answers. */
  replicaId: string;
  /**
   * The replica's event hub: each running answer follows its own message, and stops at once (its Spark statement
   * interrupted) when a final event it did not write arrives — a cancel on another replica, or a recovery that took
   * this one for dead. Without it, the answer stops at its next write.
   */
  hub?: MessageEventHub;
  logger: Logger;
  streamDelayMs?: number;
  drainTimeoutMs?: number;
  maxConcurrentPerOrg?: number;
}): Responder {
  const { pool, lakes, analyst, replicaId, hub, logger } = opts;
  const delay = opts.streamDelayMs ?? 20;
  const questions = createOrgLimiter({
    what: 'questions being answered',
    limit: opts.maxConcurrentPerOrg ?? DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG,
    typicalHoldMs: TYPICAL_ANSWER_MS,
  });
  const running = new Set<Promise<unknown>>();
  const jobs = new Map<string, Job>();
  let closed = false;

  async function answer(
    tenant: TenantContext,
    message: Message,
    question: string,
    controller: AbortController,
  ): Promise<Message> {
    const { signal } = controller;
    const store = createChatStore(pool, tenant);
    const log = logger.child({ orgId: tenant.orgId, messageId: message.id });
    let current = message;
    let sequence = 0;
    /** The published events in outline, stored with every write (publishedEvents reads it). */
    const outline: EventLogEntry[] = [];
    /** Stops the answer when a write finds the message ended by another replica. */
    const endedElsewhere = () => {
      if (!signal.aborted) controller.abort(ENDED_ELSEWHERE);
      throw ENDED_ELSEWHERE;
    };
    /** Stores `patch` and, with it, the event `kind` (next number) whose snapshot is the stored message. */
    const update = async (patch: MessagePatch, kind: Exclude<MessageEventKind, 'TEXT_DELTA'>) => {
      const stored = await store.updateAssistantMessage(message.id, patch, { sequence: sequence + 1, kind });
      if (!stored) return endedElsewhere();
      sequence++;
      return (current = stored);
    };
    /** Records `entry` in the outline, stores `patch` with it and its event. */
    const step = async (entry: EventLogEntry, patch: MessagePatch) => {
      outline.push(entry);
      await update({ ...patch, eventLog: [...outline] }, entry.kind as Exclude<MessageEventKind, 'TEXT_DELTA'>);
    };

    // The hooks' work runs in call order on one chain, whether or not the analyst awaits a hook; once the answer
    // stops (cancelled, failed, a write failed), queued work is skipped: nothing is published after the final event,
    // and no event number is skipped.
    let stopping = false;
    let work: Promise<void> = Promise.resolve();
    let hookError: unknown = null;
    const queue = (fn: () => Promise<void>): Promise<void> => {
      const next = work.then(() => (stopping || signal.aborted || hookError !== null ? undefined : fn()));
      work = next.catch((e) => void (hookError ??= e));
      return next;
    };
    const done = { plan: false, sql: false, result: false, chart: false };

    // Text: cut into textPieces as it arrives (what is not yet a whole piece waits for more), one TEXT_DELTA each.
    let streamed = '';
    let pendingText = '';
    const publishPiece = (piece: string) =>
      queue(async () => {
        const started = Date.now();
        if (!(await store.appendTextDelta(message.id, sequence + 1, piece))) endedElsewhere();
        sequence++;
        const last = outline.at(-1);
        if (last?.kind === 'TEXT_DELTA') last.count++;
        else outline.push({ kind: 'TEXT_DELTA', count: 1 });
        // The pace is one piece per `delay`, the write included.
        const rest = delay - (Date.now() - started);
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      });
    const addText = (delta: string) => {
      streamed += delta;
      pendingText += delta;
      const pieces: Promise<void>[] = [];
      for (let space; pendingText.length > PIECE_SIZE && (space = pendingText.indexOf(' ', PIECE_SIZE)) !== -1;) {
        pieces.push(publishPiece(pendingText.slice(0, space + 1)));
        pendingText = pendingText.slice(space + 1);
      }
      return Promise.all(pieces).then(() => undefined);
    };

    const cancelled = new Promise<never>((_, reject) => {
      const stop = () => reject(signal.reason);
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
    cancelled.catch(() => undefined);
    /** `p`, or the cancel's rejection as soon as the signal fires (the work behind `p` is left to stop itself). */
    const untilCancelled = <T>(p: Promise<T>): Promise<T> => {
      p.catch(() => undefined);
      return Promise.race([p, cancelled]);
    };

    const hooks: Required<AnalystHooks> = {
      onStatus: (line) =>
        queue(() => {
          const statusText = line.slice(0, MAX_STATUS_CHARS);
          return step({ kind: 'STATUS', statusText }, { statusText });
        }),
      onPlan(plan, summary) {
        done.plan = true;
        return queue(() => step({ kind: 'PLAN' }, { plan: { summary, plan } }));
      },
      onSql(sql) {
        done.sql = true;
        return queue(() => step({ kind: 'SQL' }, { sql }));
      },
      onResult(result) {
        done.result = true;
        return queue(() => step({ kind: 'RESULT' }, { result }));
      },
      onChart(chart) {
        done.chart = true;
        return queue(() => step({ kind: 'CHART' }, { chart }));
      },
      onTextDelta: (delta) => addText(delta),
    };

    try {
      outline.push({ kind: 'STATUS' });
      await update({ status: 'STREAMING', eventLog: [...outline], answeredBy: replicaId }, 'STATUS');
      const history = await untilCancelled(store.priorQuestions(message.id, MAX_HISTORY));
      const reply = await untilCancelled(
        analyst.answer(
          question,
          { lake: withSignal(lakes.forTenant(tenant), signal), orgId: tenant.orgId, history, signal },
          hooks,
        ),
      );
      await untilCancelled(work);
      if (hookError) throw hookError;
      // What the analyst answered but did not report through a hook is stored and published now.
      if (reply.plan && !done.plan && reply.planSummary !== null) hooks.onPlan(reply.plan, reply.planSummary);
      if (reply.sql !== null && !done.sql) hooks.onSql(reply.sql, reply.params ?? {});
      if (reply.result !== null && !done.result) hooks.onResult(reply.result);
      if (reply.chart !== null && !done.chart) hooks.onChart(reply.chart);
      // The rest of the text: what the analyst did not stream. When it wrote something else than it streamed (a
      // model that failed mid-sentence), its text follows what was streamed: the pieces always add up to the text.
      let rest = reply.text.slice(streamed.length);
      if (!reply.text.startsWith(streamed)) {
        log.warn('the answer text does not continue the streamed text', { streamed: streamed.length });
        rest = `\n\n${reply.text}`;
      }
      const finalText = streamed + rest;
      for (const piece of textPieces(pendingText + rest)) void publishPiece(piece);
      pendingText = '';
      await untilCancelled(work);
      if (hookError) throw hookError;
      stopping = true;
      return await update({ status: 'COMPLETE', text: finalText, eventLog: [...outline] }, 'COMPLETE');
    } catch (e) {
      stopping = true;
      const reason: unknown = signal.aborted ? signal.reason : null;
      // The write in flight, if any, finishes (and is published) first: the outline stays that of what was published.
      await work;
      if (e === ENDED_ELSEWHERE || reason === ENDED_ELSEWHERE || hookError === ENDED_ELSEWHERE) {
        log.info('answer ended by another replica');
        return (await store.getMessage(message.id).catch(() => null)) ?? current;
      }
      const known = hasErrorCode(e);
      const code =
        reason === SHUTTING_DOWN
          ? INTERRUPTED
          : reason !== null
            ? CANCELLED
            : known
              ? String((e as { extensions: { code: string } }).extensions.code)
              : 'INTERNAL';
      // A cancel is the member's decision; a DataPilot code (lake down, timeout) an expected condition; else a bug.
      if (reason !== null) log.info(code === INTERRUPTED ? 'answer interrupted by shutdown' : 'answer cancelled');
      else if (known) log.warn('answer failed', { code, message: (e as Error).message });
      else log.error('answer failed', { code, err: e });
      const failed: MessagePatch = { status: 'FAILED', errorCode: code, text: failureText(code), eventLog: outline };
      // Numbered after the stored events (a piece whose write failed left no number behind). Not stored (the
      // database is down): the message stays STREAMING with this replica's id, and the replica's own recovery
      // sweep ends it once this answer is over (replicas.ts).
      return store
        .updateAssistantMessage(message.id, failed, { sequence: null, kind: 'FAILED' })
        .then((stored) => stored ?? store.getMessage(message.id))
        .then((stored) => stored ?? { ...current, ...failed })
        .catch((err) => {
          log.error('could not store the failed answer', { err });
          return { ...current, ...failed };
        });
    }
  }

  return {
    admit: (tenant) => questions.acquire(tenant.orgId),
    start(tenant, message, question, slot) {
      if (closed) throw new Error('the responder is closed');
      const controller = new AbortController();
      // A final event while the answer runs is another replica's (this one's own ends the job first, or arrives
      // when the answer no longer waits on anything the abort reaches).
      const follow = hub?.listen(tenant.orgId, message.id, (e) => {
        if (isFinalEvent(e) && !controller.signal.aborted) controller.abort(ENDED_ELSEWHERE);
      });
      const done = answer(tenant, message, question, controller).finally(() => {
        follow?.detach();
        slot.release();
        running.delete(done);
        jobs.delete(message.id);
      });
      jobs.set(message.id, { controller, done });
      running.add(done);
    },
    async cancel(tenant, message, anyAuthor) {
      const job = jobs.get(message.id);
      if (job) {
        job.controller.abort(new Error('The answer was cancelled.'));
        return job.done;
      }
      const store = createChatStore(pool, tenant);
      const stored = await store.cancelAssistantMessage(
        message.id,
        { status: 'FAILED', errorCode: CANCELLED, text: failureText(CANCELLED) },
        anyAuthor,
      );
      return stored ?? (await store.getMessage(message.id)) ?? message;
    },
    isAnswering: (messageId) => jobs.has(messageId),
    async close() {
      closed = true;
      const drained = (ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((r) => (timer = setTimeout(r, ms)));
        return Promise.race([Promise.allSettled([...running]), timeout]).finally(() => clearTimeout(timer));
      };
      await drained(opts.drainTimeoutMs ?? 10_000);
      // What still runs is stopped and stored INTERRUPTED rather than left STREAMING until a recovery.
      for (const job of jobs.values()) job.controller.abort(SHUTTING_DOWN);
      await drained(2_000);
    },
  };
}
