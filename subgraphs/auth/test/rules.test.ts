// Unit tests, no I/O: the signup input rules and the password hash format.
import { describe, expect, it } from 'vitest';
import {
  checkEmail,
  checkOrgName,
  checkPasswordStrength,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../src/index.ts';

const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { extensions: { code: string; field?: string } }).extensions;
  }
  return undefined;
};

describe('checkPasswordStrength', () => {
  it.each([
    ['correct horse battery', true], // lower + other (spaces)
    ['Abcdefghij', true], // upper + lower, exactly 10
    ['abcdefghi1', true], // lower + digit
    ['abcdefghi', false], // 9 characters
    ['abcdefghijklmnop', false], // lower only
    ['ABCDEFGHIJKL', false], // upper only
    ['12345678901', false], // digits only
    ['!!!!!!!!!!!!', false], // other only
    ['ÉCOLEÉCOLE1', true], // Unicode upper + digit
    ['ééééééééééé', false], // Unicode lower only
  ])('%j accepted: %s', (pw, ok) => {
    const ext = fieldOf(() => checkPasswordStrength(pw));
    if (ok) expect(ext).toBeUndefined();
    else expect(ext).toMatchObject({ code: 'BAD_USER_INPUT', field: 'password' });
  });

  it('counts characters, not UTF-16 units: 9 emoji plus a letter is 10', () => {
    expect(fieldOf(() => checkPasswordStrength('😀'.repeat(9) + 'a'))).toBeUndefined();
    expect(fieldOf(() => checkPasswordStrength('😀'.repeat(4) + 'a'))).toMatchObject({ field: 'password' });
  });
});

describe('checkEmail / checkOrgName', () => {
  it('trims and lower-cases valid emails', () => {
    expect(checkEmail('  Ann.Lee+tag@Sub.Example.COM ')).toBe('ann.lee+tag@sub.example.com');
  });
  it.each(['plain', 'a@b', 'a b@example.org', '@example.org', 'a@-x.org', `${'x'.repeat(65)}@example.org`])(
    'refuses %j with field email',
    (e) => {
      expect(fieldOf(() => checkEmail(e))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    },
  );
  it('org names are trimmed, 1 to 100 characters', () => {
    expect(checkOrgName('  Acme  ')).toBe('Acme');
    expect(checkOrgName('x'.repeat(100))).toHaveLength(100);
    expect(fieldOf(() => checkOrgName('x'.repeat(101)))).toMatchObject({ field: 'orgName' });
    expect(fieldOf(() => checkOrgName(' \t '))).toMatchObject({ field: 'orgName' });
  });
});

describe('scrypt hashes', () => {
  it('two hashes of one password differ (salt) and both verify; a tampered cost is refused', async () => {
    const [a, b] = await Promise.all([hashPassword('Pass word 1'), hashPassword('Pass word 1')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('Pass word 1', a)).toBe(true);
    expect(await verifyPassword('Pass word 1', b)).toBe(true);
    expect(await verifyPassword('pass word 1', a)).toBe(false);
    expect(needsRehash(a)).toBe(false);
    // NFC: "é" typed as one code point or as e + combining accent is the same password.
    const h = await hashPassword('caf\u00e9 latte 1');
    expect(await verifyPassword('cafe\u0301 latte 1', h)).toBe(true);
    // A hash with N = 2^30 would need 128 GiB: treated as malformed, false.
    const tampered = a.replace('$32768$', `$${2 ** 30}$`);
    expect(await verifyPassword('Pass word 1', tampered)).toBe(false);
    expect(needsRehash(a.replace('$32768$', '$16384$'))).toBe(true);
  });
});
