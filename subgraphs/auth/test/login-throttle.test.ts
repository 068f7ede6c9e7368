// Login throttling (QA finding F4) against a real PostgreSQL: per-email failure counts in auth.login_failures,
// shared by replicas. scrypt's cost is fixed (N = 2^15), so the limit is kept small here: 3 failures.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@datapilot/common';
import { createAuthServer, createLoginThrottle, INVALID_CREDENTIALS, LOGIN_RATE_LIMITED } from '../src/index.ts';
import { gql, LOGIN, SIGNUP, startAuth } from './helpers.ts';

const MAX = 3;
const WINDOW = 900; // the default window, 15 minutes

type Env = Awaited<ReturnType<typeof startAuth>>;

const user = (name: string) => ({
  email: `${name}@throttle.example`,
  password: `right-Password-${name}`,
  orgName: `Org ${name}`,
});

async function signup(url: string, u: ReturnType<typeof user>) {
  const r = await gql(url, SIGNUP, { input: u });
  expect(r.errors).toBeUndefined();
  return r.data!.signup;
}

/** One login; the error (if any), the payload (if any) and how long it took in milliseconds. */
async function login(url: string, email: string, password: string) {
  const t0 = performance.now();
  const r = await gql(url, LOGIN, { email, password });
  return { error: r.errors?.[0], data: r.data, payload: r.data?.login, ms: performance.now() - t0 };
}

/** The stored failure timestamps of `email`, looked up by PostgreSQL's own SHA-256 of the normalised email. */
async function storedFailures(pool: pg.Pool, email: string): Promise<number | null> {
  const r = await pool.query(
    `SELECT cardinality(failed_at) AS n FROM auth.login_failures WHERE email_sha256 = sha256(convert_to($1, 'UTF8'))`,
    [email],
  );
  return r.rows[0]?.n ?? null;
}

const invalidCredentials = {
  message: INVALID_CREDENTIALS,
  path: ['login'],
  locations: [{ line: 2, column: 3 }],
  extensions: { code: 'UNAUTHENTICATED' },
};

