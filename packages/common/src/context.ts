/**
 * The one way every service turns a credential into a {@link TenantContext}, for HTTP requests and WebSocket
 * connections alike: verify the access token (signature, issuer, audience, time; tenancy.ts), then ask the auth
 * subgraph whether its session is still live and what role its user holds now (the principal check). The role the
 * guard enforces is that current role, not the token's `role` claim, so that removing a member, changing a role,
 * revoking a session or an API key takes effect on every service within {@link PRINCIPAL_TTL_MS} (+ one request),
 * not when the token expires.
 */
import type { IncomingMessage } from 'node:http';
import { READY_CHECK_TIMEOUT_MS } from './health.ts';
import { DataPilotError, ERROR_HTTP_STATUS, unauthenticated } from './errors.ts';
import {
  JWKS_CACHE_MAX_AGE_SECONDS,
  ROLES,
  bearerToken,
  tokenAcceptedUntilMs,
  type CredentialState,
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
  /**
   * For long-lived sockets: the first instant (epoch milliseconds) at which this authenticator refuses the tenant's
   * token for its age — its `exp` plus the verifier's clock tolerance ({@link tokenAcceptedUntilMs}), the same rule
   * an HTTP request meets. ws.ts closes a socket with 4401 then.
   */
  acceptedUntilMs(tenant: TenantContext): number;
  /**
   * What this authenticator needs to answer, as readiness checks (health.ts): `{ jwks }` for a service that verifies
   * tokens against the auth subgraph's JWKS (the keys answer, at least one); none for one that holds its own keys.
   */
  readonly dependencies?: Readonly<Record<string, () => Promise<unknown>>>;
}

/** The message of a verified token whose session or membership has ended. */
export const SESSION_ENDED = 'Your session has ended, or you are no longer a member of this organization.';

/** Most verified tokens a {@link createVerifiedTokenCache} keeps by default; the least recently used goes first. */
export const VERIFIED_TOKEN_CACHE_MAX = 10_000;
/**
 * Longest a verified token is reused without verifying it again, in milliseconds: the verifier's JWKS lifetime
 * ({@link JWKS_CACHE_MAX_AGE_SECONDS}), so that a key withdrawn from the JWKS stops being accepted within the same bound
 * as without the cache.
 */
export const VERIFIED_TOKEN_MAX_AGE_MS = JWKS_CACHE_MAX_AGE_SECONDS * 1000;

/**
 * A {@link TokenVerifier} that remembers what `verifier` verified, keyed by the token string, so that a client sending
 * the same access token with every request pays for the signature check (EdDSA, about 0.25 ms of CPU) once.
 * An entry is used until the first of: the instant the verifier would refuse the token for its age
 * ({@link tokenAcceptedUntilMs} of its `exp`: the same rule, to the millisecond), `maxAgeMs` after it was verified; it
 * is dropped then and the token verified again (an expired one is refused by `verifier` with its own message). At most
 * `max` entries: the least recently used is evicted. Only successes are kept: a refused token is checked every time.
 * Concurrent verifications of one token share one call. Sessions are NOT cached here: whether the token's session is
 * still live is asked of the principal check on every request ({@link createAuthenticator}), so signing out, revoking
 * a session or an API key and removing a member keep taking effect within {@link PRINCIPAL_TTL_MS}.
 * @param opts.now the clock, epoch milliseconds (tests).
 */
export function createVerifiedTokenCache(
  verifier: TokenVerifier,
  opts: { max?: number; maxAgeMs?: number; now?: () => number } = {},
): TokenVerifier & { readonly size: number } {
  const max = opts.max ?? VERIFIED_TOKEN_CACHE_MAX;
  const maxAgeMs = opts.maxAgeMs ?? VERIFIED_TOKEN_MAX_AGE_MS;
  const now = opts.now ?? Date.now;
  // Map iteration order is insertion order: re-inserting on use makes the first key the least recently used.
  const entries = new Map<string, { tenant: TenantContext; untilMs: number }>();
  const inflight = new Map<string, Promise<TenantContext>>();
  return {
    clockToleranceSec: verifier.clockToleranceSec,
    get size() {
      return entries.size;
    },
    async verify(token) {
      const hit = entries.get(token);
      if (hit) {
        entries.delete(token);
        if (now() < hit.untilMs) {
          entries.set(token, hit);
          return hit.tenant;
        }
      }
      let pending = inflight.get(token);
      if (!pending) {
        const verifiedAt = now();
        pending = verifier.verify(token).then((tenant) => {
          const untilMs = Math.min(
            tokenAcceptedUntilMs(tenant.expiresAtMs, verifier.clockToleranceSec),
            verifiedAt + maxAgeMs,
          );
          entries.set(token, { tenant, untilMs });
          if (entries.size > max) entries.delete(entries.keys().next().value as string);
          return tenant;
        });
        inflight.set(token, pending);
        void pending.then(
          () => inflight.delete(token),
          () => inflight.delete(token),
        );
      }
      return pending;
    },
  };
}

/**
 * Creates the {@link Authenticator} of a service from its token verifier and principal check. The verifier is
 * wrapped in a {@link createVerifiedTokenCache} unless `verifiedTokenCache` is false; the principal check runs on
 * every call.
 */
