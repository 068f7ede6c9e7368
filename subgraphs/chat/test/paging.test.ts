/**
 * Relay paging of the chat lists (issue 7, section 4) on real PostgreSQL, through the running chat subgraph:
 * forward and backward through five conversations (newest first) and four messages (oldest first), every page's
 * nodes and all four pageInfo fields written out by hand; cursors built here from the rows written here; the same
 * list as Organization.conversations through `_entities`; the refusals; and times as the one DateTime scalar.
 * Rows are written with the superuser's pool, at times chosen here. The analyst is not involved (a lake with no table).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatServer } from '../src/server.ts';
import type { TenantLakes } from '../src/responder.ts';
import { gql, startChatFixture, type ChatFixture } from './support/chat-fixture.ts';

const ORG = randomUUID();
const USER = randomUUID();
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
let token: string;
/** Conversations a..e, created in this order (microsecond times), and messages w..z of conversation `a`. */
const row: Record<string, { id: string; at: string }> = {};
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const cursor = (list: 'conversation' | 'message', name: string) => b64url(`${list}|${row[name]!.at}|${row[name]!.id}`);

const PAGE = `first: $first, after: $after, last: $last, before: $before`;
const VARS = `$first: Int, $after: String, $last: Int, $before: String`;
const INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const CONVERSATIONS = `query(${VARS}) { conversations(${PAGE}) { edges { cursor node { title createdAt } } ${INFO} } }`;
const MESSAGES = `query($id: ID!, ${VARS}) { conversation(id: $id) { messages(${PAGE}) {
  edges { cursor node { text createdAt } } ${INFO} } } }`;
const ORG_CONVERSATIONS = `query($reps: [_Any!]!, ${VARS}) { _entities(representations: $reps) {
  ... on Organization { conversations(${PAGE}) { edges { cursor node { title } } ${INFO} } } } }`;

async function ok(query: string, variables: Record<string, unknown>) {
  const r = await gql(server.url, query, variables, token);
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!;
}

/** A connection as `names`, its flags, with every cursor checked against the one built here. */
function shape(c: any, list: 'conversation' | 'message') {
  const names: string[] = c.edges.map((e: any) => e.node.title ?? e.node.text);
  for (const e of c.edges) expect(e.cursor).toBe(cursor(list, e.node.title ?? e.node.text));
  expect(c.pageInfo.startCursor).toBe(names.length ? cursor(list, names[0]!) : null);
  expect(c.pageInfo.endCursor).toBe(names.length ? cursor(list, names.at(-1)!) : null);
  return { names: names.join(''), next: c.pageInfo.hasNextPage, prev: c.pageInfo.hasPreviousPage };
}
const conversations = async (v: Record<string, unknown>) =>
  shape((await ok(CONVERSATIONS, v)).conversations, 'conversation');
const messages = async (v: Record<string, unknown>) =>
  shape((await ok(MESSAGES, { id: row.a!.id, ...v })).conversation.messages, 'message');

beforeAll(async () => {
  fx = await startChatFixture();
  server = await fx.serve(emptyLake, 0);
  token = await fx.issuer.sign({ orgId: ORG, userId: USER });
  const insert = async (sql: string, params: unknown[]) =>
    (await fx.ownerPool.query<{ id: string }>(sql, params)).rows[0]!.id;
  for (const [i, name] of ['a', 'b', 'c', 'd', 'e'].entries()) {
    const at = `2026-03-0${i + 1}T10:00:00.12345${i}Z`;
    const id = await insert(
      'INSERT INTO chat.conversations (org_id, user_id, title, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
      [ORG, USER, name, at],
    );
    row[name] = { id, at };
  }
  for (const [i, text] of ['w', 'x', 'y', 'z'].entries()) {
    const at = `2026-03-01T11:00:0${i}.00000${i}Z`;
    const id = await insert(
      `INSERT INTO chat.messages (conversation_id, org_id, role, status, text, created_at, author_id)
       VALUES ($1, $2, 'USER', 'COMPLETE', $3, $4, $5) RETURNING id`,
      [row.a!.id, ORG, text, at, USER],
    );
    row[text] = { id, at };
  }
  // Another user's private conversation: not in this user's list.
  await fx.ownerPool.query('INSERT INTO chat.conversations (org_id, user_id, title) VALUES ($1, $2, $3)', [
    ORG,
    randomUUID(),
    'hidden',
  ]);
}, 120_000);
afterAll(async () => fx?.stop());

