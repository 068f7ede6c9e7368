/**
 * The chat subgraph end to end: real PostgreSQL, the real lake (Delta tables written through the running Spark
 * Connect server and read by @datapilot/lake-core's OrgLake), tokens signed by a key pair made here, HTTP and a
 * real graphql-ws client. Personas: user A1 of org A (asks questions), user A2 of org A (same org, another user),
 * user B1 of org B (another org, whose lake holds only `stocks`).
 * Expected numbers are computed here from the vega-datasets source files, not by the code under test.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { createLake, createSparkConnectClient, type Lake } from '@datapilot/lake-core';
import type { ChatServer } from '../src/server.ts';
import { MAX_MESSAGE_CHARS } from '../src/resolvers/index.ts';
import {
  CONVERSATION,
  CONVERSATIONS,
  CREATE,
  EVENTS,
  MESSAGE,
  SEND,
  collect,
  gql,
  rawConnection,
  startChatFixture,
  waitForFinal,
  wsClient,
  type ChatFixture,
} from './support/chat-fixture.ts';
import { readDemoFile } from './support/demo-catalog.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const A1 = randomUUID();
const A2 = randomUUID();
const B1 = randomUUID();

const SPECIES_QUESTION = 'How many penguins are there of each species?';
/** Rows per species in penguins.json, counted here: the answer the analyst must give. */
const SPECIES_COUNTS = (() => {
  const counts = new Map<string, number>();
  for (const r of readDemoFile('penguins.json'))
    counts.set(String(r.species), (counts.get(String(r.species)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
})();

let fx: ChatFixture;
let demo: DemoLake;
let lake: Lake;
let server: ChatServer;
const token: Record<string, string> = {};

/** The text inside an opaque cursor (base64url). */
const cursorText = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * A row's created_at as ISO-8601 UTC with microseconds, built here from PostgreSQL's epoch microseconds (not with
 * the code's to_char), for comparing with what a cursor says.
 */
async function createdMicros(table: 'conversations' | 'messages', id: string): Promise<string> {
  const { rows } = await fx.ownerPool.query<{ us: string }>(
    `SELECT (extract(epoch FROM created_at) * 1000000)::bigint::text AS us FROM chat.${table} WHERE id = $1`,
    [id],
  );
  const us = BigInt(rows[0]!.us);
  return new Date(Number(us / 1000n)).toISOString().replace('Z', `${String(us % 1000n).padStart(3, '0')}Z`);
}

beforeAll(async () => {
  fx = await startChatFixture();
  demo = await createDemoLake();
  await demo.write(ORG_A, ['penguins']);
  await demo.write(ORG_B, ['stocks']);
  lake = createLake({ spark: demo.spark, store: demo.store });
  server = await fx.serve(lake);
  token.A1 = await fx.issuer.sign({ orgId: ORG_A, userId: A1 });
  token.A2 = await fx.issuer.sign({ orgId: ORG_A, userId: A2, role: 'OWNER' });
  token.B1 = await fx.issuer.sign({ orgId: ORG_B, userId: B1, role: 'OWNER' });
}, 300_000);

afterAll(async () => {
  await fx?.stop();
  await lake?.close();
  await demo?.cleanup();
});

/** A's conversation with one answered question, shared by the tests below. */
const shared: { conversationId?: string; userMessageId?: string; assistantMessageId?: string; finalText?: string } = {};

describe('a question answered over HTTP and graphql-ws', () => {
  let client: Client;
  afterAll(async () => client?.dispose());

  it('createConversation, sendMessage, streamed events, message: one round trip', async () => {
    const created = await gql(server.url, CREATE, { t: '  Penguins  ' }, token.A1);
    expect(created.errors).toBeUndefined();
    const conversation = created.data!.createConversation;
    expect(conversation.title).toBe('Penguins');
    shared.conversationId = conversation.id;

    client = await wsClient(server.wsUrl, token.A1!); // connected before the question, to subscribe at once
    const sent = await gql(server.url, SEND, { c: conversation.id, x: SPECIES_QUESTION }, token.A1);
    expect(sent.errors).toBeUndefined();
    const { userMessage, assistantMessage } = sent.data!.sendMessage;
    expect(userMessage).toMatchObject({
      role: 'USER',
      status: 'COMPLETE',
      text: SPECIES_QUESTION,
      conversationId: conversation.id,
    });
    expect(assistantMessage).toMatchObject({ role: 'ASSISTANT', status: 'PENDING', text: '', sql: null, result: null });
    shared.userMessageId = userMessage.id;
    shared.assistantMessageId = assistantMessage.id;

    const results = await collect(client, EVENTS, { id: assistantMessage.id });
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    const events = results.map((r) => r.data.messageEvents);

    // In order, each once, from the first: STATUS, STATUS (a status line), PLAN, SQL, RESULT, CHART,
    // TEXT_DELTA..., COMPLETE.
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e) => e.messageId === assistantMessage.id)).toBe(true);
    const kinds = events.map((e) => e.kind);
    expect(kinds.slice(0, 6)).toEqual(['STATUS', 'STATUS', 'PLAN', 'SQL', 'RESULT', 'CHART']);
    expect(kinds.at(-1)).toBe('COMPLETE');
    const deltas = events.filter((e) => e.kind === 'TEXT_DELTA');
    expect(deltas.length).toBeGreaterThan(2);
    expect(kinds.slice(6, -1).every((k) => k === 'TEXT_DELTA')).toBe(true);
    expect(events[0].message).toMatchObject({ status: 'STREAMING', statusText: null, plan: null, chart: null });
    expect(events[1].message.statusText).toBe('Reading your tables');
    // PLAN: what the analyst understood, in words and as JSON, before the SQL exists.
    expect(events[2].message.sql).toBeNull();
    expect(events[2].message.plan).toMatchObject({
      table: 'penguins',
      measure: 'Number of rows',
      filters: [],
      grouping: 'species',
      json: {
        table: 'penguins',
        aggregate: 'COUNT',
        measure: null,
        group: { column: { table: 'penguins', column: 'species' } },
      },
    });
    expect(events[2].message.plan.summary).toContain('penguins');
    // CHART: bars of the counts, in the result's order.
    expect(events[4].message.chart).toBeNull();
    expect(events[5].message.chart).toMatchObject({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      mark: { type: 'bar' },
      encoding: { y: { field: 'species', title: 'Species' }, x: { field: 'row_count', title: 'Number of rows' } },
      data: { values: SPECIES_COUNTS.map(([species, row_count]) => ({ species, row_count })) },
    });

    const final = events.at(-1)!.message;
    expect(deltas.map((e) => e.textDelta).join('')).toBe(final.text);
    expect(final.status).toBe('COMPLETE');
    expect(final.sql).toBe(
      'SELECT `species`, COUNT(*) AS `row_count` FROM `penguins` WHERE `species` IS NOT NULL GROUP BY `species` ' +
        'ORDER BY `row_count` DESC NULLS LAST, `species` ASC LIMIT 1000',
    );
    expect(final.result).toEqual({
      columns: [
        { name: 'species', type: 'string' },
        { name: 'row_count', type: 'bigint' },
      ],
      rows: SPECIES_COUNTS,
    });
    expect(final.text).toBe(
      `The number of rows per species in penguins: ${SPECIES_COUNTS.map(([s, n]) => `${s}: ${n}`).join(', ')}.`,
    );
    shared.finalText = final.text;

    // What is stored is what was streamed.
    const stored = await gql(server.url, MESSAGE, { id: assistantMessage.id }, token.A1);
    expect(stored.data!.message).toEqual(final);
    const thread = await gql(server.url, CONVERSATION, { id: conversation.id }, token.A1);
    expect(thread.data!.conversation.messages.edges.map((e: any) => [e.node.id, e.node.role, e.node.status])).toEqual([
      [userMessage.id, 'USER', 'COMPLETE'],
      [assistantMessage.id, 'ASSISTANT', 'COMPLETE'],
    ]);
  }, 180_000);

  it('a subscription to a finished message gets one final event and ends', async () => {
    const results = await collect(client, EVENTS, { id: shared.assistantMessageId });
    expect(results).toHaveLength(1);
    expect(results[0]!.data.messageEvents).toMatchObject({
      sequence: 0,
      kind: 'COMPLETE',
      textDelta: null,
      message: { id: shared.assistantMessageId, status: 'COMPLETE', text: shared.finalText },
    });
  });

  it('a question it cannot map is answered honestly, naming the tables, with no result', async () => {
    const sent = await gql(
      server.url,
      SEND,
      { c: shared.conversationId, x: 'How many penguins are in Paris?' },
      token.A1,
    );
    const m = await waitForFinal(server.url, sent.data!.sendMessage.assistantMessage.id, token.A1!);
    expect(m).toMatchObject({ status: 'COMPLETE', sql: null, result: null, errorCode: null });
    expect(m).toMatchObject({ plan: null, chart: null });
    expect(m.text).toBe(
      'I can\'t answer that from your tables: I don\'t know what "Paris" refers to. Your tables are: penguins ' +
        '(species, island, beak_length_mm, beak_depth_mm, flipper_length_mm, body_mass_g, sex).',
    );
  }, 120_000);
});

describe('tenant isolation', () => {
  it('another org sees NOT_FOUND for the conversation and the message, and cannot write into it', async () => {
    const conv = await gql(server.url, CONVERSATION, { id: shared.conversationId }, token.B1);
    expect(conv.data).toEqual({ conversation: null });
    expect(conv.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    const msg = await gql(server.url, MESSAGE, { id: shared.assistantMessageId }, token.B1);
    expect(msg.data).toEqual({ message: null });
    expect(msg.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    const send = await gql(server.url, SEND, { c: shared.conversationId, x: 'How many penguins are there?' }, token.B1);
    expect(send.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    const list = await gql(server.url, CONVERSATIONS, {}, token.B1);
    expect(list.data!.conversations.edges).toEqual([]);
  });

  it('another user of the same org (even an OWNER) sees NOT_FOUND: conversations are private', async () => {
    for (const [query, vars] of [
      [CONVERSATION, { id: shared.conversationId }],
      [MESSAGE, { id: shared.userMessageId }],
      [SEND, { c: shared.conversationId, x: 'How many penguins are there?' }],
    ] as const) {
      const r = await gql(server.url, query, vars, token.A2);
      expect(r.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    }
    expect((await gql(server.url, CONVERSATIONS, {}, token.A2)).data!.conversations.edges).toEqual([]);
    // Nothing was written into A1's conversation by A2 or B1.
    const thread = await gql(server.url, CONVERSATION, { id: shared.conversationId }, token.A1);
    expect(thread.data!.conversation.messages.edges.map((e: any) => e.node.role)).toEqual([
      'USER',
      'ASSISTANT',
      'USER',
      'ASSISTANT',
    ]);
  });

  it("another org's subscription to the message gets NOT_FOUND; its socket stays usable", async () => {
    const client = await wsClient(server.wsUrl, token.B1!);
    try {
      const denied = await collect(client, EVENTS, { id: shared.assistantMessageId });
      expect(denied).toHaveLength(1);
      expect(denied[0]!.data ?? null).toBeNull();
      expect(denied[0]!.errors![0]!.extensions!.code).toBe('NOT_FOUND');
      // Same org, other user: NOT_FOUND as well.
      const a2 = await wsClient(server.wsUrl, token.A2!);
      const deniedA2 = await collect(a2, EVENTS, { id: shared.assistantMessageId });
      expect(deniedA2[0]!.errors![0]!.extensions!.code).toBe('NOT_FOUND');
      await a2.dispose();

      // B's own question on the same socket: answered from B's lake only (it has `stocks`, not `penguins`).
      const conv = (await gql(server.url, CREATE, { t: 'B' }, token.B1)).data!.createConversation;
      const sent = (await gql(server.url, SEND, { c: conv.id, x: SPECIES_QUESTION }, token.B1)).data!.sendMessage;
      const events = (await collect(client, EVENTS, { id: sent.assistantMessage.id })).map((r) => r.data.messageEvents);
      const final = events.at(-1)!;
      expect(final.kind).toBe('COMPLETE');
      expect(final.message).toMatchObject({ sql: null, result: null });
      expect(final.message).toMatchObject({ plan: null, chart: null });
      expect(final.message.text).toMatch(
        /^I can't answer that from your tables: .*\. Your tables are: stocks \(symbol, date, price\)\.$/,
      );
    } finally {
      await client.dispose();
    }
  }, 120_000);
});

describe('bad input', () => {
  const code = (r: { errors?: { extensions?: Record<string, any> }[] }) => [
    r.errors?.[0]?.extensions?.code,
    r.errors?.[0]?.extensions?.field,
  ];

  it('answers BAD_USER_INPUT naming the argument, and stores nothing', async () => {
    const c = shared.conversationId;
    expect(code(await gql(server.url, SEND, { c, x: '' }, token.A1))).toEqual(['BAD_USER_INPUT', 'text']);
    expect(code(await gql(server.url, SEND, { c, x: ' \n\t ' }, token.A1))).toEqual(['BAD_USER_INPUT', 'text']);
    expect(code(await gql(server.url, SEND, { c, x: 'x'.repeat(MAX_MESSAGE_CHARS + 1) }, token.A1))).toEqual([
      'BAD_USER_INPUT',
      'text',
    ]);
    expect(code(await gql(server.url, SEND, { c: 'not-a-uuid', x: 'hi' }, token.A1))).toEqual([
      'BAD_USER_INPUT',
      'conversationId',
    ]);
    expect(code(await gql(server.url, MESSAGE, { id: '42' }, token.A1))).toEqual(['BAD_USER_INPUT', 'id']);
    expect(code(await gql(server.url, CONVERSATION, { id: "'; DROP TABLE chat.messages; --" }, token.A1))).toEqual([
      'BAD_USER_INPUT',
      'id',
    ]);
    expect(code(await gql(server.url, CREATE, { t: '   ' }, token.A1))).toEqual(['BAD_USER_INPUT', 'title']);
    expect(code(await gql(server.url, CREATE, { t: 'x'.repeat(201) }, token.A1))).toEqual(['BAD_USER_INPUT', 'title']);
    expect(code(await gql(server.url, CONVERSATIONS, { first: 0 }, token.A1))).toEqual(['BAD_USER_INPUT', 'first']);
    expect(code(await gql(server.url, CONVERSATIONS, { first: 101 }, token.A1))).toEqual(['BAD_USER_INPUT', 'first']);
    expect(code(await gql(server.url, CONVERSATIONS, { after: 'bm9wZQ' }, token.A1))).toEqual([
      'BAD_USER_INPUT',
      'after',
    ]);
    // A subscription with a malformed id.
    const client = await wsClient(server.wsUrl, token.A1!);
    const sub = await collect(client, EVENTS, { id: 'nope' });
    await client.dispose();
    expect(sub[0]!.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');

    const thread = await gql(server.url, CONVERSATION, { id: c }, token.A1);
    expect(thread.data!.conversation.messages.edges).toHaveLength(4);
    const list = await gql(server.url, CONVERSATIONS, {}, token.A1);
    expect(list.data!.conversations.edges.map((e: any) => e.node.title)).toEqual(['Penguins']);
  }, 60_000);

  it('NUL (U+0000) or an unpaired surrogate in any string argument: BAD_USER_INPUT naming it, nothing stored', async () => {
    const userId = randomUUID();
    const user = await fx.issuer.sign({ orgId: ORG_A, userId });
    // A proper surrogate pair (an emoji) is valid text and is stored as given.
    const conv = (await gql(server.url, CREATE, { t: 'Pinguine \u{1F427}' }, user)).data!.createConversation;
    expect(conv.title).toBe('Pinguine \u{1F427}');

    for (const t of ['a\u0000b', '\u0000', '  \u0000  ', 'a\ud800b', 'x\udc00', '\udc00\ud83d'])
      expect(code(await gql(server.url, CREATE, { t }, user))).toEqual(['BAD_USER_INPUT', 'title']);
    // The same in a literal of the query text rather than a variable.
    const literal = 'mutation { createConversation(title: "a\\u0000b") { id } }';
    expect(code(await gql(server.url, literal, {}, user))).toEqual(['BAD_USER_INPUT', 'title']);
    for (const x of ['hi\u0000', 'How many penguins are there?\u0000', 'hi \ud83d', '\udfff How many?'])
      expect(code(await gql(server.url, SEND, { c: conv.id, x }, user))).toEqual(['BAD_USER_INPUT', 'text']);
    // The other string arguments: ids and cursors.
    expect(code(await gql(server.url, SEND, { c: `${conv.id}\u0000`, x: 'hi' }, user))).toEqual([
      'BAD_USER_INPUT',
      'conversationId',
    ]);
    expect(code(await gql(server.url, MESSAGE, { id: '\u0000' }, user))).toEqual(['BAD_USER_INPUT', 'id']);
    expect(code(await gql(server.url, CONVERSATION, { id: `${conv.id}\ud800` }, user))).toEqual([
      'BAD_USER_INPUT',
      'id',
    ]);
    expect(code(await gql(server.url, CONVERSATIONS, { after: 'a\u0000' }, user))).toEqual(['BAD_USER_INPUT', 'after']);
    expect(code(await gql(server.url, CONVERSATION, { id: conv.id, after: '\ud800' }, user))).toEqual([
      'BAD_USER_INPUT',
      'after',
    ]);
    const client = await wsClient(server.wsUrl, user);
    const sub = await collect(client, EVENTS, { id: '\u0000' });
    await client.dispose();
    expect(sub[0]!.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');

    // Stored: the one valid conversation, no message.
    const stored = await fx.ownerPool.query('SELECT title FROM chat.conversations WHERE org_id = $1 AND user_id = $2', [
      ORG_A,
      userId,
    ]);
    expect(stored.rows).toEqual([{ title: 'Pinguine \u{1F427}' }]);
    const messages = await fx.ownerPool.query(
      'SELECT count(*)::int AS n FROM chat.messages WHERE conversation_id = $1',
      [conv.id],
    );
    expect(messages.rows).toEqual([{ n: 0 }]);
  });
});

describe('authentication', () => {
  it('HTTP: no token reaches no field; a foreign or expired token is 401 UNAUTHENTICATED', async () => {
    const none = await gql(server.url, CONVERSATIONS);
    expect(none.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    const foreign = await gql(server.url, CONVERSATIONS, {}, await fx.issuer.signForeign({ orgId: ORG_A, userId: A1 }));
    expect([foreign.status, foreign.errors![0]!.extensions!.code]).toEqual([401, 'UNAUTHENTICATED']);
    const expired = await gql(
      server.url,
      CONVERSATIONS,
      {},
      await fx.issuer.sign({ orgId: ORG_A, userId: A1, ttlSeconds: -10 }),
    );
    expect([expired.status, expired.errors![0]!.extensions!.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('WebSocket: no, foreign or expired token closes with 4401 before acknowledging', async () => {
    for (const payload of [
      undefined,
      {},
      { authorization: 'Basic abc' },
      { authorization: `Bearer ${await fx.issuer.signForeign({ orgId: ORG_A, userId: A1 })}` },
      { authorization: `Bearer ${await fx.issuer.sign({ orgId: ORG_A, userId: A1, ttlSeconds: -10 })}` },
    ]) {
      const closed = await rawConnection(server.wsUrl, payload);
      expect([closed.acked, closed.code]).toEqual([false, 4401]);
    }
  });

  it('WebSocket: the socket is closed with 4401 when its token expires', async () => {
    const short = await fx.issuer.sign({ orgId: ORG_A, userId: A1, ttlSeconds: 2 });
    const closed = await rawConnection(server.wsUrl, { authorization: `Bearer ${short}` });
    expect(closed).toMatchObject({ acked: true, code: 4401, reason: 'The access token has expired.' });
    expect(closed.ms).toBeGreaterThan(500);
    expect(closed.ms).toBeLessThan(4000);
  });
});

describe('paging and failures', () => {
  it('conversations page newest first with opaque cursors', async () => {
    const user = await fx.issuer.sign({ orgId: ORG_A, userId: randomUUID() });
    for (const t of ['one', 'two', 'three']) await gql(server.url, CREATE, { t }, user);
    const p1 = (await gql(server.url, CONVERSATIONS, { first: 2 }, user)).data!.conversations;
    expect(p1.edges.map((e: any) => e.node.title)).toEqual(['three', 'two']);
    expect(p1.pageInfo).toEqual({ hasNextPage: true, endCursor: p1.edges[1].cursor });
    const p2 = (await gql(server.url, CONVERSATIONS, { first: 2, after: p1.pageInfo.endCursor }, user)).data!
      .conversations;
    expect(p2.edges.map((e: any) => e.node.title)).toEqual(['one']);
    expect(p2.pageInfo.hasNextPage).toBe(false);
  });

  it("a cursor holds only its own row's creation time and id, whatever other orgs and users did", async () => {
    const orgC = randomUUID();
    const orgD = randomUUID();
    const c = await fx.issuer.sign({ orgId: orgC, userId: randomUUID() });
    const d = await fx.issuer.sign({ orgId: orgD, userId: randomUUID() });
    // Another org is busy first; then org C (brand new) starts its first conversation.
    for (const t of ['d1', 'd2', 'd3']) await gql(server.url, CREATE, { t }, d);
    const mine = (await gql(server.url, CREATE, { t: 'c1' }, c)).data!.createConversation;
    const list = (await gql(server.url, CONVERSATIONS, {}, c)).data!.conversations;
    const cursor = list.edges[0].cursor;
    expect(cursorText(cursor)).toBe(`conversation|${await createdMicros('conversations', mine.id)}|${mine.id}`);
    expect(list.pageInfo).toEqual({ hasNextPage: false, endCursor: cursor });

    // More activity in org D and by another user of org C: C's cursor is the same.
    for (const t of ['d4', 'd5']) await gql(server.url, CREATE, { t }, d);
    await gql(server.url, CREATE, { t: 'c2' }, await fx.issuer.sign({ orgId: orgC, userId: randomUUID() }));
    expect((await gql(server.url, CONVERSATIONS, {}, c)).data!.conversations.edges[0].cursor).toBe(cursor);

    // Message cursors likewise: each is the message's own time and id.
    const thread = (await gql(server.url, CONVERSATION, { id: shared.conversationId }, token.A1)).data!.conversation;
    for (const e of thread.messages.edges)
      expect(cursorText(e.cursor)).toBe(`message|${await createdMicros('messages', e.node.id)}|${e.node.id}`);
  });

  it('paging visits every conversation exactly once, newest first, ties in time broken by id', async () => {
    const userId = randomUUID();
    const user = await fx.issuer.sign({ orgId: ORG_A, userId });
    // Written directly so that five rows share one microsecond (and other owners' rows share it too).
    const same = '2024-05-06T07:08:09.123456Z';
    const times = [same, same, '2024-05-06T07:08:09.123455Z', same, '2023-01-01T00:00:00.000000Z', same, same];
    times.push('2024-05-06T07:08:09.123457Z');
    const rows: { id: string; at: string }[] = [];
    for (const [i, at] of times.entries()) {
      const { rows: r } = await fx.ownerPool.query<{ id: string }>(
        'INSERT INTO chat.conversations (org_id, user_id, title, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
        [ORG_A, userId, `t${i}`, at],
      );
      rows.push({ id: r[0]!.id, at });
    }
    for (const [org, owner] of [
      [ORG_A, randomUUID()],
      [ORG_B, userId],
    ])
      await fx.ownerPool.query(
        'INSERT INTO chat.conversations (org_id, user_id, title, created_at) VALUES ($1, $2, $3, $4)',
        [org, owner, 'not yours', same],
      );
    // Newest first; equal times by id descending (uuid order is the order of its lower-case hex text).
    const expected = [...rows].sort((a, b) => (b.at + b.id).localeCompare(a.at + a.id));

    const seen: { id: string; cursor: string }[] = [];
    let after: string | null = null;
    for (let pages = 0; ; pages++) {
      const p: any = (await gql(server.url, CONVERSATIONS, { first: 3, after }, user)).data!.conversations;
      seen.push(...p.edges.map((e: any) => ({ id: e.node.id, cursor: e.cursor })));
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1).cursor);
      if (!p.pageInfo.hasNextPage) {
        expect(pages).toBe(2); // 8 rows in pages of 3, 3, 2
        break;
      }
      after = p.pageInfo.endCursor;
    }
    expect(seen.map((s) => s.id)).toEqual(expected.map((r) => r.id));
    expect(seen.map((s) => cursorText(s.cursor))).toEqual(expected.map((r) => `conversation|${r.at}|${r.id}`));

    // A cursor is a position, not a row: it still works after its row is gone.
    await fx.ownerPool.query('DELETE FROM chat.conversations WHERE id = $1', [expected[2]!.id]);
    const rest = (await gql(server.url, CONVERSATIONS, { first: 10, after: seen[2]!.cursor }, user)).data!
      .conversations;
    expect(rest.edges.map((e: any) => e.node.id)).toEqual(expected.slice(3).map((r) => r.id));
  });

  it('messages page in the order written; a new question and its answer list after the latest message', async () => {
    const userId = randomUUID();
    const user = await fx.issuer.sign({ orgId: ORG_A, userId });
    const conv = (await gql(server.url, CREATE, { t: 'clock' }, user)).data!.createConversation;
    // A message stamped an hour ahead, as if the clock then stepped back.
    const ahead = await fx.ownerPool.query<{ id: string }>(
      `INSERT INTO chat.messages (conversation_id, org_id, role, status, text, created_at, author_id)
       VALUES ($1, $2, 'ASSISTANT', 'COMPLETE', 'earlier answer', clock_timestamp() + interval '1 hour', $3) RETURNING id`,
      [conv.id, ORG_A, userId],
    );
    const sent = (await gql(server.url, SEND, { c: conv.id, x: 'How many penguins are there?' }, user)).data!
      .sendMessage;
    await waitForFinal(server.url, sent.assistantMessage.id, user);
    const order = [ahead.rows[0]!.id, sent.userMessage.id, sent.assistantMessage.id];

    const walked: string[] = [];
    let after: string | null = null;
    do {
      const m: any = (await gql(server.url, CONVERSATION, { id: conv.id, first: 1, after }, user)).data!.conversation
        .messages;
      walked.push(...m.edges.map((e: any) => e.node.id));
      after = m.pageInfo.hasNextPage ? m.pageInfo.endCursor : null;
    } while (after);
    expect(walked).toEqual(order);
    const times = await Promise.all(order.map((id) => createdMicros('messages', id)));
    expect([...times].sort()).toEqual(times);
    expect(new Set(times).size).toBe(3);
  }, 120_000);

  it('a malformed cursor, or one of another list, is BAD_USER_INPUT naming after', async () => {
    const user = await fx.issuer.sign({ orgId: ORG_A, userId: randomUUID() });
    const id = randomUUID();
    const at = '2024-05-06T07:08:09.123456Z';
    const err = (r: { errors?: { extensions?: Record<string, any> }[] }) => [
      r.errors?.[0]?.extensions?.code,
      r.errors?.[0]?.extensions?.field,
    ];
    const bad = [
      '',
      'bm9wZQ',
      b64url('conversation:5'), // the former shape
      b64url(`message|${at}|${id}`), // another list's
      b64url(`conversation|2024-02-30T07:08:09.123456Z|${id}`), // no such day
      b64url(`conversation|2024-05-06T07:08:09.123Z|${id}`), // not microseconds
      b64url(`conversation|${at}|${id.toUpperCase()}`),
      b64url(`conversation|${at}|${id}|x`),
      `${b64url(`conversation|${at}|${id}`)}=`,
      Buffer.from(`conversation|${at}|${id}`).toString('base64'), // padded base64, not base64url
    ];
    for (const after of bad)
      expect([after, ...err(await gql(server.url, CONVERSATIONS, { after }, user))]).toEqual([
        after,
        'BAD_USER_INPUT',
        'after',
      ]);
    const other = b64url(`conversation|${at}|${id}`);
    expect(err(await gql(server.url, CONVERSATION, { id: shared.conversationId, after: other }, token.A1))).toEqual([
      'BAD_USER_INPUT',
      'after',
    ]);
    // A well-formed position is accepted even if no row of the caller has it (it is only a place in the order).
    const ok = await gql(server.url, CONVERSATIONS, { after: other }, user);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.conversations).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('an unreachable lake: the answer is FAILED with UPSTREAM_UNAVAILABLE, the question is kept', async () => {
    // A real client to a port where nothing listens (freed right away): a real connection failure, no fake.
    const spark = createSparkConnectClient({ remote: 'sc://127.0.0.1:9', timeoutMs: 5_000 });
    const deadLake = createLake({ spark, store: demo.store });
    const dead = await fx.serve(deadLake);
    try {
      const conv = (await gql(dead.url, CREATE, { t: 'offline' }, token.A1)).data!.createConversation;
      const sent = (await gql(dead.url, SEND, { c: conv.id, x: SPECIES_QUESTION }, token.A1)).data!.sendMessage;
      const m = await waitForFinal(dead.url, sent.assistantMessage.id, token.A1!);
      expect(m).toMatchObject({ status: 'FAILED', errorCode: 'UPSTREAM_UNAVAILABLE', result: null });
      expect(m.text).toBe(
        'Sorry, I could not answer that: the data lake is not reachable right now. Please try again.',
      );
      const user = await gql(dead.url, MESSAGE, { id: sent.userMessage.id }, token.A1);
      expect(user.data!.message).toMatchObject({ status: 'COMPLETE', text: SPECIES_QUESTION });
    } finally {
      await deadLake.close().catch(() => undefined);
      spark.close();
    }
  }, 60_000);

  it('GET /health answers ok while PostgreSQL does', async () => {
    const res = await fetch(`${server.url}/health`);
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }]);
  });
});
