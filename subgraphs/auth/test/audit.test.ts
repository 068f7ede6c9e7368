// The audit log (issue 6, section 5) through the running auth subgraph on a real PostgreSQL: each security-relevant
// flow leaves one event with who, what and from where; `auditEvents` pages them newest first for OWNER and ADMIN;
// another organization sees none of them, and the runtime role can neither rewrite nor read across organizations.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_KEY, errorOf, gql, INVITE, REVOKE_KEY, SIGNUP, startAuth, UPDATE_ROLE } from './helpers.ts';

let env: Awaited<ReturnType<typeof startAuth>>;
let url: string;
const PASSWORD = 'Audit-Password-2026';

const AUDIT = `query($first: Int, $after: String) { auditEvents(first: $first, after: $after) {
  edges { cursor node { action actorCredential targetType targetId detail clientAddress userAgent requestId
    actor { id email } actorUserId } }
  pageInfo { hasNextPage endCursor } } }`;

async function call(query: string, variables: Record<string, unknown>, token?: string, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'audit-test/1.0',
      'x-request-id': 'req-audit-1',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: any[] };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return Object.values(body.data)[0] as any;
}

beforeAll(async () => {
  env = await startAuth();
  url = env.server.graphqlUrl;
});
afterAll(async () => env?.stop());

describe('the audit log', () => {
  let owner: any;
  let analyst: any;

  beforeAll(async () => {
    owner = await call(SIGNUP, { input: { email: 'boss@audit.example', password: PASSWORD, orgName: 'Audit Org' } });
    const { token } = await call(INVITE, { email: 'ana@audit.example', role: 'VIEWER' }, owner.accessToken, {
      'x-forwarded-for': '203.0.113.7',
    });
    analyst = await call(SIGNUP, {
      input: { email: 'ana@audit.example', password: PASSWORD, invitationToken: token },
    });
    await call(UPDATE_ROLE, { userId: analyst.user.id, role: 'ANALYST' }, owner.accessToken);
    const key = await call(CREATE_KEY, { name: 'nightly', role: 'ANALYST' }, owner.accessToken);
    await call(REVOKE_KEY, { id: key.apiKey.id }, owner.accessToken);
  });

  it('records each flow once, newest first, with who, what and from where', async () => {
    const page = await call(AUDIT, { first: 100 }, owner.accessToken);
    const events = page.edges.map((e: any) => e.node);
    expect(events.map((e: any) => e.action)).toEqual([
      'api_key.revoke',
      'api_key.create',
      'member.role_change',
      'session.sign_in',
      'invitation.accept',
      'invitation.create',
      'session.sign_in',
      'organization.create',
    ]);
    const [revoke, create, change, , accept, invite] = events;
    expect(change).toMatchObject({
      actor: { id: owner.user.id, email: 'boss@audit.example' },
      actorCredential: 'SESSION',
      targetType: 'User',
      targetId: analyst.user.id,
      userAgent: 'audit-test/1.0',
      requestId: 'req-audit-1',
    });
    expect(JSON.parse(change.detail)).toEqual({ from: 'VIEWER', to: 'ANALYST' });
    expect(JSON.parse(create.detail)).toMatchObject({ name: 'nightly', role: 'ANALYST' });
    expect(revoke.targetId).toBe(create.targetId);
    expect(accept).toMatchObject({ actorUserId: analyst.user.id, targetId: analyst.user.id });
    // The subgraph trusts the X-Forwarded-For the gateway sets; without one it records the socket's peer.
    expect(invite.clientAddress).toBe('203.0.113.7');
    expect(JSON.parse(invite.detail)).toEqual({ email: 'ana@audit.example', role: 'VIEWER' });
    expect(['127.0.0.1', '::ffff:127.0.0.1']).toContain(change.clientAddress);
    // Never a secret: no invitation token or API key in any detail.
    expect(JSON.stringify(events)).not.toMatch(/dp_(inv|live)_/);
  });

  it('pages with cursors, and answers FORBIDDEN to an ANALYST', async () => {
    const first = await call(AUDIT, { first: 3 }, owner.accessToken);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = await call(AUDIT, { first: 3, after: first.pageInfo.endCursor }, owner.accessToken);
    expect(next.edges.map((e: any) => e.node.action)).toEqual([
      'session.sign_in',
      'invitation.accept',
      'invitation.create',
    ]);
    const refused = await gql(url, AUDIT, {}, analyst.accessToken);
    expect(errorOf(refused)).toMatchObject({ code: 'FORBIDDEN', requiredRole: 'ADMIN' });
  });

  it('another organization sees only its own events', async () => {
    const other = await call(SIGNUP, {
      input: { email: 'eve@other.example', password: PASSWORD, orgName: 'Other Org' },
    });
    const page = await call(AUDIT, {}, other.accessToken);
    expect(page.edges.map((e: any) => e.node.action)).toEqual(['session.sign_in', 'organization.create']);
  });

  it('the runtime role cannot change an event or read one without its organization set', async () => {
    const db = new pg.Client({ connectionString: await env.db.urlAs('datapilot_auth') });
    await db.connect();
    try {
      expect((await db.query('SELECT count(*)::int AS n FROM audit.events')).rows[0].n).toBe(0);
      await expect(db.query(`UPDATE audit.events SET action = 'x.y'`)).rejects.toMatchObject({ code: '42501' });
      await expect(db.query('DELETE FROM audit.events')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await db.end();
    }
    // 8 + 2 events in all, as the superuser counts them.
    expect((await env.pool.query('SELECT count(*)::int AS n FROM audit.events')).rows[0].n).toBe(10);
  });
});