describe('conversations (newest first)', () => {
  it('pages forward and backward, with all four pageInfo fields', async () => {
    expect(await conversations({ first: 2 })).toEqual({ names: 'ed', next: true, prev: false });
    expect(await conversations({ first: 2, after: cursor('conversation', 'd') })).toEqual({
      names: 'cb',
      next: true,
      prev: true,
    });
    expect(await conversations({ first: 2, after: cursor('conversation', 'b') })).toEqual({
      names: 'a',
      next: false,
      prev: true,
    });
    expect(await conversations({ last: 2 })).toEqual({ names: 'ba', next: false, prev: true });
    expect(await conversations({ last: 2, before: cursor('conversation', 'b') })).toEqual({
      names: 'dc',
      next: true,
      prev: true,
    });
    expect(await conversations({ last: 2, before: cursor('conversation', 'd') })).toEqual({
      names: 'e',
      next: true,
      prev: false,
    });
    expect(await conversations({})).toEqual({ names: 'edcba', next: false, prev: false });
  });

  it('Organization.conversations is the same list with the same arguments', async () => {
    const reps = [{ __typename: 'Organization', id: ORG }];
    const c = (await ok(ORG_CONVERSATIONS, { reps, last: 2, before: cursor('conversation', 'b') }))._entities[0]
      .conversations;
    expect(shape(c, 'conversation')).toEqual({ names: 'dc', next: true, prev: true });
  });

  it('writes times with the DateTime scalar: UTC with milliseconds, the stored microseconds cut', async () => {
    const c = (await ok(CONVERSATIONS, { first: 1 })).conversations;
    expect(c.edges[0].node.createdAt).toBe('2026-03-05T10:00:00.123Z'); // stored 10:00:00.123454
    const m = (await ok(MESSAGES, { id: row.a!.id, last: 1 })).conversation.messages;
    expect(m.edges[0].node.createdAt).toBe('2026-03-01T11:00:03.000Z'); // stored 11:00:03.000003
  });
});

describe('Conversation.messages (oldest first)', () => {
  it('pages forward and backward', async () => {
    expect(await messages({ first: 3 })).toEqual({ names: 'wxy', next: true, prev: false });
    expect(await messages({ first: 3, after: cursor('message', 'y') })).toEqual({
      names: 'z',
      next: false,
      prev: true,
    });
    expect(await messages({ last: 3 })).toEqual({ names: 'xyz', next: false, prev: true });
    expect(await messages({ last: 3, before: cursor('message', 'x') })).toEqual({
      names: 'w',
      next: true,
      prev: false,
    });
    expect(await messages({ first: 1, after: cursor('message', 'w'), before: cursor('message', 'z') })).toEqual({
      names: 'x',
      next: true,
      prev: true,
    });
  });

  it('refuses first with last, and a cursor of the other list, with BAD_USER_INPUT naming the argument', async () => {
    const err = async (query: string, v: Record<string, unknown>) =>
      (await gql(server.url, query, { id: row.a!.id, ...v }, token)).errors?.[0]?.extensions;
    expect(await err(MESSAGES, { first: 1, last: 1 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    expect(await err(CONVERSATIONS, { first: 1, last: 1 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    expect(await err(MESSAGES, { before: cursor('conversation', 'a') })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'before',
    });
    expect(await err(CONVERSATIONS, { after: cursor('message', 'w') })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
    expect(await err(CONVERSATIONS, { last: 101 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
  });
});
