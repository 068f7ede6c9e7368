/**
 * Issue 6's second wall in the auth schema (migrations/005_rls.sql), on real PostgreSQL, statement by statement as
 * the runtime role datapilot_auth: what each scope (org, user, presented secret) admits, and that a statement which
 * forgets its filter sees and changes only that. Rows are written with the superuser's pool (no policy binds it), so
 * what each scope should see is known here.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRuntimeRole, inTenantTransaction, type DbScope } from '@datapilot/common';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { migrateAuthSchema } from '../src/server.ts';

const TENANT_TABLES = ['api_keys', 'invitations', 'memberships', 'organizations', 'refresh_tokens'];
const sha = (s: string) => createHash('sha256').update(s).digest();

let db: TestDatabase;
let su: pg.Pool;
let runtime: pg.Pool;
/** Ids of the seeded rows. */
const A = randomUUID();
const B = randomUUID();
const u1 = randomUUID(); // OWNER of A, VIEWER of B
const u2 = randomUUID(); // ANALYST of A
const u3 = randomUUID(); // OWNER of B
const rt: Record<string, { id: string; secret: string }> = {};
const inv: Record<string, { id: string; secret: string }> = {};
const key: Record<string, { id: string; secret: string }> = {};

beforeAll(async () => {
  db = await startTestDatabase();
  su = new pg.Pool({ connectionString: db.url, max: 2 });
  await migrateAuthSchema(su);
  runtime = new pg.Pool({ connectionString: await db.urlAs('datapilot_auth'), max: 4 });
  for (const [id, email] of [
    [u1, 'u1@example.org'],
    [u2, 'u2@example.org'],
    [u3, 'u3@example.org'],
  ])
    await su.query(`INSERT INTO auth.users (id, email, password_hash) VALUES ($1, $2, 'scrypt$x')`, [id, email]);
  await su.query(`INSERT INTO auth.organizations (id, name) VALUES ($1, 'A'), ($2, 'B')`, [A, B]);
  for (const [user, org, role] of [
    [u1, A, 'OWNER'],
    [u1, B, 'VIEWER'],
    [u2, A, 'ANALYST'],
    [u3, B, 'OWNER'],
  ])
    await su.query(`INSERT INTO auth.memberships (user_id, org_id, role) VALUES ($1, $2, $3)`, [user, org, role]);
  for (const [name, user, org] of [
    ['u1A', u1, A],
    ['u2A', u2, A],
    ['u3B', u3, B],
  ] as const) {
    const secret = randomBytes(32).toString('base64url');
    const r = await su.query(
      `INSERT INTO auth.refresh_tokens (family_id, user_id, org_id, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + interval '1 day') RETURNING id`,
      [randomUUID(), user, org, sha(secret)],
    );
    rt[name] = { id: r.rows[0].id, secret };
  }
  for (const [org, by] of [
    [A, u1],
    [B, u3],
  ]) {
    const secret = `dp_inv_${randomBytes(32).toString('base64url')}`;
    const r = await su.query(
      `INSERT INTO auth.invitations (org_id, email, role, invited_by, token_hash, expires_at)
       VALUES ($1, 'new@example.org', 'VIEWER', $2, $3, now() + interval '7 days') RETURNING id`,
      [org, by, sha(secret)],
    );
    inv[org === A ? 'A' : 'B'] = { id: r.rows[0].id, secret };
    const ksecret = `dp_live_${randomBytes(32).toString('base64url')}`;
    const k = await su.query(
      `INSERT INTO auth.api_keys (org_id, created_by, name, role, secret_hash, expires_at)
       VALUES ($1, $2, 'pipeline', 'ANALYST', $3, now() + interval '30 days') RETURNING id`,
      [org, by, sha(ksecret)],
    );
    key[org === A ? 'A' : 'B'] = { id: k.rows[0].id, secret: ksecret };
  }
}, 120_000);

afterAll(async () => {
  await runtime?.end();
  await su?.end();
  await db?.close();
});

/** What `scope` lets a statement without any WHERE clause see, per tenant table (sorted keys). */
async function visible(scope: DbScope) {
  return inTenantTransaction(runtime, scope, async (c) => {
    const q = async (sql: string) => (await c.query(sql)).rows.map((r) => Object.values(r).join('/')).sort();
    return {
      organizations: await q('SELECT id FROM auth.organizations'),
      memberships: await q('SELECT user_id, org_id FROM auth.memberships'),
      refresh_tokens: await q('SELECT id FROM auth.refresh_tokens'),
      invitations: await q('SELECT id FROM auth.invitations'),
      api_keys: await q('SELECT id FROM auth.api_keys'),
    };
  });
}
const none = { organizations: [], memberships: [], refresh_tokens: [], invitations: [], api_keys: [] };
const sqlState = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? String(e),
  );

