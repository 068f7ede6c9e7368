import type { Pool, PoolClient, QueryResultRow } from 'pg';
import {
  byKeys,
  cursorAtColumn,
  inTenantTransaction,
  keysetPage,
  keysetSql,
  type Page,
  type PageRequest,
  type TenantContext,
} from '@datapilot/common';

import type { QueryPlan } from '../analyst/query-plan.ts';
import type { MessageEventKind } from '../events.ts';

export type { Keyset, Page, PageRequest } from '@datapilot/common';

/** Who wrote a message. */
export type MessageRole = 'USER' | 'ASSISTANT';
/** Life cycle of a message: USER messages are stored COMPLETE; ASSISTANT ones go PENDING → STREAMING → COMPLETE | FAILED. */
export type MessageStatus = 'PENDING' | 'STREAMING' | 'COMPLETE' | 'FAILED';
/** The analyst's result table: `rows` are arrays in column order, JSON values only. */
export type MessageResult = { columns: { name: string; type: string }[]; rows: unknown[][] };

/** What the analyst understood: `summary` is the plan in words (the analyst's), `plan` the plan it ran. */
export type StoredPlan = { summary: string; plan: QueryPlan };

/**
 * One entry of a message's event outline (`Message.eventLog`): the events published for it, in order, without their
 * payloads, which are the message's own fields. A STATUS entry carries its status line (none for the first STATUS,
 * the move to STREAMING); TEXT_DELTA stands for `count` consecutive text pieces (responder.ts `textPieces` of the
 * text). The final COMPLETE or FAILED event is not in it.
 */
export type EventLogEntry =
  | { kind: Exclude<MessageEventKind, 'TEXT_DELTA' | 'COMPLETE' | 'FAILED'>; statusText?: string }
  | { kind: 'TEXT_DELTA'; count: number };

/** One earlier question of a conversation and the plan of its answer (null: none stored). */
export type PriorQuestion = { question: string; plan: QueryPlan | null };

/**
 * A conversation as the API shows it (`createdAt` ISO-8601 UTC): `createdBy` is its creator's user id, `shared` whether
 * the creator shares it with the organization.
 */
export type Conversation = { id: string; title: string; createdAt: string; createdBy: string; shared: boolean };

/** A message as the API shows it (`createdAt`/`updatedAt` ISO-8601 UTC). */
export type Message = {
  id: string;
  conversationId: string;
  role: MessageRole;
  status: MessageStatus;
  text: string;
  sql: string | null;
  result: MessageResult | null;
  errorCode: string | null;
  /** What the analyst understood (ASSISTANT messages that got as far as a plan), else null. */
  plan: StoredPlan | null;
  /** The answer's Vega-Lite v5 chart (analyst/chart.ts), or null. */
  chart: Record<string, unknown> | null;
  /** The analyst's latest status line while it works ("Reading your tables"), or null. */
  statusText: string | null;
  /** The events published for it so far, in outline (null for messages stored before issue 8). Internal. */
  eventLog: EventLogEntry[] | null;
  /** The member whose message it is: who wrote the question (USER), or who asked what the answer answers (ASSISTANT). */
  authorId: string;
  createdAt: string;
  updatedAt: string;
};

/**
 * Fields of an assistant message the responder may change; unset fields keep their value. `answeredBy` is the id of
 * the replica answering it (replicas.ts; not part of {@link Message}), stored with the move to STREAMING.
 */
export type MessagePatch = Partial<
  Pick<Message, 'status' | 'text' | 'sql' | 'result' | 'errorCode' | 'plan' | 'chart' | 'statusText' | 'eventLog'>
> & { answeredBy?: string };

/**
 * An event to store with a message change, in the same transaction (the outbox, migrations/006): its kind and number
 * (`sequence` null: the next number after the message's stored events, for an event written by a replica that was
 * not publishing the message, e.g. the FAILED of a cancel or of a recovery). Its snapshot is the message as stored
 * by the change.
 */
export type OutboxEvent = { sequence: number | null; kind: Exclude<MessageEventKind, 'TEXT_DELTA'> };

