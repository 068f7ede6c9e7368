/**
 * Access tokens (JWT, RFC 7519, signed with EdDSA / Ed25519, RFC 8037) and refresh tokens (opaque random).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { TOKEN_ALG, TOKEN_AUDIENCE, TOKEN_ISSUER, type Role } from '@datapilot/common';
import type { SigningKeyStore } from './keys.ts';

/** Default access-token lifetime: 900 seconds (15 minutes). */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;
/** Default refresh-token lifetime: 2 592 000 seconds (30 days). */
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** The claims DataPilot puts in an access token (see TenantContext in @datapilot/common). */
export type AccessClaims = { userId: string; orgId: string; role: Role };

/**
 * Signs an access token: header `{ alg: EdDSA, kid, typ: JWT }`; claims `iss` = TOKEN_ISSUER, `aud` =
 * TOKEN_AUDIENCE, `sub` = user id, `org`, `role`, `iat`, `exp` = iat + ttlSeconds, and a random `jti`.
 * @param nowMs the issuing time in epoch milliseconds (default now); `iat` and `exp` are whole seconds.
 * @returns the compact JWS and its expiry.
 */
export async function signAccessToken(
  keys: Pick<SigningKeyStore, 'signing'>,
  claims: AccessClaims,
  ttlSeconds: number,
  nowMs = Date.now(),
): Promise<{ token: string; expiresAt: Date }> {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({ org: claims.orgId, role: claims.role })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: keys.signing.kid, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(claims.userId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(keys.signing.privateKey);
  return { token, expiresAt: new Date(exp * 1000) };
}

/**
 * A new refresh token: 32 random bytes (256 bits) in base64url (43 characters), and the SHA-256 of that
 * string, which is all the database keeps. A fast hash suffices because the token is random, not chosen
 * by a person (nothing to brute-force).
 */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

/** SHA-256 of a refresh token string (32 bytes), the lookup key in `auth.refresh_tokens`. */
export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
