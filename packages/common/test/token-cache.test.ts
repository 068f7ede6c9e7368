// The verified-token cache (context.ts createVerifiedTokenCache) against the real auth subgraph (its own PostgreSQL
// database and signing keys): a token is verified once and then reused, until its `exp` (plus the verifier's clock
// tolerance) or the cache's age bound; the least recently used token goes first beyond the size bound; and the cache
// never keeps a session alive — a signed-out session is refused at once while its token sits in the cache.
// Tokens with a chosen `exp` are signed here with the auth subgraph's current key, read from its table.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt, importJWK } from 'jose';
import { DEVELOPMENT_KEY_ENCRYPTION_KEY, openPrivateJwk } from '@datapilot/auth';
import {
  createAuthenticator,
  createPrincipalCheck,
  createTokenVerifier,
  createVerifiedTokenCache,
  PRINCIPAL_PATH,
  SESSION_ENDED,
  type TokenVerifier,
} from '@datapilot/common';
import { startAuth, SIGNUP, SIGN_OUT, gql } from '../../../subgraphs/auth/test/helpers.ts';

let auth: Awaited<ReturnType<typeof startAuth>>;
/** The claims of a real session (signup), to re-sign with another `exp`. */
let claims: { sub: string; org: string; role: string; sid: string };
let accessToken: string;

beforeAll(async () => {
  auth = await startAuth();
  const signup = await gql(auth.server.graphqlUrl, SIGNUP, {
    input: {
      email: `cache-${randomUUID().slice(0, 8)}@example.org`,
      password: 'a long enough password 2026',
      orgName: 'Cache Org',
    },
  });
  expect(signup.errors).toBeUndefined();
  accessToken = signup.data!.signup.accessToken;
  const c = decodeJwt(accessToken);
  claims = { sub: c.sub!, org: c.org as string, role: c.role as string, sid: c.sid as string };
}, 120_000);

afterAll(async () => {
  await auth?.stop();
});

/** The session's claims signed with the auth subgraph's current key, expiring at `exp` (epoch seconds). */
async function tokenExpiringAt(exp: number): Promise<string> {
  const row = (
    await auth.pool.query<{ kid: string; private_key_sealed: Buffer }>(
      `SELECT kid, private_key_sealed FROM auth.signing_keys WHERE activates_at <= now() ORDER BY activates_at DESC LIMIT 1`,
    )
  ).rows[0]!;
  const jwk = openPrivateJwk(Buffer.from(DEVELOPMENT_KEY_ENCRYPTION_KEY, 'base64'), row.kid, row.private_key_sealed);
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'EdDSA', kid: row.kid, typ: 'JWT' })
    .setIssuer('datapilot-auth')
    .setAudience('datapilot')
    .setSubject(sub)
    .setIssuedAt(exp - 900)
    .setExpirationTime(exp)
    .sign(await importJWK(jwk, 'EdDSA'));
}

/** The auth subgraph's JWKS verifier, counting the tokens it is asked to verify. */
function countingVerifier(clockToleranceSec?: number): TokenVerifier & { calls: string[] } {
  const inner = createTokenVerifier({ jwks: auth.server.jwksUrl, clockToleranceSec });
  const calls: string[] = [];
  return {
    calls,
    clockToleranceSec: inner.clockToleranceSec,
    verify: (token) => {
      calls.push(token);
      return inner.verify(token);
    },
  };
}

const now = () => Math.floor(Date.now() / 1000);

