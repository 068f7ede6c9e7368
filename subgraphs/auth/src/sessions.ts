/**
 * Sessions: what every sign-in flow hands out. A password session is a refresh-token family; its id is the `sid`
 * claim of every access token issued in it (CONTRACTS, access-token claims). login and signup start one; refresh,
 * switchOrganization and acceptInvitation continue the caller's; signOut ends it. API-key tokens have no refresh
 * token: their `sid` is the key's id.
 */
import { randomUUID } from 'node:crypto';
import type { Role } from '@datapilot/common';
import * as db from './data/accounts.ts';
import type { OrganizationView, UserView } from './data/tenant.ts';
import type { SigningKeyStore } from './keys.ts';
import { newRefreshToken, signAccessToken, type AccessClaims } from './tokens.ts';

/** What signup, login, refreshToken, switchOrganization and acceptInvitation return (the AuthPayload type). */
export type AuthPayload = {
  accessToken: string;
  refreshToken: string;
  /** Access-token expiry, ISO 8601 UTC. */
  expiresAt: string;
  user: UserView;
  organization: OrganizationView;
  role: Role;
};

/** A user row as the schema shows it. */
export const userView = (u: { id: string; email: string; created_at: Date }): UserView => ({
  id: u.id,
  email: u.email,
  createdAt: u.created_at.toISOString(),
});

/** An organization row as the schema shows it. */
export const orgView = (o: { id: string; name: string; created_at: Date }): OrganizationView => ({
  id: o.id,
  name: o.name,
  createdAt: o.created_at.toISOString(),
});

/** Options of {@link createSessionIssuer}. */
export type SessionIssuerDeps = {
  keys: Pick<SigningKeyStore, 'signing'>;
  /** Access-token lifetime in seconds. */
  accessTokenTtlSeconds: number;
  /** Refresh-token lifetime in seconds. */
  refreshTokenTtlSeconds: number;
};

/** Issues tokens; see {@link createSessionIssuer}. */
export interface SessionIssuer {
  /**
   * Stores a new refresh token of the family `sessionId` (a new family when omitted) for `user` in `org` (in `c`'s
   * transaction when `c` is a client), and signs an access token with `sid` = that family.
   */
  issue(c: db.Db, user: UserView, org: OrganizationView, role: Role, sessionId?: string): Promise<AuthPayload>;
  /** Signs an access token alone (API keys: `sessionId` = the key's id); expiry after the access-token lifetime. */
  accessToken(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }>;
}

/** Creates the token issuer of one server. */
export function createSessionIssuer(deps: SessionIssuerDeps): SessionIssuer {
  const { keys, accessTokenTtlSeconds, refreshTokenTtlSeconds } = deps;
  const accessToken = (claims: AccessClaims) => signAccessToken(keys, claims, accessTokenTtlSeconds);
  return {
    accessToken,
    async issue(c, user, org, role, sessionId = randomUUID()) {
      const refresh = newRefreshToken();
      await db.insertRefreshToken(c, {
        familyId: sessionId,
        userId: user.id,
        orgId: org.id,
        hash: refresh.hash,
        ttlSeconds: refreshTokenTtlSeconds,
      });
      const access = await accessToken({ userId: user.id, orgId: org.id, role, sessionId });
      return {
        accessToken: access.token,
        refreshToken: refresh.token,
        expiresAt: access.expiresAt.toISOString(),
        user,
        organization: org,
        role,
      };
    },
  };
}
