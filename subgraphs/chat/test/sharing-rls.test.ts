/**
 * Issue 6 in the chat subgraph, on real PostgreSQL:
 * - the second wall: row-level security binds the runtime role datapilot_chat (the server's pool), whatever a
 *   statement's WHERE clause says, and that role cannot lift it;
 * - sharing: a conversation is private to its creator until shared, then readable by every member of its org (and
 *   still written by its creator only); another org never sees it.
 * Rows are written with the superuser's pool (no policy binds it), so what each reader should see is known here.
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient, QueryResult } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRuntimeRole, inTenantTransaction } from '@datapilot/common';
import type { ChatServer } from '../src/server.ts';
import type { TenantLakes } from '../src/responder.ts';
import {
  EVENTS,
  MESSAGE,
  SEND,
  collect,
  gql,
  startChatFixture,
  waitForFinal,
  wsClient,
  type ChatFixture,
} from './support/chat-fixture.ts';

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const A1 = randomUUID(); // creates and shares
const A2 = randomUUID(); // another member of org A
const B1 = randomUUID(); // org B

/** A lake with no table: the analyst answers without Spark (this file is about who sees what, not the answer). */
const emptyLake: TenantLakes = {
  forTenant: () => ({
    listTables: async () => [],
    query: async () => {
      throw new Error('no table to query');
    },
  }),
};

let fx: ChatFixture;
let server: ChatServer;
const token: Record<string, string> = {};

beforeAll(async () => {
  fx = await startChatFixture();
  server = await fx.serve(emptyLake, 0);
  token.A1 = await fx.issuer.sign({ orgId: ORG_A, userId: A1 });
  token.A2 = await fx.issuer.sign({ orgId: ORG_A, userId: A2, role: 'OWNER' });
  token.A2viewer = await fx.issuer.sign({ orgId: ORG_A, userId: A2, role: 'VIEWER' });
  token.B1 = await fx.issuer.sign({ orgId: ORG_B, userId: B1, role: 'OWNER' });
}, 120_000);

afterAll(async () => fx?.stop());

/** Rows written as the superuser: `n` conversations with one message each, for `org`. Returns their ids. */
async function seed(org: string, n: number) {
  const conversations: string[] = [];
  const messages: string[] = [];
  for (let i = 0; i < n; i++) {
    const owner = randomUUID();
    const c = await fx.ownerPool.query<{ id: string }>(
      'INSERT INTO chat.conversations (org_id, user_id, title) VALUES ($1, $2, $3) RETURNING id',
      [org, owner, `seed ${i}`],
    );
    const m = await fx.ownerPool.query<{ id: string }>(
      `INSERT INTO chat.messages (conversation_id, org_id, role, status, text, author_id)
       VALUES ($1, $2, 'USER', 'COMPLETE', 'q', $3) RETURNING id`,
      [c.rows[0]!.id, org, owner],
    );
    conversations.push(c.rows[0]!.id);
    messages.push(m.rows[0]!.id);
  }
  return { conversations: conversations.sort(), messages: messages.sort() };
}

/** SQLSTATE of a failed statement, or 'ok'. */
const sqlState = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? String(e),
  );

