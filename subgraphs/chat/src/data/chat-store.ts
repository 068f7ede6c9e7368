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

export type { Keyset, Page, PageRequest } from '@datapilot/common';

/** Who wrote a message. */
export type MessageRole = 'USER' | 'ASSISTANT';
/** Life cycle of a message: USER messages are stored COMPLETE; ASSISTANT ones go PENDING → STREAMING → COMPLETE | FAILED. */
export type MessageStatus = 'PENDING' | 'STREAMING' | 'COMPLETE' | 'FAILED';
/** The analyst's result table: `rows` are arrays in column order, JSON values only. */
export type MessageResult = { columns: { name: string; type: string }[]; rows: unknown[][] };

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
  /** The member whose message it is: who wrote the question (USER), or who asked what the answer answers (ASSISTANT). */
  authorId: string;
  createdAt: string;
  updatedAt: string;
};

/** Fields of an assistant message the responder may change; unset fields keep their value. */
export type MessagePatch = Partial<Pick<Message, 'status' | 'text' | 'sql' | 'result' | 'errorCode'>>;

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
   * (final messages never change).
   * @returns the updated message, or null when none was updated.
   */
  updateAssistantMessage(id: string, patch: MessagePatch): Promise<Message | null>;
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
  authorId: r.author_id,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const CONVERSATION_COLUMNS = `id, title, created_at, user_id, shared, ${cursorAtColumn('created_at')}`;
/** Who may READ a conversation (alias `c`, org $1, user $2): its creator, or anyone of its org once shared. */
const READABLE = `c.org_id = $1 AND (c.user_id = $2 OR c.shared)`;
/** Who may WRITE to a conversation (alias `c`, org $1, user $2): its creator only. */
const WRITABLE = `c.org_id = $1 AND c.user_id = $2`;
const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.role, m.status, m.text, m.sql, m.result, m.error_code, m.author_id,
  m.created_at,
  m.updated_at, ${cursorAtColumn('m.created_at')}`;
/** The visibility rule of messages, as one join: the caller may read the message's conversation. */
const VISIBLE_MESSAGES = `chat.messages m JOIN chat.conversations c ON c.id = m.conversation_id AND c.org_id = m.org_id
  WHERE m.org_id = $1 AND ${READABLE}`;

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

    async updateAssistantMessage(id, patch) {
      const has = (k: keyof MessagePatch) => Object.prototype.hasOwnProperty.call(patch, k);
      const { rows } = await query<MessageRow>(
        `UPDATE chat.messages AS m SET
           status = CASE WHEN $4 THEN $5 ELSE m.status END,
           text = CASE WHEN $6 THEN $7 ELSE m.text END,
           sql = CASE WHEN $8 THEN $9 ELSE m.sql END,
           result = CASE WHEN $10 THEN $11::jsonb ELSE m.result END,
           error_code = CASE WHEN $12 THEN $13 ELSE m.error_code END,
           updated_at = clock_timestamp()
         FROM chat.conversations c
         WHERE m.id = $3 AND m.org_id = $1 AND c.id = m.conversation_id AND c.org_id = m.org_id AND ${WRITABLE}
           AND m.role = 'ASSISTANT' AND m.status NOT IN ('COMPLETE', 'FAILED')
         RETURNING ${MESSAGE_COLUMNS}`,
        [
          orgId,
          userId,
          id,
          has('status'),
          patch.status ?? null,
          has('text'),
          patch.text ?? null,
          has('sql'),
          patch.sql ?? null,
          has('result'),
          patch.result == null ? null : JSON.stringify(patch.result),
          has('errorCode'),
          patch.errorCode ?? null,
        ],
      );
      return rows[0] ? toMessage(rows[0]) : null;
    },
  };
}
