// Relay paging of the auth lists (issue 7, section 4) through the running auth subgraph on a real PostgreSQL:
// forward and backward through five API keys, every page's nodes and all four pageInfo fields written out by hand;
// the cursors PostgreSQL computes itself from each row (to_char of created_at, the id); the refusals; and the
// documented hasPreviousPage of an `after` whose row has left the list (invitations).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_KEY, errorOf, gql, INVITE, REVOKE_INVITATION, SIGNUP, startAuth } from './helpers.ts';

let env: Awaited<ReturnType<typeof startAuth>>;
let url: string;
let owner: { accessToken: string; organization: { id: string } };
/** Cursor of each key by name, computed by PostgreSQL from the row: base64url of `apikey|<created_at>|<id>`. */
const cursor: Record<string, string> = {};

const KEYS = `query($first: Int, $after: String, $last: Int, $before: String) {
  apiKeys(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const MEMBERS = `query($first: Int, $after: String, $last: Int, $before: String) {
  members(first: $first, after: $after, last: $last, before: $before) { edges { cursor } } }`;
const INVITATIONS = `query($first: Int, $after: String, $last: Int, $before: String) {
  invitations(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { email } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const AUDIT = `query($first: Int, $last: Int) { auditEvents(first: $first, last: $last) { edges { cursor } } }`;

async function ok(query: string, variables: Record<string, unknown>) {
  const r = await gql(url, query, variables, owner.accessToken);
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return Object.values(r.data!)[0] as any;
}

/** A page as `names`, the pageInfo flags and whether its start and end cursors are those of its first and last. */
async function page(variables: Record<string, unknown>) {
  const c = await ok(KEYS, variables);
  const names: string[] = c.edges.map((e: any) => e.node.name);
  for (const e of c.edges) expect(e.cursor).toBe(cursor[e.node.name]);
  expect(c.pageInfo.startCursor).toBe(names.length ? cursor[names[0]!] : null);
  expect(c.pageInfo.endCursor).toBe(names.length ? cursor[names.at(-1)!] : null);
  return { names: names.join(''), next: c.pageInfo.hasNextPage, prev: c.pageInfo.hasPreviousPage };
}

beforeAll(async () => {
  env = await startAuth();
  url = env.server.graphqlUrl;
  owner = (
    await gql(url, SIGNUP, { input: { email: 'pager@paging.example', password: 'Paging-Pass-2026', orgName: 'P' } })
  ).data!.signup;
  // Five keys a..e, in this order: oldest first is the list's order.
  for (const name of ['a', 'b', 'c', 'd', 'e']) await ok(CREATE_KEY, { name, role: 'VIEWER' });
  const { rows } = await env.pool.query<{ name: string; cursor: string }>(
    `SELECT name, rtrim(translate(encode(convert_to(
              'apikey|' || to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || id,
              'UTF8'), 'base64'), E'+/\\n', '-_'), '=') AS cursor
       FROM auth.api_keys WHERE org_id = $1`,
    [owner.organization.id],
  );
  for (const r of rows) cursor[r.name] = r.cursor;
  expect(Object.keys(cursor).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
});
afterAll(async () => env?.stop());

describe('apiKeys, a Relay connection', () => {
  it('pages forward with first/after', async () => {
    expect(await page({ first: 2 })).toEqual({ names: 'ab', next: true, prev: false });
    expect(await page({ first: 2, after: cursor.b })).toEqual({ names: 'cd', next: true, prev: true });
    expect(await page({ first: 2, after: cursor.d })).toEqual({ names: 'e', next: false, prev: true });
    expect(await page({ first: 2, after: cursor.e })).toEqual({ names: '', next: false, prev: true });
    expect(await page({})).toEqual({ names: 'abcde', next: false, prev: false }); // default 20
  });

  it('pages backward with last/before', async () => {
    expect(await page({ last: 2 })).toEqual({ names: 'de', next: false, prev: true });
    expect(await page({ last: 2, before: cursor.d })).toEqual({ names: 'bc', next: true, prev: true });
    expect(await page({ last: 2, before: cursor.b })).toEqual({ names: 'a', next: true, prev: false });
    expect(await page({ last: 2, before: cursor.a })).toEqual({ names: '', next: true, prev: false });
    expect(await page({ last: 5 })).toEqual({ names: 'abcde', next: false, prev: false });
    expect(await page({ before: cursor.c })).toEqual({ names: 'ab', next: true, prev: false }); // default 20, backward
  });

  it('bounds the range by both cursors', async () => {
    expect(await page({ first: 2, after: cursor.a, before: cursor.e })).toEqual({
      names: 'bc',
      next: true,
      prev: true,
    });
    expect(await page({ first: 3, after: cursor.a, before: cursor.e })).toEqual({
      names: 'bcd',
      next: false,
      prev: true,
    });
    expect(await page({ last: 2, after: cursor.a, before: cursor.e })).toEqual({ names: 'cd', next: true, prev: true });
    expect(await page({ last: 3, after: cursor.a, before: cursor.e })).toEqual({
      names: 'bcd',
      next: true,
      prev: false,
    });
  });

  it('answers BAD_USER_INPUT for first and last together, sizes out of range and cursors of another list', async () => {
    const refused = async (query: string, variables: Record<string, unknown>) =>
      errorOf(await gql(url, query, variables, owner.accessToken));
    for (const q of [KEYS, MEMBERS, INVITATIONS, AUDIT])
      expect(await refused(q, { first: 1, last: 1 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    expect(await refused(KEYS, { last: 101 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    expect(await refused(KEYS, { last: 0 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    const member = (await ok(MEMBERS, {})).edges[0].cursor;
    expect(await refused(KEYS, { after: member })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(await refused(KEYS, { before: member })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'before' });
    expect(await refused(MEMBERS, { before: cursor.a })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'before' });
  });
});

describe('invitations', () => {
  it('hasPreviousPage on a forward page: true while the after-row is in the list, false once it left it', async () => {
    const ids: string[] = [];
    for (const who of ['x', 'y', 'z']) {
      const out = await ok(INVITE, { email: `${who}@paging.example`, role: 'VIEWER' });
      ids.push(out.invitation.id);
    }
    const all = await ok(INVITATIONS, {});
    expect(all.edges.map((e: any) => e.node.email)).toEqual([
      'x@paging.example',
      'y@paging.example',
      'z@paging.example',
    ]);
    const afterX = { first: 1, after: all.edges[0].cursor };
    const before = await ok(INVITATIONS, afterX);
    expect(before.edges.map((e: any) => e.node.email)).toEqual(['y@paging.example']);
    expect(before.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    await ok(REVOKE_INVITATION, { id: ids[0] }); // x leaves the list of pending invitations
    const after = await ok(INVITATIONS, afterX);
    expect(after.edges.map((e: any) => e.node.email)).toEqual(['y@paging.example']);
    expect(after.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    // Backward from z: y, then nothing before it any more.
    const back = await ok(INVITATIONS, { last: 5, before: all.edges[2].cursor });
    expect(back.edges.map((e: any) => e.node.email)).toEqual(['y@paging.example']);
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  });
});
