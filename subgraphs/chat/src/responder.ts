import type { Pool } from 'pg';
import { createOrgLimiter, hasErrorCode, type Logger, type OrgSlot, type TenantContext } from '@datapilot/common';
import type { Analyst, AnalystLake } from './analyst/index.ts';
import { createChatStore, type Message, type MessagePatch } from './data/chat-store.ts';
import type { MessageEvent, MessageEventHub, MessageEventKind } from './events.ts';

/** Gives the analyst the lake of one tenant; `@datapilot/lake-core`'s `createLake(...)` fits. */
export interface TenantLakes {
  forTenant(tenant: TenantContext): AnalystLake;
  /** Resolves when the engine behind the lakes answers (readiness); lake-core's `Lake.ping`. */
  ping?(): Promise<unknown>;
}

/** Default of CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG: answers one organization may have computed at once. */
export const DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG = 2;
/** How long an answer is assumed to take before one was seen, in milliseconds (for `retryAfterSeconds`). */
const TYPICAL_ANSWER_MS = 5_000;

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
   * a timeout, the store). The hub knows the message as being answered when this returns, so a subscriber that
   * attaches afterwards misses nothing.
   */
  start(tenant: TenantContext, message: Message, question: string, slot: OrgSlot): void;
  /** Stops taking new work and waits for running answers, at most `drainTimeoutMs`. */
  close(): Promise<void>;
}

/** The user-facing sentence of a FAILED message, by error code. */
const FAILURE_TEXT: Record<string, string> = {
  UPSTREAM_UNAVAILABLE: 'the data lake is not reachable right now',
  UPSTREAM_TIMEOUT: 'the query took too long',
  BAD_USER_INPUT: 'the lake refused the query',
  RATE_LIMITED: "the data lake is busy with your organization's other work",
};
const failureText = (code: string) =>
  `Sorry, I could not answer that: ${FAILURE_TEXT[code] ?? 'something went wrong on our side'}. Please try again.`;

/**
 * Splits `text` into the pieces streamed as TEXT_DELTA events: runs of about `size` characters ending at a space,
 * so words are not cut. Their concatenation is `text`.
 */
