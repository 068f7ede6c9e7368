// Organizations as teams (issue 6, sections 1 and 3) against a real PostgreSQL and the running auth subgraph:
// invitations, memberships, role rules, sessions, API keys and the principal check. Expected values are written
// by hand or computed by PostgreSQL itself (sha256(), now()), never by the code under test.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '@datapilot/common';
import {
  ACCEPT,
  API_KEYS,
  CREATE_KEY,
  errorOf,
  EXCHANGE,
  gql,
  INVITATIONS,
  INVITE,
  LEAVE,
  ME,
  MEMBERS,
  ORGANIZATIONS,
  principal,
  REFRESH,
  REMOVE,
  REVOKE_INVITATION,
  REVOKE_KEY,
  SIGN_OUT,
  SIGNUP,
  startAuth,
  SWITCH,
  UPDATE_ROLE,
  LOGIN,
} from './helpers.ts';

let env: Awaited<ReturnType<typeof startAuth>>;
let url: string;
let base: string;

const PASSWORD = 'Team-Password-2026';
const DAY_MS = 86_400_000;
let seq = 0;

/** A session as signup/login/accept return it. */
type Session = {
  accessToken: string;
  refreshToken: string;
  role: string;
  user: { id: string; email: string };
  organization: { id: string; name: string };
};

/** Runs `query` as `s` (or anonymously) and returns the data of its one field, failing the test on an error. */
async function ok(query: string, variables: Record<string, unknown>, s?: { accessToken: string }) {
  const r = await gql(url, query, variables, s?.accessToken);
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return Object.values(r.data!)[0] as any;
}

/** Runs `query` as `s` and returns the first error's extensions and message (failing when it succeeded). */
async function fails(query: string, variables: Record<string, unknown>, s?: { accessToken: string }) {
  const r = await gql(url, query, variables, s?.accessToken);
  expect(r.errors, `expected an error, got ${JSON.stringify(r.data)}`).toBeDefined();
  return { ...errorOf(r), message: r.errors![0]!.message } as Record<string, any>;
}

const email = (label: string) => `${label}-${++seq}@teams.example`;

/** A new user who owns a new organization. */
async function owner(label: string): Promise<Session> {
  return ok(SIGNUP, { input: { email: email(label), password: PASSWORD, orgName: `Org ${label}` } });
}

/** A new user invited by `by` with `role` who signs up with the invitation. */
async function member(by: Session, label: string, role: string): Promise<Session> {
  const address = email(label);
  const { token } = await ok(INVITE, { email: address, role }, by);
  return ok(SIGNUP, { input: { email: address, password: PASSWORD, invitationToken: token } });
}

