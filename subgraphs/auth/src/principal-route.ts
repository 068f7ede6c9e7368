/**
 * `GET /principal` (CONTRACTS, "Principal check"): how every other service learns, within seconds, that a member was
 * removed, a role changed, a session signed out or an API key revoked, without waiting for the token to expire.
 * Request: `Authorization: Bearer <access token>`. Answers, always with `cache-control: no-store`:
 * - 401 `{ "error": "<why>" }` when the token does not verify (signature, issuer, audience, expiry, claims);
 * - 200 `{ "active": true, "role": "<ROLE>", "via": "session" | "apiKey" }` while its session is live and its user a member of its organization
 *   (the role now; for an API key the weaker of the key's and its creator's);
 * - 200 `{ "active": false }` otherwise (data/principal.ts currentPrincipal says when).
 */
import type { Pool } from 'pg';
import {
  bearerToken,
  hasErrorCode,
  inTenantTransaction,
  sendJson,
  unauthenticated,
  type Route,
  type TokenVerifier,
} from '@datapilot/common';
import { currentPrincipal } from './data/principal.ts';

const NO_STORE = { 'cache-control': 'no-store' };

/** The route handler over `pool`, verifying tokens with `verifier` (auth's own signing keys). */
export function principalRoute(pool: Pool, verifier: TokenVerifier): Route {
  return async (req, res) => {
    let tenant;
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw unauthenticated();
      tenant = await verifier.verify(token);
    } catch (e) {
      if (!hasErrorCode(e, 'UNAUTHENTICATED')) throw e;
      return sendJson(res, 401, { error: (e as Error).message }, NO_STORE);
    }
    const p = await inTenantTransaction(pool, tenant, (c) => currentPrincipal(c, tenant));
    sendJson(res, 200, p ? { active: true, role: p.role, via: p.via } : { active: false }, NO_STORE);
  };
}
