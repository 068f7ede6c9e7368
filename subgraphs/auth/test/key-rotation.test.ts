// Signing-key rotation without downtime (src/keys.ts), against a real PostgreSQL and real auth servers: two replicas
// on one database sign while a verifier of another service (createTokenVerifier over the JWKS URL, as chat, lake,
// graph and the gateway use it) checks every token. Timing constants are short on purpose; the rules are the same.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  createTokenVerifier,
  JWKS_REFETCH_COOLDOWN_MS,
  TOKEN_AUDIENCE,
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  TOKEN_ISSUER,
} from '@datapilot/common';
import {
  createAuthServer,
  DEVELOPMENT_KEY_ENCRYPTION_KEY,
  scheduleKeyRotation,
  type AuthServer,
} from '../src/index.ts';
import { gql, LOGIN, REFRESH, SIGNUP, startAuth } from './helpers.ts';
import { freePort } from '../../../infra/net.ts';

const TTL_S = 4; // access-token lifetime
const LEAD_S = 6; // publish lead: longer than the verifier's refetch cooldown (5 s), as the default (600 s) is
const KEK = Buffer.from(DEVELOPMENT_KEY_ENCRYPTION_KEY, 'base64');
const ME = `{ me { user { id } } }`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JWKS endpoint in front of `target` that counts the fetches it forwards (what a verifier costs the issuer). */
async function countingJwksProxy(target: string): Promise<{ url: string; fetches: () => number; close(): void }> {
  let n = 0;
  const server: Server = createServer(async (_req, res) => {
    n++;
    const upstream = await fetch(target);
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(await upstream.text());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    fetches: () => n,
    close: () => server.close(),
  };
}

const kidsOf = async (jwksUrl: string) =>
  ((await (await fetch(jwksUrl)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

describe('rotation while requests flow', () => {
  let env: Awaited<ReturnType<typeof startAuth>>;
  let replicas: AuthServer[];
  const user = { email: 'rotate@example.org', password: 'rotation-pass-2026', orgName: 'Rotation Org' };

  beforeAll(async () => {
    const opts = { accessTokenTtlSeconds: TTL_S, keyPublishLeadSeconds: LEAD_S, keyCheckIntervalMs: 500 };
    env = await startAuth(opts);
    const second = await createAuthServer({
      pool: env.pool,
      port: 0,
      logger: createLogger('auth-test', 'warn'),
      ...opts,
    });
    replicas = [env.server, second];
    expect((await gql(env.server.graphqlUrl, SIGNUP, { input: user })).errors).toBeUndefined();
  });
  afterAll(async () => {
    await replicas?.[1]?.close();
    await env?.stop();
  });

  it('fails no request; the new key is published a lead before it signs; the old one stays until its tokens expire', async () => {
    const proxy = await countingJwksProxy(env.server.jwksUrl);
    const verifier = createTokenVerifier({ jwks: proxy.url });
    type Issued = { kid: string; exp: number; token: string; replica: number; startedAt: number; receivedAt: number };
    const issued: Issued[] = [];
    const failures: string[] = [];
    let requests = 0;
    let stopAt = Number.POSITIVE_INFINITY;

    // Four clients, each its own session: refresh (alternating replicas), verify in "another service", `me` on the
    // other replica. Every step counts as one request; any error is a failure.
    const client = async (i: number) => {
      const login = await gql(replicas[i % 2]!.graphqlUrl, LOGIN, { email: user.email, password: user.password });
      requests++;
      if (login.errors) return void failures.push(`login: ${login.errors[0]!.message}`);
      let refreshToken: string = login.data!.login.refreshToken;
      for (let n = i; Date.now() < stopAt; n++) {
        const replica = n % 2;
        const startedAt = Date.now();
        const r = await gql(replicas[replica]!.graphqlUrl, REFRESH, { t: refreshToken });
        requests++;
        if (r.errors) return void failures.push(`refresh: ${r.errors[0]!.message}`);
        const token: string = r.data!.refreshToken.accessToken;
        refreshToken = r.data!.refreshToken.refreshToken;
        const kid = decodeProtectedHeader(token).kid!;
        issued.push({ kid, exp: decodeJwt(token).exp!, token, replica, startedAt, receivedAt: Date.now() });
        requests++;
        await verifier.verify(token).catch((e: Error) => failures.push(`verify ${kid}: ${e.message}`));
        const me = await gql(replicas[1 - replica]!.graphqlUrl, ME, {}, token);
        requests++;
        if (me.errors) failures.push(`me ${kid}: ${me.errors[0]!.message}`);
      }
    };
    const t0 = Date.now();
    const running = Promise.all([0, 1, 2, 3].map(client));

    await sleep(2_000);
    const [oldKid] = await kidsOf(env.server.jwksUrl);
    const scheduledAt = Date.now();
    const rotation = await scheduleKeyRotation(env.pool, { encryptionKey: KEK, publishLeadSeconds: LEAD_S });
    const publishedBy = Date.now();
    // Published at once, by every replica (they read the same table), before it signs.
    for (const r of replicas) expect(await kidsOf(r.jwksUrl)).toEqual([rotation.kid, oldKid]);
    const activatesAt = rotation.activatesAt.getTime();
    expect(rotation.created).toBe(true);
    expect(activatesAt - scheduledAt).toBeGreaterThanOrEqual(LEAD_S * 1000 - 100);

    // Just before the last old token stops verifying (its exp + clock tolerance), a verifier that fetches the JWKS
    // afresh still verifies it: the old key is still published.
    await sleep(activatesAt - Date.now() + 500);
    const oldTokens = issued.filter((t) => t.kid === oldKid);
    const lastOld = oldTokens.reduce((a, b) => (b.exp > a.exp ? b : a));
    const verifyDeadline = (lastOld.exp + TOKEN_CLOCK_TOLERANCE_SECONDS) * 1000;
    await sleep(verifyDeadline - 1_000 - Date.now());
    expect(await kidsOf(env.server.jwksUrl)).toContain(oldKid);
    const lateCheck = await createTokenVerifier({ jwks: env.server.jwksUrl }).verify(lastOld.token);
    expect(lateCheck.expiresAtMs).toBe(lastOld.exp * 1000);

    // Dropped once every token it signed has expired: activatesAt (its retirement) + TTL + tolerance.
    const dropAt = activatesAt + (TTL_S + TOKEN_CLOCK_TOLERANCE_SECONDS) * 1000;
    await sleep(dropAt + 1_000 - Date.now());
    stopAt = Date.now();
    await running;
    expect(await kidsOf(env.server.jwksUrl)).toEqual([rotation.kid]);
    expect(await kidsOf(replicas[1]!.jwksUrl)).toEqual([rotation.kid]);

    const newTokens = issued.filter((t) => t.kid === rotation.kid);
    const firstNew = newTokens.reduce((a, b) => (b.startedAt < a.startedAt ? b : a));
    console.log(
      `rotation under load: ${requests} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s, ` +
        `${failures.length} failed; ${oldTokens.length} tokens with the old kid, ${newTokens.length} with the new; ` +
        `new kid published ${firstNew.startedAt - publishedBy} ms before the first token it signed was asked for; ` +
        `verifier JWKS fetches ${proxy.fetches()}`,
    );
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    expect(issued.filter((t) => t.kid !== oldKid && t.kid !== rotation.kid)).toEqual([]);
    // No token with the new kid before it was published for the lead; none with the old kid after the switch.
    expect(firstNew.startedAt - publishedBy).toBeGreaterThanOrEqual(LEAD_S * 1000 - 500);
    for (const t of newTokens) expect(t.receivedAt).toBeGreaterThanOrEqual(activatesAt);
    for (const t of oldTokens) expect(t.startedAt).toBeLessThan(activatesAt + 100);
    // Both replicas switched by themselves, without being told.
    expect(new Set(newTokens.map((t) => t.replica))).toEqual(new Set([0, 1]));
    // The verifier fetched the JWKS twice: at its first token, then at the first token with the unknown new kid.
    expect(proxy.fetches()).toBe(2);
    proxy.close();
  }, 90_000);
});

describe('verifiers: an unknown kid refetches the JWKS, at most once per cooldown', () => {
  let env: Awaited<ReturnType<typeof startAuth>>;
  beforeAll(async () => {
    env = await startAuth();
  });
  afterAll(async () => {
    await env?.stop();
  });

  /** A well-formed token signed by a key the auth subgraph never had, under a made-up kid. */
  async function foreignToken(kid: string) {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    return new SignJWT({ org: crypto.randomUUID(), role: 'OWNER', sid: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  }

  it('fetches once for a known kid, not again within 5 s for unknown ones, again after', async () => {
    expect(JWKS_REFETCH_COOLDOWN_MS).toBe(5_000);
    const proxy = await countingJwksProxy(env.server.jwksUrl);
    const verifier = createTokenVerifier({ jwks: proxy.url });
    const signup = await gql(env.server.graphqlUrl, SIGNUP, {
      input: { email: 'cool@example.org', password: 'cooldown-pass-2026', orgName: 'Cool Org' },
    });
    await verifier.verify(signup.data!.signup.accessToken);
    expect(proxy.fetches()).toBe(1);
    const fetchedAt = Date.now();
    // Unknown kids within the cooldown: refused without a fetch (a flood of made-up kids costs nothing upstream).
    for (const kid of ['made-up-1', 'made-up-2', 'made-up-3'])
      await expect(verifier.verify(await foreignToken(kid))).rejects.toMatchObject({
        extensions: { code: 'UNAUTHENTICATED' },
      });
    expect(Date.now() - fetchedAt).toBeLessThan(JWKS_REFETCH_COOLDOWN_MS);
    expect(proxy.fetches()).toBe(1);
    // After the cooldown an unknown kid fetches once more (still refused: the key is not the issuer's).
    await sleep(fetchedAt + JWKS_REFETCH_COOLDOWN_MS + 200 - Date.now());
    await expect(verifier.verify(await foreignToken('made-up-4'))).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(proxy.fetches()).toBe(2);
    // A known kid within the cooldown costs nothing.
    await verifier.verify(signup.data!.signup.accessToken);
    expect(proxy.fetches()).toBe(2);
    proxy.close();
  }, 30_000);
});

describe('automatic rotation with two replicas', () => {
  let env: Awaited<ReturnType<typeof startAuth>>;
  let second: AuthServer;
  const PERIOD_S = 3;
  const opts = {
    accessTokenTtlSeconds: 2,
    keyPublishLeadSeconds: 1,
    keyRotationPeriodSeconds: PERIOD_S,
    keyCheckIntervalMs: 200,
  };
  beforeAll(async () => {
    env = await startAuth(opts);
    second = await createAuthServer({ pool: env.pool, port: 0, logger: createLogger('auth-test', 'warn'), ...opts });
  });
  afterAll(async () => {
    await second?.close();
    await env?.stop();
  });

  it('makes one key per period however many replicas check, and both sign with the same key', async () => {
    await sleep(8_000);
    const { rows } = await env.pool.query<{ kid: string; activates_at: Date; retired_at: Date | null }>(
      `SELECT kid, activates_at, retired_at FROM auth.signing_keys ORDER BY activates_at`,
    );
    // First key at start, then one per 3 s: activations at about 0, 3, 6 and a next one scheduled for 9 (made
    // 1 s before). Two replicas checking every 200 ms would make duplicates without the lock.
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < rows.length; i++) {
      const gap = rows[i]!.activates_at.getTime() - rows[i - 1]!.activates_at.getTime();
      expect(gap).toBeGreaterThanOrEqual(PERIOD_S * 1000);
      expect(gap).toBeLessThan(PERIOD_S * 1000 + 600); // the period, plus at most about a check interval late
      // Each key's end is its successor's start: no overlap, no gap.
      expect(rows[i - 1]!.retired_at!.getTime()).toBe(rows[i]!.activates_at.getTime());
    }
    expect(rows.at(-1)!.retired_at).toBeNull();
    const signing = rows.filter((r) => r.activates_at.getTime() <= Date.now()).at(-1)!.kid;
    const users = [env.server, second].map((s, i) =>
      gql(s.graphqlUrl, SIGNUP, {
        input: { email: `auto${i}@example.org`, password: 'automatic-pass-2026', orgName: `Auto ${i}` },
      }),
    );
    for (const r of await Promise.all(users))
      expect(decodeProtectedHeader(r.data!.signup.accessToken).kid).toBe(signing);
  }, 30_000);
});

describe('npm run keys:rotate', () => {
  let env: Awaited<ReturnType<typeof startAuth>>;
  beforeAll(async () => {
    env = await startAuth();
  });
  afterAll(async () => {
    await env?.stop();
  });

  const run = (...args: string[]) =>
    promisify(execFile)('npx', ['tsx', 'scripts/keys-rotate.ts', ...args], {
      cwd: new URL('../../..', import.meta.url).pathname,
      env: { ...process.env, DATABASE_URL: env.db.url, NODE_ENV: 'development' },
    });

  it('schedules one rotation, reports it, and refuses a second while one is pending', async () => {
    const [current] = await kidsOf(env.server.jwksUrl);
    const first = await run('--lead-seconds', '3600');
    const kid = /scheduled: key (\S+) is in the JWKS now and signs from \S+ \(in 3600 s\)/.exec(first.stdout)?.[1];
    expect(kid, first.stdout).toBeDefined();
    expect(await kidsOf(env.server.jwksUrl)).toEqual([kid, current]);
    const lines = first.stdout.trim().split('\n').slice(1);
    expect(lines[0]).toMatch(/^kid\s+state\s+signs from\s+signs until\s+in JWKS until\s+private key$/);
    expect(lines[1]).toMatch(new RegExp(`^${kid}\\s+next\\s`));
    expect(lines[2]).toMatch(new RegExp(`^${current}\\s+current\\s`));
    const again = await run();
    expect(again.stdout).toContain(`a rotation is already scheduled: key ${kid}`);
    const status = await run('--status');
    expect(status.stdout.trim().split('\n')).toHaveLength(3);
    expect((await env.pool.query('SELECT count(*)::int AS n FROM auth.signing_keys')).rows[0].n).toBe(2);
  }, 60_000);

  it('without DATABASE_URL, looks for the embedded PostgreSQL of npm start on POSTGRES_PORT', async () => {
    const port = await freePort(); // nothing listens there
    const r = await promisify(execFile)('npx', ['tsx', 'scripts/keys-rotate.ts', '--status'], {
      cwd: new URL('../../..', import.meta.url).pathname,
      env: { ...process.env, DATABASE_URL: '', POSTGRES_PORT: String(port), NODE_ENV: 'development' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`keys:rotate: connect ECONNREFUSED 127.0.0.1:${port}: no PostgreSQL answers there;`);
    expect(r.stderr).toContain('set DATABASE_URL');
  }, 60_000);
});
