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

/**
 * The claims DataPilot puts in an access token (see TenantContext in @datapilot/common). `sessionId` becomes the
 * `sid` claim: the refresh-token family of a password sign-in, or the API key's id (CONTRACTS, access-token claims).
 */
export type AccessClaims = { userId: string; orgId: string; role: Role; sessionId: string };

/**
 * Signs an access token: header `{ alg: EdDSA, kid, typ: JWT }`; claims `iss` = TOKEN_ISSUER, `aud` =
 * TOKEN_AUDIENCE, `sub` = user id, `org`, `role`, `sid` = session id, `iat`, `exp` = iat + ttlSeconds, and a
 * random `jti`.
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
  const token = await new SignJWT({ org: claims.orgId, role: claims.role, sid: claims.sessionId })
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

/** Prefix of invitation tokens (`dp_inv_…`), so that a leaked one is recognisable (e.g. by secret scanners). */
export const INVITATION_TOKEN_PREFIX = 'dp_inv_';
/** Prefix of API key secrets (`dp_live_…`; CONTRACTS, API keys). */
export const API_KEY_PREFIX = 'dp_live_';

/**
 * A new secret: `prefix` + 32 random bytes (256 bits) in base64url (43 characters), and the SHA-256 of that whole
 * string, which is all the database keeps. A fast hash suffices because the secret is random, not chosen by a
 * person (nothing to brute-force). Refresh tokens have no prefix; invitations and API keys have theirs.
 */
export function newSecret(prefix = ''): { token: string; hash: Buffer } {
  const token = prefix + randomBytes(32).toString('base64url');
  return { token, hash: hashSecret(token) };
}

/** A new refresh token (no prefix); see {@link newSecret}. */
export const newRefreshToken = () => newSecret();

/**
 * SHA-256 of a secret's UTF-8 string (32 bytes): the lookup key of refresh tokens, invitations and API keys.
 * In SQL the same value is `sha256(convert_to(<secret>, 'UTF8'))`.
 */
export function hashSecret(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
