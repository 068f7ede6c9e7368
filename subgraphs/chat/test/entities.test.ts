// Chat's federation entities against real PostgreSQL: `Message` and `Conversation` references resolved with one
// statement per entity type per request, only where the caller may read them; `author`, `owner`, `conversation`;
// the `Organization` entity's `conversations`. Rows are written here with SQL (values chosen by hand).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createLake } from '@datapilot/lake-core';
import type { ChatServer } from '../src/server.ts';
import { gql, startChatFixture, type ChatFixture } from './support/chat-fixture.ts';
import { createDemoLake, type DemoLake } from './support/demo-lake.ts';

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const ANA = randomUUID();
const BEN = randomUUID();
const CAT = randomUUID(); // ORG_B

let fx: ChatFixture;
let demo: DemoLake;
let server: ChatServer;
/** The statements the server sent, as it sent them (every pooled connection's `query`). */
const statements: string[] = [];
const ids: Record<string, string> = {};

const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Message { id role text author { id } conversation { id title owner { id } } }
    ... on Conversation { id title shared owner { id } }
    ... on Organization { id conversations(first: 10) { edges { node { id title } } } }
  }
}`;

/** The reads among them (not the transaction's `set_config` of the org wall). */
const reads = () => statements.filter((s) => /^\s*SELECT/.test(s) && !/^\s*SELECT set_config/.test(s));

/** Counts the statements of the server's pool (one listener per new connection). */
function recordStatements(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...a: unknown[]) => unknown;
    (client as { query: unknown }).query = (...a: unknown[]) => {
      const text = typeof a[0] === 'string' ? a[0] : (a[0] as { text?: string })?.text;
      if (text) statements.push(text);
      return query(...a);
    };
  });
}

beforeAll(async () => {
  fx = await startChatFixture();
  recordStatements(fx.pool);
  demo = await createDemoLake();
  server = await fx.serve(createLake({ spark: demo.spark, store: demo.store }));
  const conv = async (org: string, user: string, title: string, shared: boolean) =>
    (
      await fx.ownerPool.query<{ id: string }>(
        `INSERT INTO chat.conversations (org_id, user_id, title, shared) VALUES ($1, $2, $3, $4) RETURNING id`,
        [org, user, title, shared],
      )
    ).rows[0]!.id;
  const msg = async (org: string, c: string, role: string, text: string, author: string) =>
    (
      await fx.ownerPool.query<{ id: string }>(
        `INSERT INTO chat.messages (org_id, conversation_id, role, status, text, author_id)
         VALUES ($1, $2, $3, 'COMPLETE', $4, $5) RETURNING id`,
        [org, c, role, text, author],
      )
    ).rows[0]!.id;
  ids.anaConv = await conv(ORG_A, ANA, 'Ana private', false);
  ids.benShared = await conv(ORG_A, BEN, 'Ben shared', true);
  ids.benPrivate = await conv(ORG_A, BEN, 'Ben private', false);
  ids.catConv = await conv(ORG_B, CAT, 'Cat', true);
  ids.q1 = await msg(ORG_A, ids.anaConv, 'USER', 'How many rows?', ANA);
  ids.a1 = await msg(ORG_A, ids.anaConv, 'ASSISTANT', 'There are 3.', ANA);
  ids.q2 = await msg(ORG_A, ids.benShared, 'USER', 'Shared question', BEN);
  ids.q3 = await msg(ORG_A, ids.benPrivate, 'USER', 'Private question', BEN);
  ids.q4 = await msg(ORG_B, ids.catConv, 'USER', 'Other org', CAT);
}, 300_000);

afterAll(async () => {
  await fx?.stop();
  await demo?.cleanup();
});

describe('Message and Conversation entities', () => {
  it('resolves many references with one statement per type, visible ones only, in the order asked', async () => {
    const token = await fx.issuer.sign({ orgId: ORG_A, userId: ANA, role: 'VIEWER' });
    const representations = [
      ...['q1', 'a1', 'q2', 'q3', 'q4'].map((k) => ({ __typename: 'Message', id: ids[k] })),
      ...['anaConv', 'benShared', 'benPrivate', 'catConv'].map((k) => ({ __typename: 'Conversation', id: ids[k] })),
      { __typename: 'Organization', id: ORG_A },
      { __typename: 'Organization', id: ORG_B },
    ];
    statements.length = 0;
    const r = await gql(server.url, ENTITIES, { representations }, token);
    expect(r.errors).toBeUndefined();
    const anaConv = { id: ids.anaConv, title: 'Ana private', owner: { id: ANA } };
    const benShared = { id: ids.benShared, title: 'Ben shared', owner: { id: BEN } };
    expect(r.data!._entities).toEqual([
      {
        __typename: 'Message',
        id: ids.q1,
        role: 'USER',
        text: 'How many rows?',
        author: { id: ANA },
        conversation: anaConv,
      },
      {
        __typename: 'Message',
        id: ids.a1,
        role: 'ASSISTANT',
        text: 'There are 3.',
        author: { id: ANA },
        conversation: anaConv,
      },
      {
        __typename: 'Message',
        id: ids.q2,
        role: 'USER',
        text: 'Shared question',
        author: { id: BEN },
        conversation: benShared,
      },
      null, // Ben's private conversation
      null, // another organization's
      { __typename: 'Conversation', ...anaConv, shared: false },
      { __typename: 'Conversation', ...benShared, shared: true },
      null,
      null,
      {
        __typename: 'Organization',
        id: ORG_A,
        conversations: {
          edges: [
            { node: { id: ids.benShared, title: 'Ben shared' } },
            { node: { id: ids.anaConv, title: 'Ana private' } },
          ],
        },
      },
      null,
    ]);
    // Five message references: one SELECT of messages. Four conversation references: one SELECT of conversations by
    // id; the messages' `conversation` fields, known only once the messages are read: one more. The organization's
    // list: one. So the count does not grow with the number of references (checked again below with two).
    const selects = reads();
    expect(selects.filter((s) => /FROM chat\.messages/.test(s))).toHaveLength(1);
    expect(selects.filter((s) => /FROM chat\.conversations c WHERE c\.id = ANY/.test(s))).toHaveLength(2);
    expect(selects).toHaveLength(4);

    statements.length = 0;
    const two = await gql(server.url, ENTITIES, { representations: [representations[0], representations[5]] }, token);
    expect(two.data!._entities).toHaveLength(2);
    expect(reads()).toHaveLength(3);
  });

  it('another organization resolves none of them', async () => {
    const token = await fx.issuer.sign({ orgId: ORG_B, userId: CAT, role: 'OWNER' });
    const representations = [
      { __typename: 'Message', id: ids.q1 },
      { __typename: 'Conversation', id: ids.benShared },
      { __typename: 'Organization', id: ORG_A },
    ];
    const r = await gql(server.url, ENTITIES, { representations }, token);
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([null, null, null]);
  });
});