/** The refresh-token family (session) of a refresh token, looked up by PostgreSQL's own SHA-256. */
async function familyOf(refreshToken: string): Promise<string> {
  const r = await env.pool.query(
    `SELECT family_id FROM auth.refresh_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
    [refreshToken],
  );
  return r.rows[0].family_id;
}

/** The stored role of `userId` in `orgId`, or null. */
async function storedRole(userId: string, orgId: string): Promise<string | null> {
  const r = await env.pool.query(`SELECT role FROM auth.memberships WHERE user_id = $1 AND org_id = $2`, [
    userId,
    orgId,
  ]);
  return r.rows[0]?.role ?? null;
}

const count = async (sql: string, params: unknown[] = []) =>
  (await env.pool.query(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n as number;

beforeAll(async () => {
  env = await startAuth();
  url = env.server.graphqlUrl;
  base = env.server.url;
});

afterAll(async () => {
  await env?.stop();
});

describe('invitations', () => {
  let acme: Session;
  beforeAll(async () => {
    acme = await owner('acme');
  });

  it('inviteMember answers a dp_inv_ token shown once, stored only as its SHA-256, valid for 7 days', async () => {
    const out = await ok(INVITE, { email: '  Carol@Example.ORG ', role: 'VIEWER' }, acme);
    expect(out.token).toMatch(/^dp_inv_[A-Za-z0-9_-]{43}$/);
    const inv = out.invitation;
    expect(inv).toMatchObject({ email: 'carol@example.org', role: 'VIEWER', status: 'PENDING' });
    expect(inv.invitedBy).toEqual({ id: acme.user.id });
    expect(Date.parse(inv.expiresAt) - Date.parse(inv.createdAt)).toBe(7 * DAY_MS);
    const row = (
      await env.pool.query(
        `SELECT token_hash = sha256(convert_to($2, 'UTF8')) AS hashed, strpos(i::text, $2) AS clear,
                org_id, invited_by, expires_at - created_at AS ttl
           FROM auth.invitations i WHERE id = $1`,
        [inv.id, out.token],
      )
    ).rows[0];
    expect(row).toMatchObject({ hashed: true, clear: 0, org_id: acme.organization.id, invited_by: acme.user.id });
    expect(row.ttl).toMatchObject({ days: 7 });
    // Listed among the pending invitations, without its token.
    const list = await ok(INVITATIONS, {}, acme);
    expect(list.edges.map((e: any) => e.node)).toEqual([
      { id: inv.id, email: 'carol@example.org', role: 'VIEWER', status: 'PENDING' },
    ]);
  });

  it('signup with an invitation joins the inviting organization with its role and creates no organization', async () => {
    const { token } = await ok(INVITE, { email: 'dan@example.org', role: 'ANALYST' }, acme);
    const orgsBefore = await count('auth.organizations');
    const dan = await ok(SIGNUP, { input: { email: 'Dan@Example.org', password: PASSWORD, invitationToken: token } });
    expect(dan.role).toBe('ANALYST');
    expect(dan.organization).toMatchObject({ id: acme.organization.id, name: 'Org acme' });
    expect(dan.user.email).toBe('dan@example.org');
    expect(await count('auth.organizations')).toBe(orgsBefore);
    expect(await storedRole(dan.user.id, acme.organization.id)).toBe('ANALYST');
    const inv = (
      await env.pool.query(
        `SELECT accepted_by, accepted_at IS NOT NULL AS used FROM auth.invitations WHERE email = $1`,
        ['dan@example.org'],
      )
    ).rows;
    expect(inv).toEqual([{ accepted_by: dan.user.id, used: true }]);
    // The access token's sid is the session: the family of the refresh token issued with it.
    expect(decodeJwt(dan.accessToken).sid).toBe(await familyOf(dan.refreshToken));

    const members = await ok(MEMBERS, {}, acme);
    expect(members.edges.map((e: any) => [e.node.user.id, e.node.role])).toEqual([
      [acme.user.id, 'OWNER'],
      [dan.user.id, 'ANALYST'],
    ]);
  });

  it('a used invitation cannot be used again (CONFLICT), and the refused signup leaves no account', async () => {
    const { token } = await ok(INVITE, { email: 'once@example.org', role: 'VIEWER' }, acme);
    const first = await ok(SIGNUP, {
      input: { email: 'once@example.org', password: PASSWORD, invitationToken: token },
    });
    expect(first.role).toBe('VIEWER');
    expect(await fails(ACCEPT, { token }, first)).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/used/),
    });
    const again = await fails(SIGNUP, {
      input: { email: 'twice@example.org', password: PASSWORD, invitationToken: token },
    });
    expect(again.code).toBe('CONFLICT');
    expect(await count(`auth.users WHERE email = 'twice@example.org'`)).toBe(0);
  });

  it('an expired or revoked invitation is CONFLICT; an unknown token is NOT_FOUND', async () => {
    const expired = await ok(INVITE, { email: 'late@example.org', role: 'VIEWER' }, acme);
    await env.pool.query(`UPDATE auth.invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expired.invitation.id,
    ]);
    const late = await fails(SIGNUP, {
      input: { email: 'late@example.org', password: PASSWORD, invitationToken: expired.token },
    });
    expect(late).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/expired/) });
    const pending = (await ok(INVITATIONS, { first: 100 }, acme)).edges.map((e: any) => e.node.email);
    expect(pending).not.toContain('late@example.org');

    const revoked = await ok(INVITE, { email: 'gone@example.org', role: 'VIEWER' }, acme);
    expect(await ok(REVOKE_INVITATION, { id: revoked.invitation.id }, acme)).toEqual({
      id: revoked.invitation.id,
      status: 'REVOKED',
    });
    // Revoking again answers the same.
    expect((await ok(REVOKE_INVITATION, { id: revoked.invitation.id }, acme)).status).toBe('REVOKED');
    const gone = await fails(SIGNUP, {
      input: { email: 'gone@example.org', password: PASSWORD, invitationToken: revoked.token },
    });
    expect(gone).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/revoked/) });

    for (const token of [`dp_inv_${'A'.repeat(43)}`, 'not-a-token'])
      expect(
        (await fails(SIGNUP, { input: { email: 'x@example.org', password: PASSWORD, invitationToken: token } })).code,
      ).toBe('NOT_FOUND');
    expect(await count(`auth.users WHERE email IN ('late@example.org', 'gone@example.org', 'x@example.org')`)).toBe(0);
  });

  it('an accepted invitation cannot be revoked (CONFLICT)', async () => {
    const out = await ok(INVITE, { email: email('accepted'), role: 'VIEWER' }, acme);
    await ok(SIGNUP, { input: { email: out.invitation.email, password: PASSWORD, invitationToken: out.token } });
    expect((await fails(REVOKE_INVITATION, { id: out.invitation.id }, acme)).code).toBe('CONFLICT');
  });

  it('inviting a member is CONFLICT; inviting an email again revokes its earlier invitation', async () => {
    expect((await fails(INVITE, { email: acme.user.email.toUpperCase(), role: 'VIEWER' }, acme)).code).toBe('CONFLICT');
    const a = await ok(INVITE, { email: 'frank@example.org', role: 'VIEWER' }, acme);
    const b = await ok(INVITE, { email: 'frank@example.org', role: 'ANALYST' }, acme);
    const frank = (await ok(INVITATIONS, { first: 100 }, acme)).edges.filter(
      (e: any) => e.node.email === 'frank@example.org',
    );
    expect(frank.map((e: any) => e.node)).toEqual([
      { id: b.invitation.id, email: 'frank@example.org', role: 'ANALYST', status: 'PENDING' },
    ]);
    const stale = await fails(SIGNUP, {
      input: { email: 'frank@example.org', password: PASSWORD, invitationToken: a.token },
    });
    expect(stale).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/revoked/) });
    const joined = await ok(SIGNUP, {
      input: { email: 'frank@example.org', password: PASSWORD, invitationToken: b.token },
    });
    expect(joined.role).toBe('ANALYST');
  });

  it('an invitation for another email is FORBIDDEN and stays usable by its invitee', async () => {
    const out = await ok(INVITE, { email: 'grace@example.org', role: 'VIEWER' }, acme);
    const other = await owner('mallory');
    expect((await fails(ACCEPT, { token: out.token }, other)).code).toBe('FORBIDDEN');
    const wrong = await fails(SIGNUP, {
      input: { email: 'heidi@example.org', password: PASSWORD, invitationToken: out.token },
    });
    expect(wrong.code).toBe('FORBIDDEN');
    const grace = await ok(SIGNUP, {
      input: { email: 'grace@example.org', password: PASSWORD, invitationToken: out.token },
    });
    expect(grace.organization.id).toBe(acme.organization.id);
  });

  it('signup needs exactly one of orgName and invitationToken (BAD_USER_INPUT naming orgName)', async () => {
    const { token } = await ok(INVITE, { email: 'ivan@example.org', role: 'VIEWER' }, acme);
    const both = await fails(SIGNUP, {
      input: { email: 'ivan@example.org', password: PASSWORD, orgName: 'Mine', invitationToken: token },
    });
    expect(both).toMatchObject({ code: 'BAD_USER_INPUT', field: 'orgName' });
    const neither = await fails(SIGNUP, { input: { email: 'ivan@example.org', password: PASSWORD } });
    expect(neither).toMatchObject({ code: 'BAD_USER_INPUT', field: 'orgName' });
    expect((await fails(INVITE, { email: 'not-an-email', role: 'VIEWER' }, acme)).field).toBe('email');
  });

  it('members pages in join order with cursors; a cursor of another list is BAD_USER_INPUT', async () => {
    const org = await owner('paging');
    const m1 = await member(org, 'p1', 'VIEWER');
    const m2 = await member(org, 'p2', 'ANALYST');
    const page1 = await ok(MEMBERS, { first: 2 }, org);
    expect(page1.edges.map((e: any) => e.node.user.id)).toEqual([org.user.id, m1.user.id]);
    expect(page1.edges.every((e: any) => e.node.organization.id === org.organization.id)).toBe(true);
    expect(page1.pageInfo).toEqual({ hasNextPage: true, endCursor: page1.edges[1].cursor });
    const page2 = await ok(MEMBERS, { first: 2, after: page1.pageInfo.endCursor }, org);
    expect(page2.edges.map((e: any) => [e.node.user.id, e.node.role])).toEqual([[m2.user.id, 'ANALYST']]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    await ok(INVITE, { email: email('cursor'), role: 'VIEWER' }, org);
    const invCursor = (await ok(INVITATIONS, {}, org)).pageInfo.endCursor;
    expect(await fails(MEMBERS, { after: invCursor }, org)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(await fails(MEMBERS, { first: 101 }, org)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});

describe('acceptInvitation and switchOrganization', () => {
  it('a signed-in user joins a second organization in the same session and switches between them', async () => {
    const alice = await owner('alice');
    const bob = await owner('bob');
    const sid = decodeJwt(bob.accessToken).sid;
    const { token } = await ok(INVITE, { email: bob.user.email, role: 'ANALYST' }, alice);

    const joined: Session = await ok(ACCEPT, { token }, bob);
    expect(joined.organization).toEqual({ id: alice.organization.id, name: 'Org alice' });
    expect(joined.role).toBe('ANALYST');
    expect(decodeJwt(joined.accessToken)).toMatchObject({ sid, org: alice.organization.id, role: 'ANALYST' });
    expect(await familyOf(joined.refreshToken)).toBe(sid);
    // The session's earlier refresh token was revoked by the move.
    const old = await env.pool.query(
      `SELECT revoked_at IS NOT NULL AS revoked FROM auth.refresh_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [bob.refreshToken],
    );
    expect(old.rows).toEqual([{ revoked: true }]);
    // The new refresh token continues the same session in the new organization.
    const refreshed = await ok(REFRESH, { t: joined.refreshToken });
    expect(refreshed.organization.id).toBe(alice.organization.id);
    expect(decodeJwt(refreshed.accessToken).sid).toBe(sid);

    const orgs = await ok(ORGANIZATIONS, {}, refreshed);
    expect(orgs.map((m: any) => [m.organization.id, m.role, m.user.id])).toEqual([
      [bob.organization.id, 'OWNER', bob.user.id],
      [alice.organization.id, 'ANALYST', bob.user.id],
    ]);

    const back: Session = await ok(SWITCH, { orgId: bob.organization.id.toUpperCase() }, refreshed);
    expect(back.organization).toEqual({ id: bob.organization.id, name: 'Org bob' });
    expect(back.role).toBe('OWNER');
    expect(decodeJwt(back.accessToken)).toMatchObject({
      sid,
      org: bob.organization.id,
      role: 'OWNER',
      sub: bob.user.id,
    });
    expect((await ok(ME, {}, back)).role).toBe('OWNER');

    // Someone else's organization is NOT_FOUND, a malformed id BAD_USER_INPUT.
    const carol = await owner('carol');
    expect((await fails(SWITCH, { orgId: carol.organization.id }, back)).code).toBe('NOT_FOUND');
    expect(await fails(SWITCH, { orgId: 'acme' }, back)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'orgId' });
    // Bob is a member of Alice's organization now: inviting him again is CONFLICT.
    expect((await fails(INVITE, { email: bob.user.email, role: 'VIEWER' }, alice)).code).toBe('CONFLICT');
  });
});

describe('an account without an organization', () => {
  it('joins again by signing up with a new invitation and its own password (a wrong one is refused)', async () => {
    const boss = await owner('lone-boss');
    const carl = await member(boss, 'lone-carl', 'ANALYST');
    await ok(REMOVE, { userId: carl.user.id }, boss);
    expect(await fails(LOGIN, { email: carl.user.email, password: PASSWORD })).toMatchObject({ code: 'FORBIDDEN' });
    const { token } = await ok(INVITE, { email: carl.user.email, role: 'VIEWER' }, boss);
    const wrong = await fails(SIGNUP, {
      input: { email: carl.user.email, password: 'Not-The-Password-1', invitationToken: token },
    });
    expect(wrong).toMatchObject({ code: 'UNAUTHENTICATED', message: 'Invalid email or password.' });
    const back = await ok(SIGNUP, { input: { email: carl.user.email, password: PASSWORD, invitationToken: token } });
    expect([back.user.id, back.organization.id, back.role]).toEqual([carl.user.id, boss.organization.id, 'VIEWER']);
    expect(await storedRole(carl.user.id, boss.organization.id)).toBe('VIEWER');
    // The invitation is used up: a second try is CONFLICT, not a second membership.
    expect(
      (await fails(SIGNUP, { input: { email: carl.user.email, password: PASSWORD, invitationToken: token } })).code,
    ).toBe('CONFLICT');
  });
});

describe('role rules and the last owner', () => {
  let org: Session;
  let admin: Session;
  let analyst: Session;
  let viewer: Session;
  beforeAll(async () => {
    org = await owner('rules');
    admin = await member(org, 'admin', 'ADMIN');
    analyst = await member(org, 'analyst', 'ANALYST');
    viewer = await member(org, 'viewer', 'VIEWER');
  });

  it('an ADMIN may not invite or grant OWNER, nor change or remove an OWNER', async () => {
    expect(await fails(INVITE, { email: email('x'), role: 'OWNER' }, admin)).toMatchObject({
      code: 'FORBIDDEN',
      requiredRole: 'OWNER',
    });
    expect((await ok(INVITE, { email: email('peer'), role: 'ADMIN' }, admin)).invitation.role).toBe('ADMIN');
    expect(await fails(UPDATE_ROLE, { userId: analyst.user.id, role: 'OWNER' }, admin)).toMatchObject({
      code: 'FORBIDDEN',
      requiredRole: 'OWNER',
    });
    expect(await fails(UPDATE_ROLE, { userId: org.user.id, role: 'VIEWER' }, admin)).toMatchObject({
      code: 'FORBIDDEN',
      requiredRole: 'OWNER',
    });
    expect(await fails(REMOVE, { userId: org.user.id }, admin)).toMatchObject({
      code: 'FORBIDDEN',
      requiredRole: 'OWNER',
    });
    expect(await storedRole(org.user.id, org.organization.id)).toBe('OWNER');
    // Within their own rank an ADMIN may: promote an ANALYST to ADMIN and back.
    expect(await ok(UPDATE_ROLE, { userId: analyst.user.id, role: 'ADMIN' }, admin)).toEqual({
      role: 'ADMIN',
      user: { id: analyst.user.id },
      organization: { id: org.organization.id },
    });
    expect((await ok(UPDATE_ROLE, { userId: analyst.user.id, role: 'ANALYST' }, admin)).role).toBe('ANALYST');
  });

  it('the permission table refuses weaker roles before the resolver (FORBIDDEN naming the role)', async () => {
    expect(await fails(INVITE, { email: email('y'), role: 'VIEWER' }, analyst)).toMatchObject({
      code: 'FORBIDDEN',
      requiredRole: 'ADMIN',
    });
    expect(await fails(REMOVE, { userId: analyst.user.id }, viewer)).toMatchObject({
      code: 'FORBIDDEN',
      requiredRole: 'ADMIN',
    });
    expect((await ok(MEMBERS, {}, viewer)).edges).toHaveLength(4);
  });

  it('the last OWNER can be neither demoted, nor removed, nor leave', async () => {
    const last = await fails(UPDATE_ROLE, { userId: org.user.id, role: 'ADMIN' }, org);
    expect(last).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/last OWNER/) });
    expect((await fails(REMOVE, { userId: org.user.id }, org)).code).toBe('FORBIDDEN');
    expect((await fails(LEAVE, {}, org)).code).toBe('FORBIDDEN');
    expect(await storedRole(org.user.id, org.organization.id)).toBe('OWNER');

    // With a second OWNER the first may step down.
    await ok(UPDATE_ROLE, { userId: admin.user.id, role: 'OWNER' }, org);
    expect((await ok(UPDATE_ROLE, { userId: org.user.id, role: 'ADMIN' }, org)).role).toBe('ADMIN');
    expect(await count(`auth.memberships WHERE org_id = $1 AND role = 'OWNER'`, [org.organization.id])).toBe(1);
  });

  it('two OWNERs demoting each other at the same time leave exactly one OWNER', async () => {
    const o1 = await owner('duel');
    const o2 = await member(o1, 'duel2', 'OWNER');
    // Hold both membership rows so that both requests are inside their transactions before either goes on.
    const blocker = await env.pool.connect();
    let a, b;
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM auth.memberships WHERE org_id = $1 FOR SHARE`, [o1.organization.id]);
      const both = Promise.all([
        gql(url, UPDATE_ROLE, { userId: o2.user.id, role: 'ADMIN' }, o1.accessToken),
        gql(url, UPDATE_ROLE, { userId: o1.user.id, role: 'ADMIN' }, o2.accessToken),
      ]);
      const waiting = `pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      for (let i = 0; i < 200 && (await count(waiting)) < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await count(waiting)).toBe(2);
      await blocker.query('COMMIT');
      [a, b] = await both;
    } finally {
      blocker.release();
    }
    const codes = [a, b].map((r) => errorOf(r)?.code ?? 'OK').sort();
    expect(codes).toEqual(['FORBIDDEN', 'OK']);
    expect(await count(`auth.memberships WHERE org_id = $1 AND role = 'OWNER'`, [o1.organization.id])).toBe(1);
  });

  it('removeMember removes the member and revokes their sessions in the organization', async () => {
    const gone = await member(org, 'gone', 'VIEWER');
    expect(await ok(REMOVE, { userId: gone.user.id }, org)).toBe(true);
    expect(await storedRole(gone.user.id, org.organization.id)).toBeNull();
    expect(await count(`auth.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, [gone.user.id])).toBe(0);
    expect((await fails(REMOVE, { userId: gone.user.id }, org)).code).toBe('NOT_FOUND');
    expect(await fails(REMOVE, { userId: 'me' }, org)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
  });
});

describe('another organization sees NOT_FOUND for every id of the first', () => {
  it('revokeInvitation, updateMemberRole, removeMember, revokeApiKey, switchOrganization', async () => {
    const a = await owner('tenant-a');
    const m = await member(a, 'tenant-a-member', 'ANALYST');
    const inv = (await ok(INVITE, { email: email('tenant-a-invitee'), role: 'VIEWER' }, a)).invitation;
    const key = (await ok(CREATE_KEY, { name: 'etl', role: 'ANALYST' }, a)).apiKey;
    const b = await owner('tenant-b');
    const bAdmin = await member(b, 'tenant-b-admin', 'ADMIN');

    for (const caller of [b, bAdmin]) {
      expect((await fails(REVOKE_INVITATION, { id: inv.id }, caller)).code).toBe('NOT_FOUND');
      expect((await fails(UPDATE_ROLE, { userId: m.user.id, role: 'VIEWER' }, caller)).code).toBe('NOT_FOUND');
      expect((await fails(REMOVE, { userId: m.user.id }, caller)).code).toBe('NOT_FOUND');
      expect((await fails(REMOVE, { userId: a.user.id }, caller)).code).toBe('NOT_FOUND');
      expect((await fails(SWITCH, { orgId: a.organization.id }, caller)).code).toBe('NOT_FOUND');
    }
    expect((await fails(REVOKE_KEY, { id: key.id }, b)).code).toBe('NOT_FOUND');

    // Nothing of A changed, and B's lists hold B's rows only.
    expect(await storedRole(m.user.id, a.organization.id)).toBe('ANALYST');
    expect((await ok(INVITATIONS, {}, a)).edges.map((e: any) => [e.node.id, e.node.status])).toEqual([
      [inv.id, 'PENDING'],
    ]);
    expect((await ok(API_KEYS, {}, a)).edges.map((e: any) => [e.node.id, e.node.status])).toEqual([[key.id, 'ACTIVE']]);
    expect((await ok(MEMBERS, {}, b)).edges.map((e: any) => e.node.user.id)).toEqual([b.user.id, bAdmin.user.id]);
    expect((await ok(INVITATIONS, {}, b)).edges).toEqual([]);
    expect((await ok(API_KEYS, {}, b)).edges).toEqual([]);
  });
});

describe('API keys', () => {
  let org: Session;
  beforeAll(async () => {
    org = await owner('keys');
  });

  it('createApiKey answers a dp_live_ secret once, stored only as its SHA-256; apiKeys never shows it', async () => {
    const expiresAt = new Date(Date.now() + 30 * DAY_MS).toISOString();
    const out = await ok(CREATE_KEY, { name: '  nightly etl ', role: 'ANALYST', expiresAt }, org);
    expect(out.secret).toMatch(/^dp_live_[A-Za-z0-9_-]{43}$/);
    expect(out.apiKey).toMatchObject({
      name: 'nightly etl',
      role: 'ANALYST',
      status: 'ACTIVE',
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      createdBy: { id: org.user.id },
    });
    const row = (
      await env.pool.query(
        `SELECT secret_hash = sha256(convert_to($2, 'UTF8')) AS hashed, strpos(k::text, $2) AS clear, org_id
           FROM auth.api_keys k WHERE id = $1`,
        [out.apiKey.id, out.secret],
      )
    ).rows[0];
    expect(row).toEqual({ hashed: true, clear: 0, org_id: org.organization.id });
    const fields = await gql(url, `{ __type(name: "ApiKey") { fields { name } } }`);
    expect(fields.data!.__type.fields.map((f: any) => f.name).sort()).toEqual(
      ['createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role', 'status'].sort(),
    );
  });

  it('without expiresAt a key lives 90 days; bad names and expiries are BAD_USER_INPUT naming the field', async () => {
    const out = await ok(CREATE_KEY, { name: 'default', role: 'VIEWER' }, org);
    const ttl = Date.parse(out.apiKey.expiresAt) - Date.parse(out.apiKey.createdAt);
    expect(Math.abs(ttl - 90 * DAY_MS)).toBeLessThan(5_000);
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '   ' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ expiresAt: new Date(Date.now() - 1000).toISOString() }, 'expiresAt'],
      [{ expiresAt: new Date(Date.now() + 367 * DAY_MS).toISOString() }, 'expiresAt'],
    ];
    for (const [patch, field] of cases)
      expect(
        await fails(CREATE_KEY, { name: 'k', role: 'VIEWER', ...patch }, org),
        JSON.stringify(patch),
      ).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
      });
    // Malformed text is refused by the DateTime scalar while the variables are coerced: BAD_USER_INPUT naming the
    // variable (GraphQL's own message), before the resolver runs.
    for (const expiresAt of ['tomorrow', '2030-01-01', '2030-02-30T00:00:00Z'])
      expect(await fails(CREATE_KEY, { name: 'k', role: 'VIEWER', expiresAt }, org)).toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringMatching(
          /^Variable "\$expiresAt" got invalid value .*; Expected type "DateTime"\. DateTime must be /,
        ),
      });
  });

  it('exchangeApiKey signs a token for the creator with sid = the key id, and records the use once a minute', async () => {
    const { secret, apiKey } = await ok(CREATE_KEY, { name: 'exchange', role: 'ANALYST' }, org);
    const out = await ok(EXCHANGE, { key: secret });
    expect(out.role).toBe('ANALYST');
    const claims = decodeJwt(out.accessToken);
    expect(claims).toMatchObject({ sub: org.user.id, org: org.organization.id, sid: apiKey.id, role: 'ANALYST' });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(Date.parse(out.expiresAt)).toBe(claims.exp! * 1000);
    const verified = await createTokenVerifier({ jwks: env.server.jwksUrl }).verify(out.accessToken);
    expect(verified).toMatchObject({ userId: org.user.id, orgId: org.organization.id, sessionId: apiKey.id });

    const used = async () =>
      (
        await env.pool.query(
          `SELECT last_used_at, now() - last_used_at < interval '5 seconds' AS fresh FROM auth.api_keys WHERE id = $1`,
          [apiKey.id],
        )
      ).rows[0];
    const first = await used();
    expect(first.fresh).toBe(true);
    await ok(EXCHANGE, { key: secret });
    expect((await principal(base, out.accessToken)).body).toEqual({ active: true, role: 'ANALYST', via: 'apiKey' });
    expect((await used()).last_used_at).toEqual(first.last_used_at); // within the minute: not written again
    await env.pool.query(`UPDATE auth.api_keys SET last_used_at = now() - interval '61 seconds' WHERE id = $1`, [
      apiKey.id,
    ]);
    expect((await principal(base, out.accessToken)).body.active).toBe(true); // a check of its token is a use too
    expect((await used()).fresh).toBe(true);
    const listed = (await ok(API_KEYS, {}, org)).edges.find((e: any) => e.node.id === apiKey.id).node;
    expect(listed.lastUsedAt).not.toBeNull();
  });

  it("a key acts with the weaker of its role and its creator's current role", async () => {
    const boss = await owner('boss');
    const co = await member(boss, 'co-owner', 'OWNER');
    const { secret } = await ok(CREATE_KEY, { name: 'admin work', role: 'OWNER' }, co);
    const before = await ok(EXCHANGE, { key: secret });
    expect(before.role).toBe('OWNER');
    await ok(UPDATE_ROLE, { userId: co.user.id, role: 'VIEWER' }, boss);
    expect((await principal(base, before.accessToken)).body).toEqual({ active: true, role: 'VIEWER', via: 'apiKey' });
    expect((await ok(EXCHANGE, { key: secret })).role).toBe('VIEWER');
  });

  it('a token from an API key cannot create keys, switch, accept, leave or sign out; organizations shows its org only', async () => {
    const home = await owner('keyhome');
    const other = await owner('keyother');
    const { token } = await ok(INVITE, { email: home.user.email, role: 'VIEWER' }, other);
    await ok(ACCEPT, { token }, home); // home's user now belongs to both organizations
    const { secret } = await ok(CREATE_KEY, { name: 'k', role: 'OWNER' }, home);
    const keyToken = { accessToken: (await ok(EXCHANGE, { key: secret })).accessToken };
    expect((await fails(CREATE_KEY, { name: 'k2', role: 'VIEWER' }, keyToken)).code).toBe('FORBIDDEN');
    expect((await fails(SWITCH, { orgId: other.organization.id }, keyToken)).code).toBe('FORBIDDEN');
    expect((await fails(LEAVE, {}, keyToken)).code).toBe('FORBIDDEN');
    expect((await fails(SIGN_OUT, {}, keyToken)).code).toBe('FORBIDDEN');
    const { token: t2 } = await ok(INVITE, { email: home.user.email, role: 'VIEWER' }, await owner('keythird'));
    expect((await fails(ACCEPT, { token: t2 }, keyToken)).code).toBe('FORBIDDEN');
    expect((await ok(ORGANIZATIONS, {}, keyToken)).map((m: any) => m.organization.id)).toEqual([home.organization.id]);
    expect(await storedRole(home.user.id, home.organization.id)).toBe('OWNER');
  });

  it('a revoked or expired key cannot be exchanged, and its tokens stop being active', async () => {
    const { secret, apiKey } = await ok(CREATE_KEY, { name: 'revoke me', role: 'VIEWER' }, org);
    const token = (await ok(EXCHANGE, { key: secret })).accessToken;
    const revoked = await ok(REVOKE_KEY, { id: apiKey.id }, org);
    expect(revoked).toMatchObject({ id: apiKey.id, status: 'REVOKED' });
    expect((await ok(REVOKE_KEY, { id: apiKey.id }, org)).revokedAt).toBe(revoked.revokedAt); // first time kept
    expect(await fails(EXCHANGE, { key: secret })).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'The API key is invalid, expired or revoked.',
    });
    expect((await principal(base, token)).body).toEqual({ active: false });

    const late = await ok(CREATE_KEY, { name: 'expire me', role: 'VIEWER' }, org);
    await env.pool.query(
      `UPDATE auth.api_keys SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' WHERE id = $1`,
      [late.apiKey.id],
    );
    expect((await fails(EXCHANGE, { key: late.secret })).code).toBe('UNAUTHENTICATED');
    expect(
      (await ok(API_KEYS, { first: 100 }, org)).edges.find((e: any) => e.node.id === late.apiKey.id).node.status,
    ).toBe('EXPIRED');
    for (const key of [`dp_live_${'A'.repeat(43)}`, 'dp_live_short', ''])
      expect((await fails(EXCHANGE, { key })).code).toBe('UNAUTHENTICATED');
    expect((await fails(REVOKE_KEY, { id: '00000000-0000-4000-8000-000000000000' }, org)).code).toBe('NOT_FOUND');
  });

  it("removing a key's creator revokes the key", async () => {
    const boss = await owner('remover');
    const leaving = await member(boss, 'leaving', 'OWNER');
    const { secret, apiKey } = await ok(CREATE_KEY, { name: 'theirs', role: 'VIEWER' }, leaving);
    await ok(REMOVE, { userId: leaving.user.id }, boss);
    expect((await fails(EXCHANGE, { key: secret })).code).toBe('UNAUTHENTICATED');
    const listed = (await ok(API_KEYS, {}, boss)).edges.map((e: any) => e.node);
    expect(listed).toEqual([expect.objectContaining({ id: apiKey.id, status: 'REVOKED', createdBy: null })]);
  });
});