export function textPieces(text: string, size = 16): string[] {
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

/**
 * The events {@link createResponder} published for `message`, which is now COMPLETE or FAILED, rebuilt from what is
 * stored, for a subscriber that resumes after the hub dropped them (events.ts `openMessageEventStream`). The order
 * is the one `answer` below publishes (keep the two together): STATUS, SQL when `sql` is stored, RESULT when
 * `result` is stored (the analyst calls each hook at most once, SQL first), then
 * - COMPLETE: one TEXT_DELTA per {@link textPieces} of the stored text (the text that was streamed), then COMPLETE:
 *   exactly the published kinds, sequences 1, 2, 3, ... and text pieces;
 * - FAILED: the FAILED event. Its text is the apology, which was never streamed; pieces streamed before a store
 *   failure ended the answer are not stored, so FAILED gets the sequence after the stored events but at least
 *   `afterSequence + 1`: it always follows what the subscriber saw.
 * Each event's `message` is the message as of that event (status STREAMING, the SQL, result and text known then;
 * `updatedAt` is the stored one); the final event carries the stored message.
 * @param afterSequence the last sequence the subscriber saw (default 0); events up to it are still returned.
 * @throws Error when `message` is not final (its events are the hub's business).
 */
export function publishedEvents(message: Message, afterSequence = 0): MessageEvent[] {
  if (message.status !== 'COMPLETE' && message.status !== 'FAILED')
    throw new Error(`message ${message.id} is ${message.status}: only a final message's events can be rebuilt`);
  const events: MessageEvent[] = [];
  let snapshot: Message = { ...message, status: 'STREAMING', text: '', sql: null, result: null, errorCode: null };
  const add = (kind: MessageEventKind, msg: Message, textDelta: string | null = null, sequence = events.length + 1) =>
    events.push({ messageId: message.id, sequence, kind, textDelta, message: msg });
  add('STATUS', snapshot);
  if (message.sql !== null) add('SQL', (snapshot = { ...snapshot, sql: message.sql }));
  if (message.result !== null) add('RESULT', (snapshot = { ...snapshot, result: message.result }));
  if (message.status === 'FAILED') {
    add('FAILED', message, null, Math.max(events.length + 1, afterSequence + 1));
    return events;
  }
  let text = '';
  for (const piece of textPieces(message.text)) add('TEXT_DELTA', { ...snapshot, text: (text += piece) }, piece);
  add('COMPLETE', message);
  return events;
}

/**
 * Creates the responder: for each started message, in this order — status STREAMING (event STATUS), the analyst's
 * SQL (event SQL) and result (event RESULT) stored as soon as known, the answer text as TEXT_DELTA events, then the
 * message stored COMPLETE with the full text (event COMPLETE). Any error stores the message FAILED with the error's
 * DataPilot code (INTERNAL for anything else, logged) and a short apology (event FAILED); what was stored before
 * (question, SQL) stays. Every write goes through the tenant's {@link createChatStore}.
 * @param opts.streamDelayMs pause between two TEXT_DELTA events, in milliseconds (default 20).
 * @param opts.drainTimeoutMs how long {@link Responder.close} waits for running answers (default 10 000 ms).
 * @param opts.maxConcurrentPerOrg answers one organization may have computed at once in this process, from
 *   {@link Responder.admit} to the end of the answer (default {@link DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG});
 *   the limiter is packages/common org-limits.ts. Per process: each chat replica admits as many.
 */
export function createResponder(opts: {
  pool: Pool;
  lakes: TenantLakes;
  analyst: Analyst;
  hub: MessageEventHub;
  logger: Logger;
  streamDelayMs?: number;
  drainTimeoutMs?: number;
  maxConcurrentPerOrg?: number;
}): Responder {
  const { pool, lakes, analyst, hub, logger } = opts;
  const delay = opts.streamDelayMs ?? 20;
  const questions = createOrgLimiter({
    what: 'questions being answered',
    limit: opts.maxConcurrentPerOrg ?? DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG,
    typicalHoldMs: TYPICAL_ANSWER_MS,
  });
  const running = new Set<Promise<void>>();
  let closed = false;

  async function answer(tenant: TenantContext, message: Message, question: string) {
    const store = createChatStore(pool, tenant);
    const log = logger.child({ orgId: tenant.orgId, messageId: message.id });
    let current = message;
    let sequence = 0;
    // The order of the events below is rebuilt by publishedEvents (resume after the answer ended): keep the two alike.
    const emit = (kind: MessageEventKind, msg: Message, textDelta: string | null = null) =>
      hub.publish({ messageId: message.id, sequence: ++sequence, kind, textDelta, message: msg });
    const update = async (patch: MessagePatch) => {
      current = (await store.updateAssistantMessage(message.id, patch)) ?? { ...current, ...patch };
      return current;
    };
    try {
      emit('STATUS', await update({ status: 'STREAMING' }));
      const reply = await analyst.answer(
        question,
        { lake: lakes.forTenant(tenant), orgId: tenant.orgId },
        {
          onSql: async (sql) => emit('SQL', await update({ sql })),
          onResult: async (result) => emit('RESULT', await update({ result })),
        },
      );
      let text = '';
      for (const piece of textPieces(reply.text)) {
        text += piece;
        emit('TEXT_DELTA', { ...current, text }, piece);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      }
      emit('COMPLETE', await update({ status: 'COMPLETE', text: reply.text }));
    } catch (e) {
      const known = hasErrorCode(e);
      const code = known ? String((e as { extensions: { code: string } }).extensions.code) : 'INTERNAL';
      // A DataPilot code (lake down, timeout) is an expected condition; anything else is a bug.
      if (known) log.warn('answer failed', { code, message: (e as Error).message });
      else log.error('answer failed', { code, err: e });
      const failed: MessagePatch = { status: 'FAILED', errorCode: code, text: failureText(code) };
      const stored = await update(failed).catch((err) => {
        log.error('could not store the failed answer', { err });
        return { ...current, ...failed };
      });
      emit('FAILED', stored);
    }
  }

  return {
    admit: (tenant) => questions.acquire(tenant.orgId),
    start(tenant, message, question, slot) {
      if (closed) throw new Error('the responder is closed');
      hub.begin(message.id);
      const job = answer(tenant, message, question).finally(() => {
        slot.release();
        running.delete(job);
      });
      running.add(job);
    },
    async close() {
      closed = true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, opts.drainTimeoutMs ?? 10_000)));
      await Promise.race([Promise.allSettled([...running]), timeout]);
      clearTimeout(timer);
    },
  };
}
