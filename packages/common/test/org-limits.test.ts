// The per-organization limiter alone (no I/O): admission, refusal with retryAfterSeconds, waiting, release on every
// outcome, the bounded map. Expected estimates are worked out by hand from the rule in org-limits.ts.
import { describe, expect, it } from 'vitest';
import { DataPilotError, createOrgLimiter, rateLimited } from '../src/index.ts';

const A = 'org-a';
const B = 'org-b';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The error `p` rejects with (fails the test when it resolves). */
async function refusal(p: Promise<unknown>): Promise<DataPilotError> {
  try {
    await p;
  } catch (e) {
    return e as DataPilotError;
  }
  throw new Error('expected a refusal');
}

describe('rateLimited', () => {
  it('rounds the wait up to whole seconds, at least 1', () => {
    expect(rateLimited('m', 0).extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(rateLimited('m', 1).extensions.retryAfterSeconds).toBe(1);
    expect(rateLimited('m', 1000).extensions.retryAfterSeconds).toBe(1);
    expect(rateLimited('m', 1001).extensions.retryAfterSeconds).toBe(2);
    expect(rateLimited('m', Number.NaN).extensions.retryAfterSeconds).toBe(1);
  });
});

describe('createOrgLimiter, refusing at once', () => {
  it('admits `limit` of an org, refuses the next with RATE_LIMITED and an estimate, admits another org', async () => {
    const l = createOrgLimiter({ what: 'questions being answered', limit: 2, typicalHoldMs: 10_000 });
    const s1 = await l.acquire(A);
    await l.acquire(A);
    const e = await refusal(l.acquire(A));
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.message).toBe(
      'The organization already has 2 questions being answered, its limit; try again when one of them is done.',
    );
    // Nothing observed yet: each slot is expected to last 10 000 ms, both just started → ceil(≈10 000 / 1000) = 10.
    expect(e.extensions.retryAfterSeconds).toBe(10);
    expect(l.inFlight(A)).toBe(2);
    const b = await l.acquire(B);
    expect(l.inFlight(B)).toBe(1);
    s1.release();
    s1.release(); // idempotent: frees one slot, not two
    expect(l.inFlight(A)).toBe(1);
    await l.acquire(A);
    await expect(l.acquire(A)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    b.release();
    expect(l.inFlight(B)).toBe(0);
  });

  it('learns the hold time: after ~300 ms holds the estimate is 1 s, not the assumed 60 s', async () => {
    const l = createOrgLimiter({ what: 'statements', limit: 1, typicalHoldMs: 60_000 });
    const first = await l.acquire(A);
    expect((await refusal(l.acquire(A))).extensions.retryAfterSeconds).toBe(60);
    await sleep(300);
    first.release();
    await l.acquire(A);
    // Mean hold ≈ 300 ms, the holder just started: ceil(0.3) = 1.
    expect((await refusal(l.acquire(A))).extensions.retryAfterSeconds).toBe(1);
  });

  it('run() releases the slot when the work resolves and when it throws', async () => {
    const l = createOrgLimiter({ what: 'statements', limit: 1, typicalHoldMs: 1000 });
    expect(await l.run(A, async () => 42)).toBe(42);
    expect(l.inFlight(A)).toBe(0);
    await expect(
      l.run(A, async () => {
        throw new Error('statement failed');
      }),
    ).rejects.toThrow('statement failed');
    expect(l.inFlight(A)).toBe(0);
    await expect(l.run(A, async () => 'again')).resolves.toBe('again');
  });

  it('forgets the least recently used idle org beyond maxOrgs (its learned hold time goes with it)', async () => {
    const l = createOrgLimiter({ what: 'statements', limit: 1, typicalHoldMs: 60_000, maxOrgs: 2 });
    (await l.acquire(A)).release(); // A learns a hold time of ~0 ms
    const a = await l.acquire(A);
    expect((await refusal(l.acquire(A))).extensions.retryAfterSeconds).toBe(1);
    a.release();
    (await l.acquire(B)).release();
    (await l.acquire('org-c')).release(); // three orgs, two kept: A (least recently used, idle) is forgotten
    await l.acquire(A);
    expect((await refusal(l.acquire(A))).extensions.retryAfterSeconds).toBe(60);
  });

  it('never forgets an org that holds a slot', async () => {
    const l = createOrgLimiter({ what: 'statements', limit: 1, typicalHoldMs: 1000, maxOrgs: 1 });
    await l.acquire(A);
    await l.acquire(B);
    await l.acquire('org-c');
    expect([l.inFlight(A), l.inFlight(B), l.inFlight('org-c')]).toEqual([1, 1, 1]);
    await expect(l.acquire(A)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });
});

describe('createOrgLimiter, waiting a bounded time', () => {
  it('hands released slots to waiters in arrival order', async () => {
    const l = createOrgLimiter({ what: 'statements', limit: 1, maxWaitMs: 5_000, typicalHoldMs: 1000 });
    const first = await l.acquire(A);
    const order: string[] = [];
    const w1 = l.acquire(A).then((s) => (order.push('w1'), s));
    const w2 = l.acquire(A).then((s) => (order.push('w2'), s));
    expect(l.waiting(A)).toBe(2);
    first.release();
    (await w1).release();
    (await w2).release();
    expect(order).toEqual(['w1', 'w2']);
    expect([l.inFlight(A), l.waiting(A)]).toEqual([0, 0]);
  });

  it('refuses a waiter whose wait runs out, and refuses at once beyond maxWaiting', async () => {
    const l = createOrgLimiter({ what: 'statements', limit: 1, maxWaitMs: 200, maxWaiting: 1, typicalHoldMs: 4_000 });
    await l.acquire(A);
    const started = Date.now();
    const waiter = refusal(l.acquire(A));
    // maxWaiting 1: the second waiter is refused at once, one request ahead of it: the holder's ~4 000 ms left plus
    // ⌊1 / 1⌋ × 4 000 ms → 8 s.
    const beyond = await refusal(l.acquire(A));
    expect(Date.now() - started).toBeLessThan(150);
    expect(beyond.extensions.retryAfterSeconds).toBe(8);
    const timedOut = await waiter;
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(timedOut.code).toBe('RATE_LIMITED');
    // Nobody ahead of it: the holder's remaining ~3 800 ms → 4 s.
    expect(timedOut.extensions.retryAfterSeconds).toBe(4);
    expect([l.inFlight(A), l.waiting(A)]).toEqual([1, 0]);
  });

  it('another org does not wait behind a busy one', async () => {
    const l = createOrgLimiter({ what: 'statements', limit: 1, maxWaitMs: 500, typicalHoldMs: 1000 });
    await l.acquire(A);
    void l.acquire(A).catch(() => undefined);
    const started = Date.now();
    (await l.acquire(B)).release();
    expect(Date.now() - started).toBeLessThan(50);
  });
});
