/**
 * The one way every service turns a credential into a {@link TenantContext}, for HTTP requests and WebSocket
 * connections alike: verify the access token (signature, issuer, audience, time; tenancy.ts), then ask the auth
 * subgraph whether its session is still live and what role its user holds now (the principal check). The role the
 * guard enforces is that current role, not the token's `role` claim, so that removing a member, changing a role,
 * revoking a session or an API key takes effect on every service within {@link PRINCIPAL_TTL_MS} (+ one request),
 * not when the token expires.
 */
import type { IncomingMessage } from 'node:http';
import { DataPilotError, unauthenticated } from './errors.ts';
import {
  ROLES,
  bearerToken,
  type RequestContext,
  type Role,
  type TenantContext,
  type TokenVerifier,
} from './tenancy.ts';
import { createTokenVerifier } from './tenancy.ts';

/** How long a principal answer is reused, in milliseconds (10 s: changes reach every service within 10 s). */
export const PRINCIPAL_TTL_MS = 10_000;
/**
 * How long a principal answer may still be used while the auth subgraph cannot be reached, in milliseconds
 * (30 s, the bound on revocation); past it, requests answer UPSTREAM_UNAVAILABLE.
 */
export const PRINCIPAL_STALE_MS = 30_000;
/** Most cached principal answers per process; the oldest goes first beyond it. */
const PRINCIPAL_CACHE_MAX = 10_000;

/** Path of the auth subgraph's principal endpoint (GET, `Authorization: Bearer <access token>`). */
export const PRINCIPAL_PATH = '/principal';

/**
 * The current state of a token's session: `{ role }` while it is live (the member's role now; for an API key the
 * weaker of the key's and its creator's), null once the session or key is revoked or expired, or the membership gone.
 */
export type PrincipalCheck = (tenant: TenantContext) => Promise<Principal | null>;

/**
 * A live session's state: the member's current role and what kind of credential the session is (`session`, a
 * password sign-in, when absent).
 */
export type Principal = { role: Role; via?: 'session' | 'apiKey' };

/**
 * A {@link PrincipalCheck} over the auth subgraph's `GET /principal` (200 `{active, role, via}`, 401 for a
 * token that does not verify). Answers are cached per (session, organization, user) for `ttlMs`; concurrent checks of
 * one key share one request; when auth cannot be reached an answer younger than {@link PRINCIPAL_STALE_MS} is used.
 * @param opts.url the endpoint, e.g. `http://127.0.0.1:4001/principal`.
 * @throws (from the check) DataPilotError UPSTREAM_UNAVAILABLE when auth cannot answer and nothing recent is cached.
 */
export function createPrincipalCheck(opts: { url: string; ttlMs?: number; timeoutMs?: number }): PrincipalCheck {
  const ttl = opts.ttlMs ?? PRINCIPAL_TTL_MS;
  const cache = new Map<string, { at: number; value: Principal | null }>();
  const inflight = new Map<string, Promise<Principal | null>>();
  const ask = async (tenant: TenantContext): Promise<Principal | null> => {
    const res = await fetch(opts.url, {
      headers: { authorization: `Bearer ${tenant.token}` },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
    });
    if (res.status === 401) return null;
    if (!res.ok) throw new Error(`principal endpoint answered HTTP ${res.status}`);
    const body = (await res.json()) as { active?: unknown; role?: unknown; via?: unknown };
    if (body.active !== true) return null;
    if (typeof body.role !== 'string' || !(ROLES as readonly string[]).includes(body.role))
      throw new Error('principal endpoint answered no role');
    return { role: body.role as Role, via: body.via === 'apiKey' ? 'apiKey' : 'session' };
  };
  return async (tenant) => {
    const key = `${tenant.sessionId}|${tenant.orgId}|${tenant.userId}`;
    const hit = cache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < ttl) return hit.value;
    let pending = inflight.get(key);
    if (!pending) {
      pending = ask(tenant).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    try {
      const value = await pending;
      cache.delete(key);
      cache.set(key, { at: Date.now(), value });
      if (cache.size > PRINCIPAL_CACHE_MAX) cache.delete(cache.keys().next().value as string);
      return value;
    } catch {
      if (hit && now - hit.at < PRINCIPAL_STALE_MS) return hit.value;
      throw new DataPilotError('UPSTREAM_UNAVAILABLE', 'The auth service cannot confirm the session; try again.');
    }
  };
}

/**
 * For tests of one subgraph alone (no auth subgraph running): every verified token is live with its `role` claim.
 * Never used by a service's main.ts.
 */
export const tokenRoleOnly: PrincipalCheck = async (tenant) => ({ role: tenant.role, via: 'session' });

/** Turns credentials into tenants; see {@link createAuthenticator}. */
export interface Authenticator {
  /**
   * `Authorization` header (HTTP) or `connectionParams.authorization` (WebSocket) → the tenant with its current role,
   * or null when there is no credential (anonymous: public fields only).
   * @throws DataPilotError UNAUTHENTICATED for a malformed, badly signed, expired or foreign token, and for a token
   *   whose session or membership has ended; UPSTREAM_UNAVAILABLE when that cannot be checked.
   */
  fromAuthorization(header: unknown): Promise<TenantContext | null>;
  /** For long-lived sockets: is the tenant's session still live (re-checked at most every {@link PRINCIPAL_TTL_MS})? */
  stillActive(tenant: TenantContext): Promise<boolean>;
}

/** The message of a verified token whose session or membership has ended. */
export const SESSION_ENDED = 'Your session has ended, or you are no longer a member of this organization.';

/** Creates the {@link Authenticator} of a service from its token verifier and principal check. */
export function createAuthenticator(opts: { verifier: TokenVerifier; principal: PrincipalCheck }): Authenticator {
  const { verifier, principal } = opts;
  return {
    async fromAuthorization(header) {
      if (header !== undefined && header !== null && typeof header !== 'string' && !Array.isArray(header))
        throw unauthenticated('The authorization must be a string "Bearer <token>".');
      const token = bearerToken(header as string | string[] | undefined | null);
      if (!token) return null;
      const verified = await verifier.verify(token);
      const current = await principal(verified);
      if (!current) throw unauthenticated(SESSION_ENDED);
      const credential = current.via ?? 'session';
      return current.role === verified.role && credential === verified.credential
        ? verified
        : Object.freeze({ ...verified, role: current.role, credential });
    },
    async stillActive(tenant) {
      return (await principal(tenant)) !== null;
    },
  };
}

/**
 * The authenticator of a service that trusts DataPilot's auth subgraph: tokens verified against its JWKS
 * (`AUTH_JWKS_URL`), sessions checked at `/principal` on the same origin.
 */
export function createServiceAuthenticator(jwksUrl: string): Authenticator {
  return createAuthenticator({
    verifier: createTokenVerifier({ jwks: jwksUrl }),
    principal: createPrincipalCheck({ url: new URL(PRINCIPAL_PATH, jwksUrl).toString() }),
  });
}

/**
 * The {@link RequestContext} of an HTTP request: its `Authorization` header through `authenticator`.
 * @throws DataPilotError (as a request error, with its HTTP status) when the credential is refused: no resolver runs.
 */
export async function contextFromRequest(
  authenticator: Authenticator,
  req: Pick<IncomingMessage, 'headers'>,
  requestId: string,
): Promise<RequestContext> {
  try {
    return { tenant: await authenticator.fromAuthorization(req.headers.authorization), requestId };
  } catch (e) {
    throw e instanceof DataPilotError ? e.asRequestError() : e;
  }
}