describe('verified-token cache', () => {
  it('verifies a token once and answers the same tenant from the cache after that', async () => {
    const inner = countingVerifier();
    const cache = createVerifiedTokenCache(inner);
    const first = await cache.verify(accessToken);
    const again = await Promise.all([cache.verify(accessToken), cache.verify(accessToken)]);
    expect(inner.calls.length).toBe(1);
    expect(again).toEqual([first, first]);
    expect([first.userId, first.orgId, first.sessionId, first.role]).toEqual([
      claims.sub,
      claims.org,
      claims.sid,
      claims.role,
    ]);
    expect(cache.size).toBe(1);
  });

  it('concurrent first verifications of one token share one call', async () => {
    const inner = countingVerifier();
    const cache = createVerifiedTokenCache(inner);
    await Promise.all([cache.verify(accessToken), cache.verify(accessToken), cache.verify(accessToken)]);
    expect(inner.calls.length).toBe(1);
  });

  it('stops answering from the cache at exp + clock tolerance: the token is verified again and refused as expired', async () => {
    // No clock tolerance: the verifier refuses from exp on; the cache must stop at the same instant.
    const inner = countingVerifier(0);
    const cache = createVerifiedTokenCache(inner);
    const exp = now() + 2;
    const token = await tokenExpiringAt(exp);
    expect((await cache.verify(token)).expiresAtMs).toBe(exp * 1000);
    expect((await cache.verify(token)).userId).toBe(claims.sub);
    expect(inner.calls.length).toBe(1);
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
    await expect(cache.verify(token)).rejects.toMatchObject({
      message: 'The access token has expired.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(inner.calls.length).toBe(2);
    // A refusal is not cached: the next call asks the verifier again.
    await expect(cache.verify(token)).rejects.toMatchObject({ message: 'The access token has expired.' });
    expect(inner.calls.length).toBe(3);
    expect(cache.size).toBe(0);
  }, 15_000);

  it('keeps an entry at most maxAgeMs after it was verified (the JWKS lifetime by default)', async () => {
    const inner = countingVerifier();
    let clock = Date.now();
    const cache = createVerifiedTokenCache(inner, { maxAgeMs: 1_000, now: () => clock });
    await cache.verify(accessToken);
    clock += 999;
    await cache.verify(accessToken);
    expect(inner.calls.length).toBe(1);
    clock += 1; // 1 000 ms after the verification: verified again
    await cache.verify(accessToken);
    expect(inner.calls.length).toBe(2);
  });

  it('holds at most `max` tokens, evicting the least recently used', async () => {
    const inner = countingVerifier();
    const cache = createVerifiedTokenCache(inner, { max: 3 });
    // Four distinct valid tokens of the session (distinct exp → distinct signature and string).
    const base = now() + 600;
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map((i) => tokenExpiringAt(base + i)));
    await cache.verify(a!);
    await cache.verify(b!);
    await cache.verify(c!);
    await cache.verify(a!); // a is now the most recently used; b the least
    expect(inner.calls.length).toBe(3);
    await cache.verify(d!); // evicts b
    expect(cache.size).toBe(3);
    await cache.verify(a!);
    await cache.verify(c!);
    await cache.verify(d!);
    expect(inner.calls.length).toBe(4);
    await cache.verify(b!); // evicted: verified again (and evicts a, now the least recently used)
    expect(inner.calls).toEqual([a, b, c, d, b]);
    expect(cache.size).toBe(3);
  });

  it('a refused token is never cached', async () => {
    const inner = countingVerifier();
    const cache = createVerifiedTokenCache(inner);
    const forged = `${accessToken.slice(0, accessToken.lastIndexOf('.'))}.${'A'.repeat(86)}`;
    for (let i = 0; i < 2; i++)
      await expect(cache.verify(forged)).rejects.toMatchObject({ message: 'The access token is invalid.' });
    expect([inner.calls.length, cache.size]).toEqual([2, 0]);
  });
});

describe('the authenticator with the cache keeps ended sessions refused', () => {
  it('a signed-out session is refused while its token is still in the verified-token cache', async () => {
    // A session of its own (signup), so that signing it out does not affect the other tests.
    const signup = await gql(auth.server.graphqlUrl, SIGNUP, {
      input: {
        email: `out-${randomUUID().slice(0, 8)}@example.org`,
        password: 'a long enough password 2026',
        orgName: 'Out Org',
      },
    });
    const token = signup.data!.signup.accessToken as string;
    const inner = countingVerifier();
    // As createServiceAuthenticator builds it, with the principal answer not reused (ttl 0) so that the refusal is
    // immediate; with the default 10 s it is refused within PRINCIPAL_TTL_MS, as before the cache.
    const authenticator = createAuthenticator({
      verifier: inner,
      principal: createPrincipalCheck({ url: new URL(PRINCIPAL_PATH, auth.server.jwksUrl).toString(), ttlMs: 0 }),
    });
    const tenant = await authenticator.fromAuthorization(`Bearer ${token}`);
    expect(tenant?.orgId).toBe(decodeJwt(token).org);
    expect(await authenticator.stillActive(tenant!)).toBe(true);
    const out = await gql(auth.server.graphqlUrl, SIGN_OUT, {}, token);
    expect(out.data?.signOut).toBe(true);
    await expect(authenticator.fromAuthorization(`Bearer ${token}`)).rejects.toMatchObject({
      message: SESSION_ENDED,
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(await authenticator.stillActive(tenant!)).toBe(false);
    // The signature was checked once: the refusal came from the session check, not from verifying again.
    expect(inner.calls.length).toBe(1);
  });
});