/** One stored event of the outbox: TEXT_DELTA rows carry `textDelta` and no snapshot, every other kind a snapshot. */
export type StoredMessageEvent = {
  sequence: number;
  kind: MessageEventKind;
  textDelta: string | null;
  message: Message | null;
};

/** The PostgreSQL channel on which every stored message event is announced (NOTIFY), for every replica. */
export const MESSAGE_EVENTS_CHANNEL = 'chat_message_events';
/**
 * Largest NOTIFY payload sent, in bytes (PostgreSQL refuses 8000 and more); a larger event is announced by its
 * position alone and read from the outbox.
 */
const MAX_NOTIFY_BYTES = 7_900;

/**
 * What a NOTIFY on {@link MESSAGE_EVENTS_CHANNEL} carries (JSON): the org `o`, message `m`, sequence `s`, kind `k`,
 * and when the payload stays under {@link MAX_NOTIFY_BYTES}, the piece `d` (TEXT_DELTA) or the snapshot `x` (other
 * kinds). Without them (or without `s`), a listener reads the outbox past what it has.
 */
export type EventNotice = {
  o: string;
  m: string;
  s?: number;
  k?: MessageEventKind;
  d?: string;
  x?: Message;
};

/** The payload of the NOTIFY of `event` of message `messageId` of `orgId` ({@link EventNotice}). */
function noticePayload(orgId: string, messageId: string, event: StoredMessageEvent): string {
  const full: EventNotice = { o: orgId, m: messageId, s: event.sequence, k: event.kind };
  if (event.textDelta !== null) full.d = event.textDelta;
  if (event.message !== null) full.x = event.message;
  const text = JSON.stringify(full);
  if (Buffer.byteLength(text) <= MAX_NOTIFY_BYTES) return text;
  return JSON.stringify({ o: orgId, m: messageId, s: event.sequence, k: event.kind });
}

/**
 * Stores `event` of message `messageId` (org `orgId`) in the outbox and announces it, inside the caller's tenant
 * transaction (the NOTIFY is delivered when it commits, after the row is visible).
 * @returns the event's sequence.
 */
async function insertEvent(
  client: PoolClient,
  orgId: string,
  messageId: string,
  event: { sequence: number | null; kind: MessageEventKind; textDelta: string | null; message: Message | null },
): Promise<number> {
  const insert = `INSERT INTO chat.message_events (message_id, org_id, sequence, kind, text_delta, message)
    VALUES ($1, $2, COALESCE($3::integer, (SELECT COALESCE(max(e.sequence), 0) + 1 FROM chat.message_events e
                                           WHERE e.message_id = $1)), $4, $5, $6::jsonb)
    RETURNING sequence`;
  const params = [
    messageId,
    orgId,
    event.sequence,
    event.kind,
    event.textDelta,
    event.message === null ? null : JSON.stringify(event.message),
  ];
  if (event.sequence !== null) {
    // One round trip: the row, then its NOTIFY.
    const payload = noticePayload(orgId, messageId, event as StoredMessageEvent);
    await client.query(`WITH e AS (${insert}) SELECT pg_notify($7, $8) FROM e`, [
      ...params,
      MESSAGE_EVENTS_CHANNEL,
      payload,
    ]);
    return event.sequence;
  }
  const { rows } = await client.query<{ sequence: number }>(insert, params);
  const sequence = rows[0]!.sequence;
  await client.query('SELECT pg_notify($1, $2)', [
    MESSAGE_EVENTS_CHANNEL,
    noticePayload(orgId, messageId, { ...event, sequence } as StoredMessageEvent),
  ]);
  return sequence;
}

/** Statuses after which a message never changes again. */
export const FINAL_STATUSES: readonly MessageStatus[] = ['COMPLETE', 'FAILED'];

/**
 * The chat data of ONE tenant. Two walls keep other organizations out: every statement binds `tenant.orgId`, and runs
 * in a tenant transaction ({@link inTenantTransaction}) whose row-level security policies (migrations/003) admit only
 * that org's rows even if a WHERE clause forgot it.
 *
 * Inside the org, a conversation is private to its creator (a member of the same org, even an OWNER, gets NOT_FOUND
 * at the API: the default a user expects of a personal chat history) until the creator shares it: a SHARED
 * conversation is readable by every member of its org. A message is visible when its conversation is. Writing — new
 * messages, the answer's updates, the sharing itself — stays the creator's alone.
 */