describe('auth under row-level security (runtime role datapilot_auth)', () => {
  it('every tenant table has ENABLE and FORCE row level security and policies; the others none', async () => {
    const { rows } = await su.query<{ relname: string; on: boolean; forced: boolean; policies: number }>(
      `SELECT c.relname, c.relrowsecurity AS on, c.relforcerowsecurity AS forced,
         (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'auth' AND c.relkind IN ('r', 'p') ORDER BY 1`,
    );
    const tenant = rows.filter((r) => r.on);
    expect(tenant.map((r) => r.relname)).toEqual(TENANT_TABLES);
    expect(tenant.every((r) => r.forced && r.policies === 4)).toBe(true);
    // Tables without an org: the global account, login throttling, the service's keys, the migration ledger.
    expect(rows.filter((r) => !r.on).map((r) => r.relname)).toEqual([
      'login_failures',
      'schema_migrations',
      'signing_keys',
      'users',
    ]);
  });

  it('without a setting a statement sees no tenant row', async () => {
    expect(await visible({})).toEqual(none);
    const plain = await runtime.query(
      `SELECT ${TENANT_TABLES.map((t) => `(SELECT count(*) FROM auth.${t})::int AS ${t}`).join(', ')}`,
    );
    expect(plain.rows).toEqual([Object.fromEntries(TENANT_TABLES.map((t) => [t, 0]))]);
  });

  it('an org scope: a statement that forgets the org filter sees only that org', async () => {
    expect(await visible({ orgId: A })).toEqual({
      organizations: [A],
      memberships: [`${u1}/${A}`, `${u2}/${A}`].sort(),
      refresh_tokens: [rt.u1A!.id, rt.u2A!.id].sort(),
      invitations: [inv.A!.id],
      api_keys: [key.A!.id],
    });
  });

  it('a user scope (after the password check): the user’s own memberships, organizations and sessions only', async () => {
    expect(await visible({ userId: u1 })).toEqual({
      organizations: [A, B].sort(),
      memberships: [`${u1}/${A}`, `${u1}/${B}`].sort(),
      refresh_tokens: [rt.u1A!.id],
      invitations: [],
      api_keys: [],
    });
  });

  it('a presented secret: exactly the row stored with its hash, lockable, before its org is known', async () => {
    expect(await visible({ secretHash: sha(rt.u3B!.secret) })).toEqual({ ...none, refresh_tokens: [rt.u3B!.id] });
    expect(await visible({ secretHash: sha(key.B!.secret) })).toEqual({ ...none, api_keys: [key.B!.id] });
    expect(await visible({ secretHash: sha(inv.B!.secret) })).toEqual({ ...none, invitations: [inv.B!.id] });
    expect(await visible({ secretHash: sha('not a secret anyone holds') })).toEqual(none);
    const locked = await inTenantTransaction(runtime, { secretHash: sha(rt.u3B!.secret) }, (c) =>
      c.query('SELECT id FROM auth.refresh_tokens FOR UPDATE'),
    );
    expect(locked.rows).toEqual([{ id: rt.u3B!.id }]);
  });

  it('writes stay in the org: reading across orgs never means changing them', async () => {
    // u1's scope in A also reads u1's membership of B, but an UPDATE or DELETE without a filter reaches A only.
    const changed = await inTenantTransaction(runtime, { orgId: A, userId: u1 }, async (c) => ({
      updated: (await c.query(`UPDATE auth.memberships SET role = role`)).rowCount,
      deleted: (await c.query(`DELETE FROM auth.invitations WHERE email = 'new@example.org'`)).rowCount,
    }));
    expect(changed).toEqual({ updated: 2, deleted: 1 });
    const left = await su.query(`SELECT org_id FROM auth.invitations ORDER BY org_id`);
    expect(left.rows).toEqual([{ org_id: B }]);
    // WITH CHECK: nothing is written into another org, nor a session without its user.
    const attempts = {
      membership: sqlState(
        inTenantTransaction(runtime, { orgId: A, userId: u1 }, (c) =>
          c.query(`INSERT INTO auth.memberships (user_id, org_id, role) VALUES ($1, $2, 'OWNER')`, [u2, B]),
        ),
      ),
      session: sqlState(
        inTenantTransaction(runtime, { orgId: A }, (c) =>
          c.query(
            `INSERT INTO auth.refresh_tokens (family_id, user_id, org_id, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, now() + interval '1 day')`,
            [randomUUID(), u2, A, randomBytes(32)],
          ),
        ),
      ),
      move: sqlState(
        inTenantTransaction(runtime, { orgId: A }, (c) => c.query(`UPDATE auth.api_keys SET org_id = $1`, [B])),
      ),
    };
    expect(await Promise.all(Object.values(attempts))).toEqual(['42501', '42501', '42501']);
  });

  it('the runtime role cannot lift the wall', async () => {
    const attempts = [
      'ALTER TABLE auth.memberships DISABLE ROW LEVEL SECURITY',
      'ALTER TABLE auth.api_keys NO FORCE ROW LEVEL SECURITY',
      'DROP POLICY org_read ON auth.refresh_tokens',
      'CREATE POLICY everything ON auth.invitations USING (true)',
      `SET ROLE ${new URL(db.url).username}`, // the superuser
      `CREATE OR REPLACE FUNCTION auth.current_org_id() RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$`,
    ];
    const states = [];
    for (const sql of attempts) states.push(await sqlState(runtime.query(sql)));
    expect(states).toEqual(attempts.map(() => '42501'));
    await expect(assertRuntimeRole(runtime)).resolves.toBe('datapilot_auth');
  });
});
