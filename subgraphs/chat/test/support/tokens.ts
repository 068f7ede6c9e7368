/**
 * Access tokens for tests, signed by a key pair generated here (jose, Ed25519) exactly as the auth subgraph signs
 * them (alg EdDSA, iss/aud of @datapilot/common, claims sub/org/role/exp); the public key goes to createTokenVerifier.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  TOKEN_ALG,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  createTokenVerifier,
  type Role,
  type TokenVerifier,
} from '@datapilot/common';

export type TestIssuer = {
  verifier: TokenVerifier;
  /** The public key as a JWKS (`{ keys: [...] }`, kid `test`), for a service that fetches it (AUTH_JWKS_URL). */
  jwks: { keys: JWK[] };
  /** A token for `userId` in `orgId`; `ttlSeconds` from now (default 600; may be negative: already expired). */
  sign(p: { orgId: string; userId: string; role?: Role; ttlSeconds?: number }): Promise<string>;
  /** A token of the right shape signed by ANOTHER key: must be refused. */
  signForeign(p: { orgId: string; userId: string }): Promise<string>;
};

export async function createTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519' });
  const foreign = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519' });
  const signWith = (key: CryptoKey, p: { orgId: string; userId: string; role?: Role; ttlSeconds?: number }) =>
    new SignJWT({ org: p.orgId, role: p.role ?? 'ANALYST', sid: randomUUID() })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: 'test' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(p.userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (p.ttlSeconds ?? 600))
      .sign(key);
  return {
    verifier: createTokenVerifier({ jwks: publicKey, clockToleranceSec: 0 }),
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'test', alg: TOKEN_ALG, use: 'sig' }] },
    sign: (p) => signWith(privateKey, p),
    signForeign: (p) => signWith(foreign.privateKey, p),
  };
}