export interface ChatStore {
  /** The caller's organization: every read and write of this store is of its rows only. */
  readonly orgId: string;
  /** Creates a private conversation owned by the caller. `title` must already be validated (1..200 chars). */
  createConversation(title: string): Promise<Conversation>;
  /**
   * The conversations the caller may read — its own and the org's shared ones, in one list — newest first: by
   * (createdAt, id) descending. The page's cursors are decoded positions in the list: the rows strictly between them
   * (a cursor's row itself need not exist any more; a conversation shared or unshared between two pages appears or
   * not according to its state when its page is read).
   */
  listConversations(page: PageRequest): Promise<Page<Conversation>>;
  /** Conversation `id` when the caller may read it (its own, or shared in its org), else null. */
  getConversation(id: string): Promise<Conversation | null>;
  /**
   * {@link ChatStore.getConversation} for many ids in one statement (entity references): one entry per id, in order.
   * `ids` must be lower-case UUIDs.
   */
  getConversations(ids: readonly string[]): Promise<(Conversation | null)[]>;
  /**
   * Shares the caller's own conversation `id` with its organization (`shared` true) or makes it private again.
   * @returns the conversation, or null when it is not the caller's own (nothing changes).
   */
  setShared(id: string, shared: boolean): Promise<Conversation | null>;
  /**
   * Messages of conversation `conversationId` in the order they were written: by (createdAt, id) ascending, paged
   * as in {@link ChatStore.listConversations}; empty when the conversation is not visible.
   */
  listMessages(conversationId: string, page: PageRequest): Promise<Page<Message>>;
  /** Message `id` when the caller may read its conversation, else null. */
  getMessage(id: string): Promise<Message | null>;
  /** {@link ChatStore.getMessage} for many ids in one statement: one entry per id, in order (lower-case UUIDs). */
  getMessages(ids: readonly string[]): Promise<(Message | null)[]>;
  /**
   * Stores the user's message (COMPLETE) and a PENDING assistant message in one transaction. Each new message's
   * `createdAt` is the clock's time, but at least 1 µs after the conversation's latest message, so the order written
   * is the listed order even if the clock steps back.
   * @returns both, or null when the conversation is not the caller's own — not even a shared one of another member —
   *   (nothing is written then).
   */
  addExchange(
    conversationId: string,
    text: string,
  ): Promise<{ userMessage: Message; assistantMessage: Message } | null>;
  /**
   * Updates the ASSISTANT message `id` of one of the caller's own conversations unless it is already COMPLETE/FAILED
   * (final messages never change). With `event`, stores that event of it (the updated message as its snapshot) in
   * the outbox and announces it, in the same transaction: a step and its event are both stored or neither is.
   * @returns the updated message, or null when none was updated (no event stored then).
   * @throws the unique violation of the outbox when `event.sequence` is taken (another writer numbered it).
   */
  updateAssistantMessage(id: string, patch: MessagePatch, event?: OutboxEvent): Promise<Message | null>;
  /**
   * Stores and announces the TEXT_DELTA event `sequence` of the ASSISTANT message `id` (of the caller's org) with its
   * piece `textDelta`, unless the message is final: another replica ended it (a cancel, a recovery). Takes a share
   * lock on the message row, so that a concurrent end of the message numbers its FAILED after this piece.
   * @returns false when the message is final or not the org's (nothing stored).
   */
  appendTextDelta(id: string, sequence: number, textDelta: string): Promise<boolean>;
  /**
   * Stores the ASSISTANT message `id` with `patch` (the FAILED state of a cancelled answer) unless it is already
   * COMPLETE/FAILED, for a caller who may read its conversation and is the member who asked (`authorId`), or any
   * such caller when `anyAuthor` (an ADMIN or OWNER: the resolver checks the role). For `cancelMessage` when no
   * replica of this service is computing the answer here. Stores its FAILED event in the outbox (numbered after the
   * stored ones) in the same transaction, which tells the replica computing it, if any, to stop (its next write
   * finds the message final).
   * @returns the updated message, or null when none was updated.
   */
  cancelAssistantMessage(id: string, patch: MessagePatch, anyAuthor: boolean): Promise<Message | null>;
  /**
   * The questions asked before the one that ASSISTANT message `id` answers, in its conversation, each with the plan
   * stored on the answer that follows it: the newest `limit` (1..50) of them, oldest first. Empty when the message is
   * not visible to the caller.
   */
  priorQuestions(id: string, limit: number): Promise<PriorQuestion[]>;
}

