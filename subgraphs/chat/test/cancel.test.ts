/**
 * `cancelMessage` on the real chat server, real PostgreSQL and the real lake (Spark Connect over Delta tables):
 * an answer whose Spark statement runs for minutes is cancelled; the statement must be interrupted IN SPARK (the
 * lake's query ends with Spark's confirmation and frees its slot), the message stored FAILED/CANCELLED and its
 * event stream end with FAILED within about a second; another organization gets NOT_FOUND, a VIEWER FORBIDDEN,
 * another ANALYST of the org FORBIDDEN, an ADMIN may cancel an answer in a conversation it can read; a final
 * message is returned unchanged. Also: the conversation's earlier questions reach the analyst (`history`), at most
 * 10, with the plans stored on their answers.
 *
 * The analyst is the real one, except for the question {@link SLOW}, which it answers by running {@link LONG_SQL}
 * through the lake the responder hands it — without passing any signal itself: the responder's lake adds it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import type { TenantContext } from '@datapilot/common';
import { StatementAbortedError, createLake, type Lake } from '@datapilot/lake-core';
import { createAnalyst, type Analyst, type AnalystScope, type PriorTurn } from '../src/analyst/index.ts';
import type { QueryPlan } from '../src/analyst/query-plan.ts';
import { createChatStore } from '../src/data/chat-store.ts';
import type { TenantLakes } from '../src/responder.ts';
import type { ChatServer } from '../src/server.ts';
import {
  CREATE,
  EVENTS,
  MESSAGE,
  SEND,
  collect,
  gql,
  startChatFixture,
  wsClient,
  type ChatFixture,
} from './support/chat-fixture.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const ASKER = randomUUID(); // ANALYST of A, asks the questions
const OTHER = randomUUID(); // another ANALYST of A
const VIEWER = randomUUID();
const ADMIN = randomUUID();
const B_OWNER = randomUUID();

/** The question the test analyst answers with {@link LONG_SQL}. */
const SLOW = 'Count the pairs, slowly';
/** 4e10 pairs of rows: minutes of work for this machine's Spark (a count over a cross join of two ranges). */
const LONG_SQL =
  'SELECT count(*) AS n FROM range(200000) a CROSS JOIN range(200000) b WHERE (a.id * 7 + b.id) % 1000003 = 0';
const CANCEL = 'mutation($id: ID!) { cancelMessage(id: $id) { id status errorCode text sql } }';
const SHARE = 'mutation($id: ID!) { shareConversation(id: $id, shared: true) { id shared } }';

let fx: ChatFixture;
let demo: DemoLake;
let lake: Lake;
let server: ChatServer;
const token: Record<string, string> = {};
/** Every lake query's failure, as the lake reported it to the analyst. */
const lakeFailures: unknown[] = [];
/** The `history` the analyst got, per question. */
const histories = new Map<string, PriorTurn[]>();

/** The real analyst, but {@link SLOW} runs {@link LONG_SQL} (reporting a status line and the SQL first). */
function testAnalyst(): Analyst {
  const real = createAnalyst();
  return {
    async answer(question: string, scope: AnalystScope, hooks = {}) {
      histories.set(question, scope.history ?? []);
      if (question !== SLOW) return real.answer(question, scope, hooks);
      await hooks.onStatus?.('Counting');
      await hooks.onSql?.(LONG_SQL, {});
      const result = await scope.lake.query(LONG_SQL, {}); // no signal here: the responder's lake adds it
      return {
        text: `${String(result.rows[0]![0])} pairs.`,
        plan: null,
        planSummary: null,
        sql: LONG_SQL,
        params: {},
        result,
        chart: null,
        streamed: false,
      };
    },
  };
}

beforeAll(async () => {
  fx = await startChatFixture();
  demo = await createDemoLake();
  await demo.write(ORG_A, ['penguins']);
  lake = createLake({ spark: demo.spark, store: demo.store });
  const recording: TenantLakes = {
    forTenant(tenant) {
      const l = lake.forTenant(tenant);
      return {
        listTables: () => l.listTables(),
        query: (sql, args, opts) =>
          l.query(sql, args, opts).catch((e) => {
            lakeFailures.push(e);
            throw e;
          }),
      };
    },
  };
  server = await fx.serve(recording, 5, { analyst: testAnalyst() });
  token.asker = await fx.issuer.sign({ orgId: ORG_A, userId: ASKER, role: 'ANALYST' });
  token.other = await fx.issuer.sign({ orgId: ORG_A, userId: OTHER, role: 'ANALYST' });
  token.viewer = await fx.issuer.sign({ orgId: ORG_A, userId: VIEWER, role: 'VIEWER' });
  token.admin = await fx.issuer.sign({ orgId: ORG_A, userId: ADMIN, role: 'ADMIN' });
  token.b = await fx.issuer.sign({ orgId: ORG_B, userId: B_OWNER, role: 'OWNER' });
}, 300_000);