describe(`login throttling: ${MAX} failures per ${WINDOW} s`, () => {
  let env: Env;
  let url: string;
  const alice = user('alice');
  const bob = user('bob');
  const carol = user('carol');
  const dave = user('dave');
  let limitedAlice: any;

  beforeAll(async () => {
    env = await startAuth({ loginMaxFailures: MAX });
    url = env.server.graphqlUrl;
    for (const u of [alice, bob, carol, dave]) await signup(url, u);
  });

  afterAll(async () => {
    await env?.stop();
  });

  it(`${MAX} failures, then the right password answers RATE_LIMITED with retryAfterSeconds within the window`, async () => {
    const t0 = Date.now();
    const failures = [];
    for (let i = 0; i < MAX; i++) failures.push(await login(url, alice.email, `wrong password ${i}`));
    for (const f of failures) {
      expect(f.error).toEqual(invalidCredentials);
      expect(f.data).toBeNull();
    }
    expect(await storedFailures(env.pool, alice.email)).toBe(MAX);

    const limited = await login(url, alice.email, alice.password);
    const elapsedS = (Date.now() - t0) / 1000;
    expect(limited.data).toBeNull();
    expect(limited.error!.message).toBe(LOGIN_RATE_LIMITED);
    expect(limited.error!.extensions!.code).toBe('RATE_LIMITED');
    const retry = limited.error!.extensions!.retryAfterSeconds;
    // The oldest failure happened after t0, so it leaves the window at most WINDOW s after t0, i.e. at most
    // WINDOW - elapsed s from now (rounded up), and at least WINDOW - elapsed - 1 s from now.
    expect(Number.isInteger(retry)).toBe(true);
    expect(retry).toBeLessThanOrEqual(WINDOW);
    expect(retry).toBeGreaterThanOrEqual(Math.floor(WINDOW - elapsedS) - 1);
    limitedAlice = limited.error;

    // Still refused, the right password included; nothing more is counted while limited.
    const again = await login(url, alice.email, alice.password);
    expect(again.error!.extensions!.code).toBe('RATE_LIMITED');
    expect(again.data).toBeNull();
    const wrong = await login(url, ` ${alice.email.toUpperCase()} `, 'wrong password 9');
    expect(wrong.error!.extensions!.code).toBe('RATE_LIMITED');
    expect(await storedFailures(env.pool, alice.email)).toBe(MAX);

    // No scrypt while limited: each refusal is far quicker than any checked password (scrypt N=2^15).
    const slowestRefusal = Math.max(limited.ms, again.ms, wrong.ms);
    const quickestCheck = Math.min(...failures.map((f) => f.ms));
    expect(slowestRefusal).toBeLessThan(quickestCheck * 0.5);
  });

  it('a different email is unaffected', async () => {
    expect(limitedAlice?.extensions?.code).toBe('RATE_LIMITED');
    const wrong = await login(url, bob.email, 'wrong password');
    expect(wrong.error).toEqual(invalidCredentials);
    const ok = await login(url, bob.email, bob.password);
    expect(ok.error).toBeUndefined();
    expect(ok.payload.user.email).toBe(bob.email);
    expect(typeof ok.payload.accessToken).toBe('string');
    expect(await storedFailures(env.pool, bob.email)).toBeNull(); // the success cleared bob's one failure
  });

  it(`a success before reaching ${MAX} failures clears the count`, async () => {
    for (let i = 0; i < MAX - 1; i++)
      expect((await login(url, carol.email, 'wrong')).error).toEqual(invalidCredentials);
    expect(await storedFailures(env.pool, carol.email)).toBe(MAX - 1);
    const ok = await login(url, carol.email, carol.password);
    expect(ok.error).toBeUndefined();
    expect(ok.payload.user.email).toBe(carol.email);
    expect(await storedFailures(env.pool, carol.email)).toBeNull();
    // Had the count not been cleared, the first of these would already be RATE_LIMITED.
    for (let i = 0; i < MAX - 1; i++)
      expect((await login(url, carol.email, 'wrong')).error).toEqual(invalidCredentials);
    const again = await login(url, carol.email, carol.password);
    expect(again.error).toBeUndefined();
    expect(again.payload.user.email).toBe(carol.email);
  });

  it(`an unknown email gets the same errors: UNAUTHENTICATED, then RATE_LIMITED after ${MAX}`, async () => {
    const nobody = 'nobody@throttle.example';
    // Case and padding do not make a new counter: the email is normalised as for a known account.
    const emails = [nobody, ' NoBody@Throttle.Example ', nobody];
    for (const e of emails) expect((await login(url, e, 'any password')).error).toEqual(invalidCredentials);
    const limited = await login(url, nobody, 'any password');
    expect(limited.data).toBeNull();
    const { retryAfterSeconds, ...rest } = limited.error!.extensions!;
    const { retryAfterSeconds: aliceRetry, ...aliceRest } = limitedAlice.extensions;
    expect({ ...limited.error, extensions: rest }).toEqual({ ...limitedAlice, extensions: aliceRest });
    expect(rest).toEqual({ code: 'RATE_LIMITED' });
    expect(retryAfterSeconds).toBeGreaterThan(WINDOW - 60);
    expect(retryAfterSeconds).toBeLessThanOrEqual(WINDOW);
    expect(aliceRetry).toBeLessThanOrEqual(retryAfterSeconds); // alice's failures are older
    expect(await storedFailures(env.pool, nobody)).toBe(MAX);
  });

  it('replicas share the count, and concurrent attempts cannot get past the limit', async () => {
    const logger = createLogger('auth-test', 'error');
    const pools = [0, 1].map(() => new pg.Pool({ connectionString: env.db.url, max: 5 }));
    const replicas = await Promise.all(
      pools.map((pool) => createAuthServer({ pool, port: 0, logger, loginMaxFailures: MAX })),
    );
    try {
      // 2·MAX wrong attempts at once, alternating between the two replicas: exactly MAX get a password check.
      const results = await Promise.all(
        Array.from({ length: 2 * MAX }, (_, i) => login(replicas[i % 2]!.graphqlUrl, dave.email, `wrong ${i}`)),
      );
      const codes = results.map((r) => r.error!.extensions!.code).sort();
      expect(codes).toEqual([
        ...Array<string>(MAX).fill('RATE_LIMITED'),
        ...Array<string>(MAX).fill('UNAUTHENTICATED'),
      ]);
      expect(await storedFailures(env.pool, dave.email)).toBe(MAX);
      // The first server, which saw none of these, refuses dave too.
      const limited = await login(url, dave.email, dave.password);
      expect(limited.error!.extensions!.code).toBe('RATE_LIMITED');
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('limits must be integers ≥ 1', () => {
    const logger = createLogger('auth-test', 'error');
    const pool = undefined as unknown as pg.Pool; // never reached: the options are checked first
    expect(() => createLoginThrottle({ pool, logger, maxFailures: 0 })).toThrow(RangeError);
    expect(() => createLoginThrottle({ pool, logger, windowSeconds: 1.5 })).toThrow(RangeError);
    expect(createLoginThrottle({ pool, logger })).toMatchObject({ maxFailures: 10, windowSeconds: 900 });
  });
});

describe('login throttling: the window passes', () => {
  const SHORT = 2; // seconds
  let env: Env;
  const erin = user('erin');

  beforeAll(async () => {
    env = await startAuth({ loginMaxFailures: MAX, loginFailureWindowSeconds: SHORT });
    await signup(env.server.graphqlUrl, erin);
  });

  afterAll(async () => {
    await env?.stop();
  });

  it(`after ${SHORT} s the right password works again`, async () => {
    const url = env.server.graphqlUrl;
    for (let i = 0; i < MAX; i++) expect((await login(url, erin.email, 'wrong')).error).toEqual(invalidCredentials);
    const limited = await login(url, erin.email, erin.password);
    expect(limited.error!.extensions!.code).toBe('RATE_LIMITED');
    const retry = limited.error!.extensions!.retryAfterSeconds;
    expect([1, 2]).toContain(retry);

    await new Promise((resolve) => setTimeout(resolve, retry * 1000 + 250));
    const ok = await login(url, erin.email, erin.password);
    expect(ok.error).toBeUndefined();
    expect(ok.payload.user.email).toBe(erin.email);
    expect(await storedFailures(env.pool, erin.email)).toBeNull();
  });
});