type ConversationRow = {
  id: string;
  title: string;
  created_at: Date;
  user_id: string;
  shared: boolean;
  cursor_at: string;
};
type MessageRow = {
  id: string;
  conversation_id: string;
  role: MessageRole;
  status: MessageStatus;
  text: string;
  sql: string | null;
  result: MessageResult | null;
  error_code: string | null;
  plan: StoredPlan | null;
  chart: Record<string, unknown> | null;
  status_text: string | null;
  event_log: EventLogEntry[] | null;
  author_id: string;
  created_at: Date;
  updated_at: Date;
  cursor_at: string;
};

const toConversation = (r: ConversationRow): Conversation => ({
  id: r.id,
  title: r.title,
  createdAt: r.created_at.toISOString(),
  createdBy: r.user_id,
  shared: r.shared,
});

const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  conversationId: r.conversation_id,
  role: r.role,
  status: r.status,
  text: r.text,
  sql: r.sql,
  result: r.result,
  errorCode: r.error_code,
  plan: r.plan,
  chart: r.chart,
  statusText: r.status_text,
  eventLog: r.event_log,
  authorId: r.author_id,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const CONVERSATION_COLUMNS = `id, title, created_at, user_id, shared, ${cursorAtColumn('created_at')}`;
/** Who may READ a conversation (alias `c`, org $1, user $2): its creator, or anyone of its org once shared. */
const READABLE = `c.org_id = $1 AND (c.user_id = $2 OR c.shared)`;
/** Who may WRITE to a conversation (alias `c`, org $1, user $2): its creator only. */
const WRITABLE = `c.org_id = $1 AND c.user_id = $2`;
const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.role, m.status, m.text, m.sql, m.result, m.error_code, m.plan,
  m.chart, m.status_text, m.event_log, m.author_id, m.created_at,
  m.updated_at, ${cursorAtColumn('m.created_at')}`;
/** The visibility rule of messages, as one join: the caller may read the message's conversation. */
const VISIBLE_MESSAGES = `chat.messages m JOIN chat.conversations c ON c.id = m.conversation_id AND c.org_id = m.org_id
  WHERE m.org_id = $1 AND ${READABLE}`;

/** The columns a {@link MessagePatch} may set: [patch key, column, stored as jsonb]. */
const PATCH_COLUMNS: [keyof MessagePatch, string, boolean][] = [
  ['status', 'status', false],
  ['text', 'text', false],
  ['sql', 'sql', false],
  ['result', 'result', true],
  ['errorCode', 'error_code', false],
  ['plan', 'plan', true],
  ['chart', 'chart', true],
  ['statusText', 'status_text', false],
  ['eventLog', 'event_log', true],
  ['answeredBy', 'answered_by', false],
];

/**
 * The SET list of an UPDATE of `chat.messages AS m` by `patch`, with its parameters numbered from `$first`: every
 * column appears as `CASE WHEN <given> THEN <value> ELSE m.<column> END` (one statement text for every patch), a
 * key absent from `patch` keeps the stored value, a key given as null or undefined stores NULL.
 */
function patchSet(patch: MessagePatch, first: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const sql = PATCH_COLUMNS.map(([key, column, json]) => {
    const given = Object.prototype.hasOwnProperty.call(patch, key);
    const value = patch[key];
    params.push(given, value == null ? null : json ? JSON.stringify(value) : value);
    const at = first + params.length - 2;
    return `${column} = CASE WHEN $${at} THEN $${at + 1}${json ? '::jsonb' : ''} ELSE m.${column} END`;
  }).join(',\n           ');
  return { sql, params };
}

/**
 * Builds the chat data layer of `tenant` over `pool` (schema `chat`, see migrations/). Cheap: build one per request.
 * Errors are PostgreSQL errors (callers let them become INTERNAL).
 */
export function createChatStore(pool: Pool, tenant: TenantContext): ChatStore {
  const { orgId, userId } = tenant;

  /** A tenant transaction that commits only when `fn` found what it needed (a non-null result). */
  const inTransaction = <T>(fn: (client: PoolClient) => Promise<T | null>) =>
    inTenantTransaction(pool, tenant, fn, (out) => out !== null);
  /** One statement in a tenant transaction of its own. */
  const query = <R extends QueryResultRow>(sql: string, params: unknown[]) =>
    inTenantTransaction(pool, tenant, (client) => client.query<R>(sql, params));

  return {
    orgId,
    async createConversation(title) {
      const { rows } = await query<ConversationRow>(
        `INSERT INTO chat.conversations (org_id, user_id, title) VALUES ($1, $2, $3) RETURNING ${CONVERSATION_COLUMNS}`,
        [orgId, userId, title],
      );
      return toConversation(rows[0]!);
    },

    async listConversations(page) {
      const k = keysetSql(page, { at: 'c.created_at', id: 'c.id', descending: true }, 3);
      const { rows } = await query<ConversationRow>(
        `SELECT ${CONVERSATION_COLUMNS} FROM chat.conversations c
         WHERE ${READABLE}${k.where}
         ORDER BY ${k.orderBy} LIMIT ${k.limit}`,
        [orgId, userId, ...k.params],
      );
      return keysetPage(rows, page, 'conversation', toConversation);
    },

    async getConversation(id) {
      const { rows } = await query<ConversationRow>(
        `SELECT ${CONVERSATION_COLUMNS} FROM chat.conversations c WHERE c.id = $3 AND ${READABLE}`,
        [orgId, userId, id],
      );
      return rows[0] ? toConversation(rows[0]) : null;
    },

    async getConversations(ids) {
      const { rows } = await query<ConversationRow>(
        `SELECT ${CONVERSATION_COLUMNS} FROM chat.conversations c WHERE c.id = ANY($3::uuid[]) AND ${READABLE}`,
        [orgId, userId, [...new Set(ids)]],
      );
      return byKeys(ids, rows.map(toConversation), (c) => c.id);
    },

    async setShared(id, shared) {
      const { rows } = await query<ConversationRow>(
        `UPDATE chat.conversations c SET shared = $4 WHERE c.id = $3 AND ${WRITABLE} RETURNING ${CONVERSATION_COLUMNS}`,
        [orgId, userId, id, shared],
      );
      return rows[0] ? toConversation(rows[0]) : null;
    },

    async listMessages(conversationId, page) {
      const k = keysetSql(page, { at: 'm.created_at', id: 'm.id', descending: false }, 4);
      const { rows } = await query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM ${VISIBLE_MESSAGES}
           AND m.conversation_id = $3${k.where}
         ORDER BY ${k.orderBy} LIMIT ${k.limit}`,
        [orgId, userId, conversationId, ...k.params],
      );
      return keysetPage(rows, page, 'message', toMessage);
    },

    async getMessage(id) {
      const { rows } = await query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM ${VISIBLE_MESSAGES} AND m.id = $3`, [
        orgId,
        userId,
        id,
      ]);
      return rows[0] ? toMessage(rows[0]) : null;
    },

    async getMessages(ids) {
      const { rows } = await query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM ${VISIBLE_MESSAGES} AND m.id = ANY($3::uuid[])`,
        [orgId, userId, [...new Set(ids)]],
      );
      return byKeys(ids, rows.map(toMessage), (m) => m.id);
    },

    addExchange(conversationId, text) {
      return inTransaction(async (client) => {
        // The INSERT ... SELECT writes nothing unless the conversation is this org's and this user's own. The time is
        // the clock's, but after the conversation's latest message: the answer always lists after its question.
        const insert = (role: MessageRole, status: MessageStatus, body: string) =>
          client.query<MessageRow>(
            `INSERT INTO chat.messages AS m (conversation_id, org_id, role, status, text, created_at, updated_at, author_id)
             SELECT c.id, c.org_id, $4, $5, $6, t.at, t.at, $2
               FROM chat.conversations c
             CROSS JOIN LATERAL (SELECT GREATEST(clock_timestamp(), (SELECT max(p.created_at) + interval '1 microsecond'
               FROM chat.messages p WHERE p.conversation_id = c.id)) AS at) t
             WHERE c.id = $3 AND ${WRITABLE}
             RETURNING ${MESSAGE_COLUMNS}`,
            [orgId, userId, conversationId, role, status, body],
          );
        const user = await insert('USER', 'COMPLETE', text);
        if (!user.rows[0]) return null;
        const assistant = await insert('ASSISTANT', 'PENDING', '');
        return { userMessage: toMessage(user.rows[0]), assistantMessage: toMessage(assistant.rows[0]!) };
      });
    },

    updateAssistantMessage(id, patch, event) {
      const set = patchSet(patch, 4);
      return inTransaction(async (client) => {
        const { rows } = await client.query<MessageRow>(
          `UPDATE chat.messages AS m SET ${set.sql}, updated_at = clock_timestamp()
           FROM chat.conversations c
           WHERE m.id = $3 AND m.org_id = $1 AND c.id = m.conversation_id AND c.org_id = m.org_id AND ${WRITABLE}
             AND m.role = 'ASSISTANT' AND m.status NOT IN ('COMPLETE', 'FAILED')
           RETURNING ${MESSAGE_COLUMNS}`,
          [orgId, userId, id, ...set.params],
        );
        if (!rows[0]) return null;
        const message = toMessage(rows[0]);
        if (event) await insertEvent(client, orgId, id, { ...event, textDelta: null, message });
        return message;
      });
    },

    async appendTextDelta(id, sequence, textDelta) {
      // One statement (a piece is the most frequent event): the share lock on the unfinished message, the row, its
      // NOTIFY; nothing when the message is final.
      const payload = noticePayload(orgId, id, { sequence, kind: 'TEXT_DELTA', textDelta, message: null });
      const { rowCount } = await query(
        `WITH m AS (
           SELECT m.id, m.org_id FROM chat.messages m
           WHERE m.id = $1 AND m.org_id = $2 AND m.role = 'ASSISTANT' AND m.status NOT IN ('COMPLETE', 'FAILED')
           FOR SHARE),
         e AS (
           INSERT INTO chat.message_events (message_id, org_id, sequence, kind, text_delta)
           SELECT m.id, m.org_id, $3, 'TEXT_DELTA', $4 FROM m RETURNING 1)
         SELECT pg_notify($5, $6) FROM e`,
        [id, orgId, sequence, textDelta, MESSAGE_EVENTS_CHANNEL, payload],
      );
      return rowCount === 1;
    },

    cancelAssistantMessage(id, patch, anyAuthor) {
      const set = patchSet(patch, 5);
      return inTransaction(async (client) => {
        const { rows } = await client.query<MessageRow>(
          `UPDATE chat.messages AS m SET ${set.sql}, updated_at = clock_timestamp()
           FROM chat.conversations c
           WHERE m.id = $3 AND m.org_id = $1 AND c.id = m.conversation_id AND c.org_id = m.org_id AND ${READABLE}
             AND (m.author_id = $2 OR $4) AND m.role = 'ASSISTANT' AND m.status NOT IN ('COMPLETE', 'FAILED')
           RETURNING ${MESSAGE_COLUMNS}`,
          [orgId, userId, id, anyAuthor, ...set.params],
        );
        if (!rows[0]) return null;
        const message = toMessage(rows[0]);
        await insertEvent(client, orgId, id, { sequence: null, kind: 'FAILED', textDelta: null, message });
        return message;
      });
    },

    async priorQuestions(id, limit) {
      const n = Math.max(1, Math.min(50, Math.floor(limit)));
      // The user messages before answer `id` (the newest of them is the question it answers, left out), each with
      // the plan of the first answer after it.
      const { rows } = await query<{ question: string; plan: StoredPlan | null }>(
        `SELECT u.text AS question, a.plan
           FROM chat.messages m
           JOIN chat.conversations c ON c.id = m.conversation_id AND c.org_id = m.org_id
           JOIN LATERAL (
             SELECT q.text, q.created_at, q.id FROM chat.messages q
              WHERE q.conversation_id = m.conversation_id AND q.org_id = m.org_id AND q.role = 'USER'
                AND (q.created_at, q.id) < (m.created_at, m.id)
              ORDER BY q.created_at DESC, q.id DESC LIMIT $4
           ) u ON true
           LEFT JOIN LATERAL (
             SELECT r.plan FROM chat.messages r
              WHERE r.conversation_id = m.conversation_id AND r.org_id = m.org_id AND r.role = 'ASSISTANT'
                AND (r.created_at, r.id) > (u.created_at, u.id)
              ORDER BY r.created_at, r.id LIMIT 1
           ) a ON true
          WHERE m.org_id = $1 AND ${READABLE} AND m.id = $3 AND m.role = 'ASSISTANT'
          ORDER BY u.created_at DESC, u.id DESC`,
        [orgId, userId, id, n + 1],
      );
      return rows
        .slice(1)
        .reverse()
        .map((r) => ({ question: r.question, plan: r.plan?.plan ?? null }));
    },
  };
}