describe('GET /principal', () => {
  it('answers 401 with an error for a missing or bad token, never cached', async () => {
    for (const token of [undefined, 'abc.def.ghi']) {
      const r = await principal(base, token);
      expect(r.status).toBe(401);
      expect(typeof r.body.error).toBe('string');
      expect(r.cache).toBe('no-store');
    }
  });

  it('follows role changes and removal at once', async () => {
    const boss = await owner('p-boss');
    const m = await member(boss, 'p-member', 'VIEWER');
    expect(await principal(base, m.accessToken)).toEqual({
      status: 200,
      body: { active: true, role: 'VIEWER', via: 'session' },
      cache: 'no-store',
    });
    await ok(UPDATE_ROLE, { userId: m.user.id, role: 'ANALYST' }, boss);
    expect((await principal(base, m.accessToken)).body).toEqual({ active: true, role: 'ANALYST', via: 'session' });
    await ok(REMOVE, { userId: m.user.id }, boss);
    expect((await principal(base, m.accessToken)).body).toEqual({ active: false });
  });

  it('signOut ends that session only; a refresh keeps the session', async () => {
    const u = await owner('p-signout');
    const other: Session = await ok(LOGIN, { email: u.user.email, password: PASSWORD });
    // A login starts a session of its own: its sid is its refresh token's family, not the signup's.
    expect(decodeJwt(other.accessToken).sid).toBe(await familyOf(other.refreshToken));
    expect(decodeJwt(other.accessToken).sid).not.toBe(decodeJwt(u.accessToken).sid);
    const refreshed: Session = await ok(REFRESH, { t: u.refreshToken });
    expect(decodeJwt(refreshed.accessToken).sid).toBe(decodeJwt(u.accessToken).sid);
    expect((await principal(base, u.accessToken)).body.active).toBe(true); // the old access token, same session
    expect(await ok(SIGN_OUT, {}, refreshed)).toBe(true);
    expect((await principal(base, u.accessToken)).body).toEqual({ active: false });
    expect((await principal(base, refreshed.accessToken)).body).toEqual({ active: false });
    expect((await fails(REFRESH, { t: refreshed.refreshToken })).code).toBe('UNAUTHENTICATED');
    expect((await principal(base, other.accessToken)).body).toEqual({ active: true, role: 'OWNER', via: 'session' });
  });

  it('leaveOrganization ends the membership', async () => {
    const boss = await owner('p-leave');
    const m = await member(boss, 'p-leaver', 'ADMIN');
    expect(await ok(LEAVE, {}, m)).toBe(true);
    expect((await principal(base, m.accessToken)).body).toEqual({ active: false });
    expect(await storedRole(m.user.id, boss.organization.id)).toBeNull();
  });
});