afterAll(async () => {
  await fx?.stop();
  await lake?.close();
  await demo?.cleanup();
});

/** The stored row of message `id`, read as the table owner (no code under test). */
async function stored(id: string) {
  const { rows } = await fx.ownerPool.query(
    'SELECT status, error_code, text, sql, result, updated_at FROM chat.messages WHERE id = $1',
    [id],
  );
  return rows[0] as { status: string; error_code: string | null; text: string; sql: string | null; updated_at: Date };
}

/** Asks `question` in conversation `c` (a new one when omitted) as the asker; returns the ids. */
async function ask(question: string, c?: string) {
  const conversationId = c ?? (await gql(server.url, CREATE, { t: 'cancel' }, token.asker)).data!.createConversation.id;
  const sent = await gql(server.url, SEND, { c: conversationId, x: question }, token.asker);
  expect(sent.errors).toBeUndefined();
  return { conversationId, messageId: sent.data!.sendMessage.assistantMessage.id as string };
}

/** Resolves once the stored row of message `id` satisfies `done` (polled every 50 ms, at most 60 s). */
async function until(id: string, done: (row: Awaited<ReturnType<typeof stored>>) => boolean) {
  const end = Date.now() + 60_000;
  while (!done(await stored(id))) {
    if (Date.now() > end) throw new Error(`message ${id} did not get there`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cancelMessage', () => {
  let client: Client;
  let slow: { conversationId: string; messageId: string };
  afterAll(async () => client?.dispose());

  it('stops a running answer: Spark interrupts its statement; FAILED/CANCELLED stored and published within 2 s', async () => {
    client = await wsClient(server.wsUrl, token.asker!);
    slow = await ask(SLOW);
    const events = collect(client, EVENTS, { id: slow.messageId });
    await until(slow.messageId, (r) => r.sql === LONG_SQL);
    await new Promise((r) => setTimeout(r, 1_500)); // Spark is now well into the statement
    expect(lake.statementsInFlight(ORG_A)).toBe(1);

    // Another organization: NOT_FOUND, and nothing changes.
    const b = await gql(server.url, CANCEL, { id: slow.messageId }, token.b);
    expect(b.data).toBeNull();
    expect(b.errors!.map((e) => e.extensions!.code)).toEqual(['NOT_FOUND']);
    // A VIEWER of the same org: FORBIDDEN by role, before anything is read.
    const viewer = await gql(server.url, CANCEL, { id: slow.messageId }, token.viewer);
    expect(viewer.errors!.map((e) => e.extensions!.code)).toEqual(['FORBIDDEN']);
    // Another ANALYST cannot see the private conversation: NOT_FOUND.
    const other = await gql(server.url, CANCEL, { id: slow.messageId }, token.other);
    expect(other.errors!.map((e) => e.extensions!.code)).toEqual(['NOT_FOUND']);
    expect((await stored(slow.messageId)).status).toBe('STREAMING');

    const started = Date.now();
    const cancelled = await gql(server.url, CANCEL, { id: slow.messageId }, token.asker);
    const tookMs = Date.now() - started;
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelMessage).toMatchObject({
      id: slow.messageId,
      status: 'FAILED',
      errorCode: 'CANCELLED',
      text: 'This answer was cancelled before it was finished.',
      sql: LONG_SQL,
    });
    expect(tookMs).toBeLessThan(2_000);

    // The stream ended with FAILED (CANCELLED), every sequence once.
    const live = (await events).map((r) => r.data.messageEvents);
    expect(live.map((e) => e.kind)).toEqual(['STATUS', 'STATUS', 'SQL', 'FAILED']);
    expect(live.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    expect(live.at(-1)!.message).toMatchObject({ status: 'FAILED', errorCode: 'CANCELLED' });
    // Stored as such (the owner's own read), the SQL kept.
    expect(await stored(slow.messageId)).toMatchObject({ status: 'FAILED', error_code: 'CANCELLED', sql: LONG_SQL });

    // In Spark: the statement was interrupted, and Spark confirmed it (the operation id in its Interrupt response, or
    // the statement's stream ended OPERATION_CANCELED); the lake's slot for it is free again.
    const end = Date.now() + 5_000;
    while (lakeFailures.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(lakeFailures).toHaveLength(1);
    expect(lakeFailures[0]).toBeInstanceOf(StatementAbortedError);
    expect(lakeFailures[0]).toMatchObject({ interrupted: true });
    expect(lake.statementsInFlight(ORG_A)).toBe(0);
    // Spark's cores are free: the org's next question is answered at once.
    const next = await ask('How many penguins are there?');
    await until(next.messageId, (r) => r.status === 'COMPLETE');
    expect((await stored(next.messageId)).text).toContain('344');
  }, 120_000);

  it('a final message is returned unchanged; resuming its events rebuilds exactly what was streamed', async () => {
    const before = await stored(slow.messageId);
    const again = await gql(server.url, CANCEL, { id: slow.messageId }, token.asker);
    expect(again.data!.cancelMessage).toMatchObject({ status: 'FAILED', errorCode: 'CANCELLED' });
    expect((await stored(slow.messageId)).updated_at).toEqual(before.updated_at);
    const resumed = (
      await collect(
        client,
        `subscription($id: ID!) { messageEvents(messageId: $id, afterSequence: 0) {
      sequence kind message { status errorCode statusText sql } } }`,
        { id: slow.messageId },
      )
    ).map((r) => r.data.messageEvents);
    expect(resumed.map((e) => [e.sequence, e.kind, e.message.statusText, e.message.sql !== null])).toEqual([
      [1, 'STATUS', null, false],
      [2, 'STATUS', 'Counting', false],
      [3, 'SQL', 'Counting', true],
      [4, 'FAILED', 'Counting', true],
    ]);
    // A question (USER message) is final too: unchanged.
    const thread = await gql(
      server.url,
      `query($id: ID!) { conversation(id: $id) { messages { edges { node { id role status } } } } }`,
      { id: slow.conversationId },
      token.asker,
    );
    const question = thread.data!.conversation.messages.edges[0].node;
    expect(question.role).toBe('USER');
    expect((await gql(server.url, CANCEL, { id: question.id }, token.asker)).data!.cancelMessage.status).toBe(
      'COMPLETE',
    );
  });

  it('an ADMIN may cancel an answer in a conversation it can read; another ANALYST may not', async () => {
    const second = await ask(SLOW);
    await gql(server.url, SHARE, { id: second.conversationId }, token.asker);
    await until(second.messageId, (r) => r.sql === LONG_SQL);
    const other = await gql(server.url, CANCEL, { id: second.messageId }, token.other);
    expect(other.errors!.map((e) => e.extensions!.code)).toEqual(['FORBIDDEN']);
    const started = Date.now();
    const byAdmin = await gql(server.url, CANCEL, { id: second.messageId }, token.admin);
    expect(byAdmin.data!.cancelMessage).toMatchObject({ status: 'FAILED', errorCode: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await stored(second.messageId)).toMatchObject({ status: 'FAILED', error_code: 'CANCELLED' });
  }, 120_000);

  it('an answer no process is working on (its process stopped) is stored FAILED/CANCELLED; a subscriber hears it', async () => {
    const tenant: TenantContext = Object.freeze({
      orgId: ORG_A,
      userId: ASKER,
      role: 'ANALYST',
      sessionId: randomUUID(),
      credential: 'session',
      expiresAtMs: Date.now() + 600_000,
      token: 'unused',
    });
    const store = createChatStore(fx.pool, tenant);
    const c = await store.createConversation('orphan');
    const orphan = (await store.addExchange(c.id, 'How many penguins are there?'))!.assistantMessage;
    // Its process stored the move to STREAMING and its event (the outbox), then stopped.
    await store.updateAssistantMessage(
      orphan.id,
      { status: 'STREAMING', eventLog: [{ kind: 'STATUS' }] },
      { sequence: 1, kind: 'STATUS' },
    );
    const events = collect(client, EVENTS, { id: orphan.id });
    await new Promise((r) => setTimeout(r, 200)); // subscribed: the stored STATUS event is out
    const cancelled = await gql(server.url, CANCEL, { id: orphan.id }, token.asker);
    expect(cancelled.data!.cancelMessage).toMatchObject({ status: 'FAILED', errorCode: 'CANCELLED' });
    expect((await events).map((r) => [r.data.messageEvents.sequence, r.data.messageEvents.kind])).toEqual([
      [1, 'STATUS'],
      [2, 'FAILED'],
    ]);
    const byB = await gql(server.url, MESSAGE, { id: orphan.id }, token.b);
    expect(byB.errors!.map((e) => e.extensions!.code)).toEqual(['NOT_FOUND']);
  });

  it('bad ids: BAD_USER_INPUT naming id; an unknown id NOT_FOUND', async () => {
    const bad = await gql(server.url, CANCEL, { id: 'nope' }, token.asker);
    expect(bad.errors!.map((e) => [e.extensions!.code, e.extensions!.field])).toEqual([['BAD_USER_INPUT', 'id']]);
    const unknown = await gql(server.url, CANCEL, { id: randomUUID() }, token.asker);
    expect(unknown.errors!.map((e) => e.extensions!.code)).toEqual(['NOT_FOUND']);
  });
});

describe('history: the earlier questions of the conversation reach the analyst', () => {
  it('newest last, with the plans stored on their answers (null when none), without the question itself', async () => {
    const first = await ask('How many penguins are there of each species?');
    await until(first.messageId, (r) => r.status === 'COMPLETE');
    const second = await ask('Which island has the most penguins?', first.conversationId);
    await until(second.messageId, (r) => r.status === 'COMPLETE');
    const third = await ask('And the fewest?', first.conversationId);
    await until(third.messageId, (r) => r.status === 'COMPLETE');
    const history = histories.get('And the fewest?')!;
    expect(history.map((h) => h.question)).toEqual([
      'How many penguins are there of each species?',
      'Which island has the most penguins?',
    ]);
    const { rows } = await fx.ownerPool.query<{ plan: { plan: QueryPlan } | null }>(
      'SELECT plan FROM chat.messages WHERE id = ANY($1::uuid[]) ORDER BY created_at',
      [[first.messageId, second.messageId]],
    );
    expect(history.map((h) => h.plan)).toEqual(rows.map((r) => r.plan?.plan ?? null));
    expect(history[0]!.plan).toMatchObject({ table: 'penguins', aggregate: 'COUNT' });
  }, 120_000);

  it('at most 10, the newest; none of another conversation', async () => {
    const tenant: TenantContext = Object.freeze({
      orgId: ORG_A,
      userId: ASKER,
      role: 'ANALYST',
      sessionId: randomUUID(),
      credential: 'session',
      expiresAtMs: Date.now() + 600_000,
      token: 'unused',
    });
    const store = createChatStore(fx.pool, tenant);
    const c = await store.createConversation('many');
    const elsewhere = await store.createConversation('elsewhere');
    await store.addExchange(elsewhere.id, 'not this one');
    let last = '';
    for (let i = 1; i <= 13; i++) {
      const ex = (await store.addExchange(c.id, `question ${i}`))!;
      const plan = {
        table: 't',
        joins: [],
        aggregate: 'COUNT',
        measure: null,
        percentile: null,
        metric: null,
        group: null,
        filters: [],
        order: 'DESC',
        limit: i,
      } as unknown as QueryPlan;
      if (i % 2) await store.updateAssistantMessage(ex.assistantMessage.id, { plan: { summary: `s${i}`, plan } });
      last = ex.assistantMessage.id;
    }
    const prior = await store.priorQuestions(last, 10);
    expect(prior.map((p) => p.question)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => `question ${i}`));
    expect(prior.map((p) => (p.plan as { limit: number } | null)?.limit ?? null)).toEqual([
      3,
      null,
      5,
      null,
      7,
      null,
      9,
      null,
      11,
      null,
    ]);
    // Another organization's or another member's store sees none of it.
    expect(await createChatStore(fx.pool, { ...tenant, orgId: ORG_B }).priorQuestions(last, 10)).toEqual([]);
    expect(await createChatStore(fx.pool, { ...tenant, userId: OTHER }).priorQuestions(last, 10)).toEqual([]);
  });
});