export function createAuthenticator(opts: {
  verifier: TokenVerifier;
  principal: PrincipalCheck;
  /** Options of the verified-token cache, or false for none (default: a cache with its defaults). */
  verifiedTokenCache?: false | { max?: number; maxAgeMs?: number };
}): Authenticator {
  const { principal } = opts;
  const verifier =
    opts.verifiedTokenCache === false
      ? opts.verifier
      : createVerifiedTokenCache(opts.verifier, opts.verifiedTokenCache ?? {});
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
    acceptedUntilMs: (tenant) => tokenAcceptedUntilMs(tenant.expiresAtMs, verifier.clockToleranceSec),
  };
}

/**
 * The authenticator of a service that trusts DataPilot's auth subgraph: tokens verified against its JWKS
 * (`AUTH_JWKS_URL`), sessions checked at `/principal` on the same origin.
 */
export function createServiceAuthenticator(jwksUrl: string): Authenticator {
  return {
    ...createAuthenticator({
      verifier: createTokenVerifier({ jwks: jwksUrl }),
      principal: createPrincipalCheck({ url: new URL(PRINCIPAL_PATH, jwksUrl).toString() }),
    }),
    dependencies: {
      // Ready when the JWKS answers with at least one key (RFC 7517 §5: `{ "keys": [...] }`).
      jwks: async () => {
        const res = await fetch(jwksUrl, { signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`the JWKS answered HTTP ${res.status}`);
        const body = (await res.json()) as { keys?: unknown[] };
        if (!Array.isArray(body.keys) || body.keys.length === 0) throw new Error('the JWKS has no key');
      },
    },
  };
}

/**
 * The {@link RequestContext} of an HTTP request: its `Authorization` header through `authenticator`.
 * A refused credential (UNAUTHENTICATED: malformed, expired, badly signed or foreign token, a header that is not
 * `Bearer <token>`, an ended session, a revoked API key) does not stop the request: the context says
 * `{ tenant: null, credentialRefused: <that error> }`, so that public fields (`login`, `refreshToken`, ...) still
 * answer a client that always attaches its token, and every other field answers UNAUTHENTICATED with the reason
 * (guard.ts; HTTP 401 when nothing else answered, {@link answerRefusedCredential}).
 * @throws DataPilotError as a request error (with its HTTP status; no resolver runs) when the credential cannot be
 *   checked now (UPSTREAM_UNAVAILABLE: the JWKS or the principal endpoint does not answer).
 */
export async function contextFromRequest(
  authenticator: Authenticator,
  req: Pick<IncomingMessage, 'headers'>,
  requestId: string,
): Promise<RequestContext> {
  try {
    return { tenant: await authenticator.fromAuthorization(req.headers.authorization), requestId };
  } catch (e) {
    if (e instanceof DataPilotError && e.code === 'UNAUTHENTICATED')
      return { tenant: null, requestId, credentialRefused: e };
    throw e instanceof DataPilotError ? e.asRequestError() : e;
  }
}

/** The shape of a GraphQL JSON response body that {@link answerRefusedCredential} reads. */
type ResponseBody = {
  data?: Record<string, unknown> | null;
  errors?: { message?: string; extensions?: { code?: unknown; credential?: unknown } }[];
};

/**
 * The HTTP answer of a request whose credential was refused (`credential`: its {@link RequestContext}
 * `credentialRefused`), from the complete JSON response that execution produced (`status`, `body`). It concerns
 * the UNAUTHENTICATED errors of fields that needed a tenant (those with `extensions.credential`, tenancy.ts
 * `credentialRequired`), not the UNAUTHENTICATED a public field answers about its own input (a wrong password):
 * - each of them says why the credential was refused (its message) with `extensions.credential: "refused"`. At a
 *   subgraph the guard already said so; at the gateway the subgraphs saw no credential (a refused one is not
 *   forwarded) and answered "A valid access token is required." with `credential: "missing"`;
 * - when they are the only errors and nothing answered (no `data`, or every root field null), the response is a
 *   refusal of the whole request: HTTP 401 and a body of `errors` only (no `data`), as a refusal before execution;
 * - otherwise (a public field answered or failed on its own beside them, or other errors) the status stays what
 *   execution gave (200 for field errors), so a client keeps what did answer.
 * A body that is not such JSON is returned unchanged.
 */
export function answerRefusedCredential(
  status: number,
  body: string,
  credential: DataPilotError,
): { status: number; body: string } {
  let parsed: ResponseBody;
  try {
    parsed = JSON.parse(body) as ResponseBody;
  } catch {
    return { status, body };
  }
  const errors = parsed?.errors;
  if (!Array.isArray(errors)) return { status, body };
  let refused = 0;
  for (const e of errors)
    if (e?.extensions?.code === 'UNAUTHENTICATED' && e.extensions.credential !== undefined) {
      e.message = credential.message;
      e.extensions.credential = 'refused' satisfies CredentialState;
      refused++;
    }
  if (refused === 0) return { status, body };
  const answered = parsed.data != null && Object.values(parsed.data).some((v) => v !== null);
  if (status === 200 && refused === errors.length && !answered) {
    const { data: _data, ...rest } = parsed;
    return { status: ERROR_HTTP_STATUS.UNAUTHENTICATED, body: JSON.stringify(rest) };
  }
  return { status, body: JSON.stringify(parsed) };
}
