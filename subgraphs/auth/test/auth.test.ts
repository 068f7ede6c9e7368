// The auth subgraph against a real PostgreSQL (a fresh database for this file; see infra/postgres/testing.ts).
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createTokenVerifier, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@datapilot/common';
import { createAuthServer, ensureUser, verifyPassword, INVALID_CREDENTIALS } from '../src/index.ts';
import { gql, LOGIN, ME, REFRESH, SIGNUP, startAuth } from './helpers.ts';

let env: Awaited<ReturnType<typeof startAuth>>;
let url: string;

// Alice signs up with a mixed-case, padded email: stored and answered lower-cased and trimmed.
const ALICE = { email: '  Alice@Example.ORG ', password: 'correct horse battery', orgName: '  Acme Analytics ' };
const BOB = { email: 'bob@other.example', password: 'Another-Pass-42', orgName: 'Other Org' };
let alice: any;
let bob: any;

beforeAll(async () => {
  env = await startAuth();
  url = env.server.graphqlUrl;
  const a = await gql(url, SIGNUP, { input: ALICE });
  expect(a.errors).toBeUndefined();
  alice = a.data!.signup;
  const b = await gql(url, SIGNUP, { input: BOB });
  expect(b.errors).toBeUndefined();
  bob = b.data!.signup;
});

afterAll(async () => {
  await env?.stop();
});

