// Unit tests, no I/O: the role rules of teams (issue 6, section 1) and the expiry of API keys. Every expected
// outcome is written out by hand from the rules (OWNER > ADMIN > ANALYST > VIEWER).
import { describe, expect, it } from 'vitest';
import { apiKeyExpiry, checkGrant, checkKeepsOwner, checkManage } from '../src/index.ts';

const outcome = (fn: () => void) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    const ext = (e as { extensions: { code: string; requiredRole?: string } }).extensions;
    return ext.requiredRole ? `${ext.code} ${ext.requiredRole}` : ext.code;
  }
};

// [caller, role given (or member touched), expected]
const CEILING: [string, string, string][] = [
  ['OWNER', 'OWNER', 'ok'],
  ['OWNER', 'ADMIN', 'ok'],
  ['OWNER', 'ANALYST', 'ok'],
  ['OWNER', 'VIEWER', 'ok'],
  ['ADMIN', 'OWNER', 'FORBIDDEN OWNER'],
  ['ADMIN', 'ADMIN', 'ok'],
  ['ADMIN', 'ANALYST', 'ok'],
  ['ADMIN', 'VIEWER', 'ok'],
  ['ANALYST', 'OWNER', 'FORBIDDEN OWNER'],
  ['ANALYST', 'ADMIN', 'FORBIDDEN ADMIN'],
  ['ANALYST', 'ANALYST', 'ok'],
  ['ANALYST', 'VIEWER', 'ok'],
  ['VIEWER', 'OWNER', 'FORBIDDEN OWNER'],
  ['VIEWER', 'ADMIN', 'FORBIDDEN ADMIN'],
  ['VIEWER', 'ANALYST', 'FORBIDDEN ANALYST'],
  ['VIEWER', 'VIEWER', 'ok'],
];

describe('checkGrant: nobody grants a role above their own', () => {
  it.each(CEILING)('%s granting %s: %s', (actor, role, expected) => {
    expect(outcome(() => checkGrant(actor as never, role as never, 'grant'))).toBe(expected);
  });
});

describe('checkManage: nobody changes or removes a member above their own role', () => {
  it.each(CEILING)('%s touching a %s: %s', (actor, target, expected) => {
    expect(outcome(() => checkManage(actor as never, target as never))).toBe(expected);
  });
});

describe('checkKeepsOwner: an organization keeps an OWNER', () => {
  it.each([
    ['OWNER', 'ADMIN', 1, 'FORBIDDEN'], // demoting the last owner
    ['OWNER', null, 1, 'FORBIDDEN'], // removing / leaving as the last owner
    ['OWNER', 'OWNER', 1, 'ok'], // "changing" to the same role
    ['OWNER', 'VIEWER', 2, 'ok'], // another owner remains
    ['OWNER', null, 2, 'ok'],
    ['ADMIN', null, 1, 'ok'], // not an owner: the count does not matter
    ['VIEWER', 'ANALYST', 1, 'ok'],
  ])('%s → %s with %i owner(s): %s', (current, next, owners, expected) => {
    expect(outcome(() => checkKeepsOwner(current as never, next as never, owners))).toBe(expected);
  });
});

describe('apiKeyExpiry', () => {
  const now = Date.parse('2027-01-01T00:00:00Z');
  it('defaults to 90 days: 2027-01-01 + 90 days = 2027-04-01 (31 + 28 + 31)', () => {
    expect(apiKeyExpiry(undefined, now).toISOString()).toBe('2027-04-01T00:00:00.000Z');
    expect(apiKeyExpiry(null, now).toISOString()).toBe('2027-04-01T00:00:00.000Z');
  });
  // Malformed text never gets here: the DateTime scalar refuses it (packages/common/test/date-time.test.ts).
  it.each([
    ['2027-01-01T00:01:00Z', 'ok'], // exactly one minute ahead
    ['2027-01-01T00:00:59Z', 'BAD_USER_INPUT'], // less than a minute
    ['2026-12-31T00:00:00Z', 'BAD_USER_INPUT'], // past
    ['2028-01-02T00:00:00Z', 'ok'], // 365 + 1 = 366 days (2027 is not a leap year)
    ['2028-01-02T00:00:01Z', 'BAD_USER_INPUT'],
  ])('%s: %s', (value, expected) => {
    const r = outcome(() => apiKeyExpiry(new Date(value), now));
    expect(r).toBe(expected);
  });
});
