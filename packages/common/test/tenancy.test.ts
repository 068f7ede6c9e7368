import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken, createTokenVerifier } from '../src/index.ts';

const { publicKey, privateKey } = await generateKeyPair('EdDSA');
const other = await generateKeyPair('EdDSA');
const userId = randomUUID();
const orgId = randomUUID();

async function token(
  over: { iss?: string; aud?: string; exp?: number; org?: unknown; role?: unknown; key?: CryptoKey; alg?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    org: 'org' in over ? over.org : orgId,
    role: 'role' in over ? over.role : 'ANALYST',
    sid: randomUUID(),
  })
    .setProtectedHeader({ alg: over.alg ?? 'EdDSA', kid: 'k1' })
    .setIssuer(over.iss ?? 'datapilot-auth')
    .setAudience(over.aud ?? 'datapilot')
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(over.exp ?? now + 60)
    .sign(over.key ?? privateKey);
}

const verifier = createTokenVerifier({ jwks: publicKey });
const rejection = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    return `${(e as { extensions: { code: string } }).extensions.code}: ${(e as Error).message}`;
  }
};

describe('createTokenVerifier', () => {
  it('returns the claims of a valid token as a frozen tenant context', async () => {
    const t = await token();
    const ctx = await verifier.verify(t);
    expect(ctx).toMatchObject({ userId, orgId, role: 'ANALYST', token: t });
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it('rejects expired, foreign-signed, wrong issuer/audience and malformed-claim tokens as UNAUTHENTICATED', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    expect(await rejection(verifier.verify(await token({ exp: past })))).toBe(
      'UNAUTHENTICATED: The access token has expired.',
    );
    const invalid = 'UNAUTHENTICATED: The access token is invalid.';
    expect(await rejection(verifier.verify(await token({ key: other.privateKey })))).toBe(invalid);
    expect(await rejection(verifier.verify(await token({ iss: 'someone-else' })))).toBe(invalid);
    expect(await rejection(verifier.verify(await token({ aud: 'another-api' })))).toBe(invalid);
    expect(await rejection(verifier.verify(await token({ org: 'not-a-uuid' })))).toBe(invalid);
    expect(await rejection(verifier.verify(await token({ role: 'SUPERUSER' })))).toBe(invalid);
    expect(await rejection(verifier.verify('a.b.c'))).toBe(invalid);
  });
});

describe('bearerToken', () => {
  it('extracts the token, is undefined without a header and rejects other schemes', () => {
    expect(bearerToken('Bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    expect(bearerToken(undefined)).toBeUndefined();
    expect(() => bearerToken('Basic dXNlcjpwYXNz')).toThrow(/Bearer/);
  });
});