describe('signup, login, me', () => {
  it('signup creates the user and an organization where the user is OWNER', async () => {
    expect(alice.user.email).toBe('alice@example.org');
    expect(alice.organization.name).toBe('Acme Analytics');
    expect(alice.role).toBe('OWNER');
    const rows = (
      await env.pool.query(
        `SELECT u.email, o.name, m.role FROM auth.memberships m
           JOIN auth.users u ON u.id = m.user_id JOIN auth.organizations o ON o.id = m.org_id
          WHERE u.id = $1`,
        [alice.user.id],
      )
    ).rows;
    expect(rows).toEqual([{ email: 'alice@example.org', name: 'Acme Analytics', role: 'OWNER' }]);
  });

  it('login (any case of the email) then me answers the same user, organization and role', async () => {
    const l = await gql(url, LOGIN, { email: 'ALICE@example.org', password: ALICE.password });
    expect(l.errors).toBeUndefined();
    expect(l.data!.login.user).toEqual({ id: alice.user.id, email: 'alice@example.org' });
    expect(l.data!.login.organization).toEqual({ id: alice.organization.id, name: 'Acme Analytics' });
    const me = await gql(url, ME, {}, l.data!.login.accessToken);
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toEqual({
      role: 'OWNER',
      user: { id: alice.user.id, email: 'alice@example.org' },
      organization: { id: alice.organization.id, name: 'Acme Analytics' },
    });
  });

  it('me without a token, or with a malformed one, is UNAUTHENTICATED', async () => {
    const none = await gql(url, ME);
    expect(none.data).toBeNull();
    expect(none.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    const bad = await gql(url, ME, {}, 'abc.def.ghi');
    expect(bad.status).toBe(401);
    expect(bad.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });
});

describe('access tokens', () => {
  it('verify against the served JWKS and carry sub, org, role, sid, iss, aud, iat and exp = iat + 900', async () => {
    const verifier = createTokenVerifier({ jwks: env.server.jwksUrl });
    const tenant = await verifier.verify(alice.accessToken);
    expect(tenant).toMatchObject({ userId: alice.user.id, orgId: alice.organization.id, role: 'OWNER' });
    const claims = decodeJwt(alice.accessToken);
    expect(claims.iss).toBe(TOKEN_ISSUER);
    expect(claims.aud).toBe(TOKEN_AUDIENCE);
    expect(claims.sub).toBe(alice.user.id);
    expect(claims.org).toBe(alice.organization.id);
    // sid: the session, i.e. the family of the refresh token issued with this access token.
    const family = await env.pool.query(
      `SELECT family_id FROM auth.refresh_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [alice.refreshToken],
    );
    expect(claims.sid).toBe(family.rows[0].family_id);
    expect(tenant.sessionId).toBe(claims.sid);
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(60);
    expect(new Date(alice.expiresAt).getTime()).toBe(claims.exp! * 1000);
    expect(tenant.expiresAtMs).toBe(claims.exp! * 1000);
    const header = decodeProtectedHeader(alice.accessToken);
    expect(header.alg).toBe('EdDSA');

    const jwks = (await (await fetch(env.server.jwksUrl)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).toHaveLength(1);
    const key = jwks.keys[0]!;
    expect(key.kid).toBe(header.kid);
    expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  });

  it('the signing key survives a restart and replicas agree on it', async () => {
    const kid = decodeProtectedHeader(alice.accessToken).kid;
    // A second server on the same database (a replica, or the next start) finds the stored key.
    const replicas = await Promise.all(
      [0, 1].map(() => createAuthServer({ pool: env.pool, port: 0, logger: createLogger('auth-test', 'warn') })),
    );
    try {
      for (const r of replicas) {
        const jwks = (await (await fetch(r.jwksUrl)).json()) as { keys: { kid: string }[] };
        expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
        const me = await gql(r.graphqlUrl, ME, {}, alice.accessToken);
        expect(me.data!.me.user.id).toBe(alice.user.id);
      }
      const count = (await env.pool.query('SELECT count(*)::int AS n FROM auth.signing_keys')).rows[0].n;
      expect(count).toBe(1);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('GET /health answers ok', async () => {
    const res = await fetch(`${env.server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});

describe('errors', () => {
  it('a duplicate email (in any case) is CONFLICT', async () => {
    const r = await gql(url, SIGNUP, { input: { ...ALICE, email: 'ALICE@EXAMPLE.ORG', orgName: 'Second' } });
    expect(r.errors![0]!.extensions!.code).toBe('CONFLICT');
    const orgs = (await env.pool.query(`SELECT count(*)::int AS n FROM auth.organizations WHERE name = 'Second'`))
      .rows[0].n;
    expect(orgs).toBe(0); // the transaction left nothing behind
  });

  it('weak passwords and bad emails are BAD_USER_INPUT naming the field', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ password: 'Short1!' }, 'password'], // 7 characters
      [{ password: 'aaaaaaaaaaaaaa' }, 'password'], // one class
      [{ password: '12345678901234' }, 'password'], // one class
      [{ email: 'not-an-email' }, 'email'],
      [{ email: 'a@b' }, 'email'],
      [{ orgName: '   ' }, 'orgName'],
    ];
    for (const [patch, field] of cases) {
      const r = await gql(url, SIGNUP, {
        input: { email: 'carol@example.org', password: 'Good-Pass-123', orgName: 'C', ...patch },
      });
      expect(r.errors![0]!.extensions, JSON.stringify(patch)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const n = (await env.pool.query(`SELECT count(*)::int AS n FROM auth.users WHERE email = 'carol@example.org'`))
      .rows[0].n;
    expect(n).toBe(0);
  });

  it('a wrong password and an unknown email give the identical error, after similar work', async () => {
    const time = async (email: string, password: string) => {
      const t0 = performance.now();
      const r = await gql(url, LOGIN, { email, password });
      return { r, ms: performance.now() - t0 };
    };
    const wrong = await time('alice@example.org', 'not the password 1');
    const unknown = await time('nobody@example.org', 'not the password 1');
    expect(wrong.r.errors).toEqual(unknown.r.errors);
    expect(wrong.r.errors).toEqual([
      {
        message: INVALID_CREDENTIALS,
        path: ['login'],
        locations: [{ line: 2, column: 3 }],
        extensions: { code: 'UNAUTHENTICATED' },
      },
    ]);
    expect(wrong.r.data).toBeNull();
    // Without the dummy hash an unknown email would answer in a couple of milliseconds instead of a scrypt's time.
    const again = await time('nobody2@example.org', 'x');
    expect(Math.min(unknown.ms, again.ms)).toBeGreaterThan(wrong.ms * 0.3);
  });
});

describe('refresh tokens', () => {
  it('rotate: the new pair works, the old token is revoked, and reusing it revokes the whole chain', async () => {
    const l = (await gql(url, LOGIN, { email: BOB.email, password: BOB.password })).data!.login;
    const first = await gql(url, REFRESH, { t: l.refreshToken });
    expect(first.errors).toBeUndefined();
    const r1 = first.data!.refreshToken;
    expect(r1.refreshToken).not.toBe(l.refreshToken);
    expect(r1.user).toEqual({ id: bob.user.id, email: BOB.email });
    expect(r1.organization).toEqual({ id: bob.organization.id, name: 'Other Org' });
    expect(r1.role).toBe('OWNER');
    expect((await gql(url, ME, {}, r1.accessToken)).data!.me.user.id).toBe(bob.user.id);

    // Reusing the old token: UNAUTHENTICATED, and the token issued from it dies too (reuse detection).
    const reuse = await gql(url, REFRESH, { t: l.refreshToken });
    expect(reuse.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    const after = await gql(url, REFRESH, { t: r1.refreshToken });
    expect(after.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');

    const unknown = await gql(url, REFRESH, { t: 'x'.repeat(43) });
    expect(unknown.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');

    // Only hashes are stored: the token string itself is nowhere in the table.
    const stored = await env.pool.query(
      `SELECT encode(token_hash, 'hex') AS h, revoked_at IS NOT NULL AS revoked FROM auth.refresh_tokens WHERE family_id =
         (SELECT family_id FROM auth.refresh_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8')))`,
      [l.refreshToken],
    );
    expect(stored.rows).toHaveLength(2);
    expect(stored.rows.every((r) => r.revoked)).toBe(true);
  });
});

describe('entities and tenant isolation', () => {
  const ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) {
    ... on Organization { id name } ... on User { id email } } }`;

  it("user B gets null for org A's Organization and user A; each gets their own", async () => {
    const reps = [
      { __typename: 'Organization', id: alice.organization.id },
      { __typename: 'Organization', id: bob.organization.id },
      { __typename: 'User', id: alice.user.id },
      { __typename: 'User', id: bob.user.id },
      { __typename: 'Organization', id: 'not-a-uuid' },
    ];
    const asBob = await gql(url, ENTITIES, { reps }, bob.accessToken);
    expect(asBob.errors).toBeUndefined();
    expect(asBob.data!._entities).toEqual([
      null,
      { id: bob.organization.id, name: 'Other Org' },
      null,
      { id: bob.user.id, email: BOB.email },
      null,
    ]);
    const asAlice = await gql(url, ENTITIES, { reps }, alice.accessToken);
    expect(asAlice.data!._entities).toEqual([
      { id: alice.organization.id, name: 'Acme Analytics' },
      null,
      { id: alice.user.id, email: 'alice@example.org' },
      null,
      null,
    ]);
  });

  it('entity references without a token are UNAUTHENTICATED', async () => {
    const r = await gql(url, ENTITIES, { reps: [{ __typename: 'Organization', id: alice.organization.id }] });
    expect(r.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(r.data?._entities ?? [null]).toEqual([null]);
  });
});

describe('password storage', () => {
  it('stores an scrypt hash (N=2^15, r=8, p=1, 16-byte salt, 32-byte key) that verifies the password', async () => {
    const { password_hash: hash } = (
      await env.pool.query('SELECT password_hash FROM auth.users WHERE id = $1', [alice.user.id])
    ).rows[0];
    expect(hash).not.toContain(ALICE.password);
    const [scheme, N, r, p, salt, key] = hash.split('$');
    expect([scheme, N, r, p]).toEqual(['scrypt', '32768', '8', '1']);
    expect(Buffer.from(salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(await verifyPassword(ALICE.password, hash)).toBe(true);
    expect(await verifyPassword(ALICE.password + ' ', hash)).toBe(false);
  });
});

describe('ensureUser', () => {
  it('creates the user once, returns the same ids again, and refuses another password', async () => {
    const input = { email: 'demo@example.com', password: 'correct-horse-battery-9', orgName: 'Demo Org' };
    const first = await ensureUser(env.pool, input);
    const second = await ensureUser(env.pool, input);
    expect(second).toEqual(first);
    const l = await gql(url, LOGIN, { email: input.email, password: input.password });
    expect(l.data!.login.user.id).toBe(first.userId);
    expect(l.data!.login.organization).toEqual({ id: first.orgId, name: 'Demo Org' });
    expect(l.data!.login.role).toBe('OWNER');
    await expect(ensureUser(env.pool, { ...input, password: 'another-password-1' })).rejects.toMatchObject({
      extensions: { code: 'CONFLICT' },
    });
    const users = (await env.pool.query(`SELECT count(*)::int AS n FROM auth.users WHERE email = $1`, [input.email]))
      .rows[0].n;
    expect(users).toBe(1);
  });
});