/**
 * The stored events of message `messageId` of organization `orgId` with a sequence above `afterSequence`, in order
 * (the outbox, migrations/006): what a replica's hub reads when it starts following a message, and to catch up when
 * an announcement was too large or missed. Scoped to `orgId` twice (the WHERE clause and the org wall): the caller
 * passes the org of the subscriber whose read of the message was allowed. Empty once the rows were swept.
 */
export async function readMessageEvents(
  pool: Pool,
  orgId: string,
  messageId: string,
  afterSequence = 0,
): Promise<StoredMessageEvent[]> {
  const { rows } = await inTenantTransaction(pool, { orgId }, (client) =>
    client.query<{ sequence: number; kind: MessageEventKind; text_delta: string | null; message: Message | null }>(
      `SELECT e.sequence, e.kind, e.text_delta, e.message FROM chat.message_events e
       WHERE e.org_id = $1 AND e.message_id = $2 AND e.sequence > $3 ORDER BY e.sequence`,
      [orgId, messageId, afterSequence],
    ),
  );
  return rows.map((r) => ({ sequence: r.sequence, kind: r.kind, textDelta: r.text_delta, message: r.message }));
}

/**
 * Ends the unfinished ASSISTANT message `id` of organization `orgId` with `patch` (FAILED, its error code and text)
 * if it is still orphaned for replica `me` (migrations/006 `answer_orphaned`: its replica stopped renewing for
 * `staleSeconds`, or it is `me`'s own and `me` is not answering it), and stores its FAILED event (numbered after the
 * stored ones) in the same transaction. For replicas.ts; no user is involved, so only the org scopes it.
 * @returns the message as stored, or null when it was not ended here (final already, or its replica is alive).
 */
export function interruptOrphanedAnswer(
  pool: Pool,
  orgId: string,
  id: string,
  me: string,
  staleSeconds: number,
  patch: MessagePatch,
): Promise<Message | null> {
  const set = patchSet(patch, 5);
  return inTenantTransaction(
    pool,
    { orgId },
    async (client) => {
      const { rows } = await client.query<MessageRow>(
        `UPDATE chat.messages AS m SET ${set.sql}, updated_at = clock_timestamp()
         WHERE m.id = $2 AND m.org_id = $1 AND m.role = 'ASSISTANT' AND m.status IN ('PENDING', 'STREAMING')
           AND chat.answer_orphaned(m.answered_by, m.updated_at, $3, $4)
         RETURNING ${MESSAGE_COLUMNS}`,
        [orgId, id, me, staleSeconds, ...set.params],
      );
      if (!rows[0]) return null;
      const message = toMessage(rows[0]);
      await insertEvent(client, orgId, id, { sequence: null, kind: 'FAILED', textDelta: null, message });
      return message;
    },
    (out) => out !== null,
  );
}