describe('row-level security (the runtime role datapilot_chat)', () => {
  let a: Awaited<ReturnType<typeof seed>>;
  let b: Awaited<ReturnType<typeof seed>>;
  const orgC = randomUUID();
  beforeAll(async () => {
    a = await seed(orgC, 3);
    b = await seed(randomUUID(), 2);
  });

  it('every tenant table of schema chat has ENABLE and FORCE row level security and a policy (replicas holds no org rows)', async () => {
    const { rows } = await fx.ownerPool.query<{ relname: string; on: boolean; forced: boolean; policies: number }>(
      `SELECT c.relname, c.relrowsecurity AS on, c.relforcerowsecurity AS forced,
         (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'chat' AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { relname: 'conversations', on: true, forced: true, policies: 1 },
      // The org wall, and the outbox sweep's policies for the migrating role (migration 006).
      { relname: 'message_events', on: true, forced: true, policies: 3 },
      // The org wall, and the recovery discovery's for the migrating role (migration 006).
      { relname: 'messages', on: true, forced: true, policies: 2 },
      // The replicas' heartbeats: no organization's rows (migration 006).
      { relname: 'replicas', on: false, forced: false, policies: 0 },
    ]);
  });

  it('a statement that forgets the org filter still sees only its org’s rows', async () => {
    const seen = await inTenantTransaction(fx.pool, { orgId: orgC }, async (c) => ({
      conversations: (await c.query('SELECT id FROM chat.conversations ORDER BY id')).rows.map((r) => r.id),
      messages: (await c.query('SELECT id FROM chat.messages ORDER BY id')).rows.map((r) => r.id),
      // Asking for the other org by name changes nothing.
      other: (await c.query('SELECT id FROM chat.conversations WHERE id = ANY($1)', [b.conversations])).rowCount,
    }));
    expect(seen).toEqual({ conversations: a.conversations, messages: a.messages, other: 0 });
  });

  it('a statement without the setting sees nothing, also on a connection an org used before', async () => {
    const total = await fx.ownerPool.query<{ n: number }>('SELECT count(*)::int AS n FROM chat.conversations');
    expect(total.rows[0]!.n).toBeGreaterThanOrEqual(5); // the superuser sees them all
    const client = await fx.pool.connect();
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM chat.conversations')).rows).toEqual([{ n: 0 }]);
      await client.query('BEGIN');
      await client.query("SELECT set_config('datapilot.org_id', $1, true)", [orgC]);
      expect((await client.query('SELECT count(*)::int AS n FROM chat.conversations')).rows).toEqual([{ n: 3 }]);
      await client.query('COMMIT');
      // SET LOCAL ended with the transaction: the same session now reads '' and sees nothing again.
      expect((await client.query('SELECT count(*)::int AS n FROM chat.messages')).rows).toEqual([{ n: 0 }]);
      expect((await client.query('SELECT count(*)::int AS n FROM chat.conversations')).rows).toEqual([{ n: 0 }]);
    } finally {
      client.release();
    }
  });

  it('writes cannot reach or create another org’s rows', async () => {
    const tx = (fn: (c: PoolClient) => Promise<QueryResult>) => inTenantTransaction(fx.pool, { orgId: orgC }, fn);
    // 42501: "new row violates row-level security policy".
    expect(
      await sqlState(
        tx((c) =>
          c.query('INSERT INTO chat.conversations (org_id, user_id, title) VALUES ($1, $2, $3)', [
            randomUUID(),
            randomUUID(),
            'elsewhere',
          ]),
        ),
      ),
    ).toBe('42501');
    const updated = await tx((c) => c.query("UPDATE chat.conversations SET title = 'mine now'"));
    const deleted = await tx((c) => c.query('DELETE FROM chat.messages WHERE id = ANY($1)', [b.messages]));
    expect([updated.rowCount, deleted.rowCount]).toEqual([3, 0]);
    const titles = await fx.ownerPool.query<{ title: string }>(
      'SELECT title FROM chat.conversations WHERE id = ANY($1) ORDER BY title',
      [b.conversations],
    );
    expect(titles.rows.map((r) => r.title)).toEqual(['seed 0', 'seed 1']);
    // Moving a row of its own org into another org is refused too (WITH CHECK).
    expect(await sqlState(tx((c) => c.query('UPDATE chat.conversations SET org_id = $1', [randomUUID()])))).toBe(
      '42501',
    );
  });

  it('the runtime role cannot lift the wall', async () => {
    const attempts = [
      'ALTER TABLE chat.conversations DISABLE ROW LEVEL SECURITY',
      'ALTER TABLE chat.messages NO FORCE ROW LEVEL SECURITY',
      'DROP POLICY org_wall ON chat.conversations',
      'CREATE POLICY everything ON chat.conversations USING (true)',
      'ALTER POLICY org_wall ON chat.conversations USING (true)',
      `SET ROLE ${new URL(fx.db.url).username}`, // the superuser
      'CREATE OR REPLACE FUNCTION chat.current_org_id() RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$',
    ];
    const states = await Promise.all(attempts.map((sql) => sqlState(fx.pool.query(sql))));
    expect(states).toEqual(attempts.map(() => '42501')); // insufficient_privilege, each one
    // row_security = off does not switch the policies off for this role: the query fails instead of seeing all.
    const client = await fx.pool.connect();
    try {
      await client.query('SET row_security = off');
      expect(await sqlState(client.query('SELECT * FROM chat.conversations'))).toBe('42501');
    } finally {
      await client.query('RESET row_security');
      client.release();
    }
    await expect(assertRuntimeRole(fx.pool)).resolves.toBe('datapilot_chat');
    await expect(assertRuntimeRole(fx.ownerPool)).rejects.toThrow(/is a superuser/);
  });
});

describe('shareConversation', () => {
  const CONV = `query($id: ID!) { conversation(id: $id) { id title shared createdBy messages { edges { node { id } } } } }`;
  const LIST = `{ conversations(first: 100) { edges { node { id shared } } } }`;
  const SHARE = `mutation($id: ID!, $s: Boolean!) { shareConversation(id: $id, shared: $s) { id shared createdBy } }`;
  const ENTITY = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Conversation { id shared } } }`;
  const code = (r: { errors?: { extensions?: Record<string, any> }[] }) => r.errors?.[0]?.extensions?.code;
  let convId: string;
  let messageIds: string[];
  let ownPrivate: string;

  beforeAll(async () => {
    convId = (await gql(server.url, 'mutation { createConversation(title: "Shared one") { id } }', {}, token.A1)).data!
      .createConversation.id;
    const sent = (await gql(server.url, SEND, { c: convId, x: 'How many rows are there?' }, token.A1)).data!
      .sendMessage;
    await waitForFinal(server.url, sent.assistantMessage.id, token.A1!);
    messageIds = [sent.userMessage.id, sent.assistantMessage.id];
    ownPrivate = (await gql(server.url, 'mutation { createConversation(title: "A2 own") { id } }', {}, token.A2)).data!
      .createConversation.id;
  });

  /** What `who` gets for the conversation, its messages, the list and the entity reference. */
  async function view(who: string) {
    const conv = await gql(server.url, CONV, { id: convId }, token[who]);
    const msg = await gql(server.url, MESSAGE, { id: messageIds[1] }, token[who]);
    const list = await gql(server.url, LIST, {}, token[who]);
    const entity = await gql(server.url, ENTITY, { r: [{ __typename: 'Conversation', id: convId }] }, token[who]);
    const client = await wsClient(server.wsUrl, token[who]!);
    const events = await collect(client, EVENTS, { id: messageIds[1] });
    await client.dispose();
    return {
      conversation: conv.data?.conversation
        ? conv.data.conversation.messages.edges.map((e: any) => e.node.id)
        : code(conv),
      message: msg.data?.message ? msg.data.message.id : code(msg),
      listed: list.data!.conversations.edges.map((e: any) => e.node.id),
      entity: entity.data?._entities?.[0] ?? null,
      event: events[0]!.data ? events[0]!.data.messageEvents.sequence : code(events[0]!),
    };
  }

  it('private: the creator sees it; another member of the org and another org get NOT_FOUND', async () => {
    expect(await view('A1')).toEqual({
      conversation: messageIds,
      message: messageIds[1],
      listed: [convId],
      entity: { id: convId, shared: false },
      event: 0, // the finished answer's single snapshot event
    });
    const hidden = { conversation: 'NOT_FOUND', message: 'NOT_FOUND', entity: null, event: 'NOT_FOUND' };
    expect(await view('A2')).toEqual({ ...hidden, listed: [ownPrivate] });
    expect(await view('B1')).toEqual({ ...hidden, listed: [] });
    // Neither may share it: NOT_FOUND, existence not revealed.
    for (const who of ['A2', 'B1'])
      expect(code(await gql(server.url, SHARE, { id: convId, s: true }, token[who]))).toBe('NOT_FOUND');
  });

  it('shared: every member of the org reads it, another org still gets NOT_FOUND', async () => {
    const shared = await gql(server.url, SHARE, { id: convId, s: true }, token.A1);
    expect(shared.data!.shareConversation).toEqual({ id: convId, shared: true, createdBy: A1 });
    for (const who of ['A2', 'A2viewer'])
      expect(await view(who)).toEqual({
        conversation: messageIds,
        message: messageIds[1],
        // Own and shared conversations in one list, newest first: A2's own was created after the shared one.
        listed: [ownPrivate, convId],
        entity: { id: convId, shared: true },
        event: 0,
      });
    expect(await view('B1')).toEqual({
      conversation: 'NOT_FOUND',
      message: 'NOT_FOUND',
      listed: [],
      entity: null,
      event: 'NOT_FOUND',
    });
    // A shared conversation is still written by its creator only: FORBIDDEN for the reader, nothing stored.
    const before = await fx.ownerPool.query('SELECT id FROM chat.messages WHERE conversation_id = $1', [convId]);
    expect(code(await gql(server.url, SEND, { c: convId, x: 'Mine too?' }, token.A2))).toBe('FORBIDDEN');
    expect(code(await gql(server.url, SHARE, { id: convId, s: false }, token.A2))).toBe('FORBIDDEN');
    expect(code(await gql(server.url, SEND, { c: convId, x: 'Mine too?' }, token.B1))).toBe('NOT_FOUND');
    const after = await fx.ownerPool.query('SELECT id FROM chat.messages WHERE conversation_id = $1', [convId]);
    expect(after.rowCount).toBe(before.rowCount);
    expect((await gql(server.url, CONV, { id: convId }, token.A1)).data!.conversation.shared).toBe(true);
  });

  it('unshared again: private to its creator once more', async () => {
    const res = await gql(server.url, SHARE, { id: convId, s: false }, token.A1);
    expect(res.data!.shareConversation.shared).toBe(false);
    expect(code(await gql(server.url, CONV, { id: convId }, token.A2))).toBe('NOT_FOUND');
    expect((await gql(server.url, LIST, {}, token.A2)).data!.conversations.edges.map((e: any) => e.node.id)).toEqual([
      ownPrivate,
    ]);
  });

  it('shareConversation: BAD_USER_INPUT for a malformed id', async () => {
    const res = await gql(server.url, SHARE, { id: 'nope', s: true }, token.A1);
    expect(code(res)).toBe('BAD_USER_INPUT');
  });
});
