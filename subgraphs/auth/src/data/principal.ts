/**
 * The principal check (CONTRACTS, "Principal check"): is the session an access token belongs to still live, and
 * what role does its user hold now? The one implementation of that rule; `GET /principal` (server.ts), auth's own
 * request context, `me`, the team and API-key flows and `exchangeApiKey` all call {@link currentPrincipal}.
 */
import { weakerRole, type Role } from '@datapilot/common';
import type { Db } from './accounts.ts';

/**
 * Resolution of `api_keys.last_used_at`, in seconds: the use of a key is written at most once per this period
 * (a principal check runs on every service every few seconds while a key is in use; one write a minute is enough).
 */
export const LAST_USED_RESOLUTION_SECONDS = 60;

/** What a token's `sid`, `sub` and `org` claims name. */
export type PrincipalRef = { sessionId: string; userId: string; orgId: string };

/**
 * A live principal: the role to enforce, and what kind of session carries it — `session` for a password sign-in
 * (the `sid` is a refresh-token family), `apiKey` for a token obtained with an API key (the `sid` is the key's id).
 */
export type Principal = { role: Role; via: 'session' | 'apiKey' };

/**
 * The current principal of a token's claims, or null when it is no longer active:
 * - the user must still be a member of `orgId` (else null: removed, left);
 * - a password session is live while at least one refresh token of the family `sessionId` (of this user) has
 *   `revoked_at IS NULL AND expires_at > now()` — signOut, reuse detection and removal revoke them; the role is the
 *   membership's;
 * - an API key session is live while the key `sessionId` (of this org, created by this user) is neither revoked nor
 *   expired; the role is the weaker of the key's and the creator's current role. Its use is recorded in
 *   `last_used_at` (at most once per {@link LAST_USED_RESOLUTION_SECONDS}).
 * Times are the database's clock. Works on a pool or inside a transaction (the team flows check their caller this
 * way under the organization's lock).
 * @returns `{ role, via }` (assignable to the contract's `{ role: Role } | null`).
 */
export async function currentPrincipal(db: Db, ref: PrincipalRef): Promise<Principal | null> {
  const r = await db.query<{
    member_role: Role;
    family_live: boolean;
    key_role: Role | null;
    key_used_stale: boolean | null;
  }>(
    `SELECT m.role AS member_role,
            EXISTS (SELECT 1 FROM auth.refresh_tokens t
                     WHERE t.family_id = $1 AND t.user_id = $2 AND t.revoked_at IS NULL AND t.expires_at > now())
              AS family_live,
            k.role AS key_role,
            (k.last_used_at IS NULL OR k.last_used_at <= now() - make_interval(secs => $4)) AS key_used_stale
       FROM auth.memberships m
       LEFT JOIN auth.api_keys k
              ON k.id = $1 AND k.org_id = m.org_id AND k.created_by = m.user_id
             AND k.revoked_at IS NULL AND k.expires_at > now()
      WHERE m.user_id = $2 AND m.org_id = $3`,
    [ref.sessionId, ref.userId, ref.orgId, LAST_USED_RESOLUTION_SECONDS],
  );
  const row = r.rows[0];
  if (!row) return null;
  if (row.family_live) return { role: row.member_role, via: 'session' };
  if (!row.key_role) return null;
  if (row.key_used_stale) await recordKeyUse(db, ref.sessionId);
  return { role: weakerRole(row.key_role, row.member_role), via: 'apiKey' };
}

/** Sets the key's `last_used_at` to now unless it was set less than {@link LAST_USED_RESOLUTION_SECONDS} ago. */
async function recordKeyUse(db: Db, keyId: string): Promise<void> {
  await db.query(
    `UPDATE auth.api_keys SET last_used_at = now()
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= now() - make_interval(secs => $2))`,
    [keyId, LAST_USED_RESOLUTION_SECONDS],
  );
}
