import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey, type CryptoKey } from 'jose';
import { DataPilotError, unauthenticated } from './errors.ts';

/** Roles inside an organization, strongest first. */
export const ROLES = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'] as const;
export type Role = (typeof ROLES)[number];

/** JWT issuer (`iss`) and audience (`aud`) that DataPilot's auth subgraph signs and every service checks. */
export const TOKEN_ISSUER = 'datapilot-auth';
export const TOKEN_AUDIENCE = 'datapilot';
/** JWS algorithm of access tokens: EdDSA over Ed25519 (RFC 8037). */
export const TOKEN_ALG = 'EdDSA';

/**
 * What a verified access token says, and the only source of the organization for every resolver,
 * entity reference, query and file path. Frozen: nothing downstream can change the org.
 */
export type TenantContext = Readonly<{
  /** `sub` claim: the user id (UUID). */
  userId: string;
  /** `org` claim: the organization id (UUID). */
  orgId: string;
  /** `role` claim: the user's role in `orgId`. */
  role: Role;
  /** `exp` claim as epoch milliseconds. */
  expiresAtMs: number;
  /** The compact JWS itself, to forward to the next service (never logged). */
  token: string;
}>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Verifies compact JWS access tokens; see {@link createTokenVerifier}. */
export interface TokenVerifier {
  /**
   * Verifies signature (EdDSA, key chosen by `kid` from the JWKS), `iss`, `aud`, `exp` and the shape of
   * `sub`, `org` and `role`.
   * @throws DataPilotError UNAUTHENTICATED for any failure, with a message that says which kind.
   */
  verify(token: string): Promise<TenantContext>;
}

/**
 * Creates a verifier against a JWKS (RFC 7517): a URL (fetched and cached by jose, refetched on an
 * unknown `kid`) or a local key set/key for tests.
 * @param opts.jwks the auth subgraph's `/.well-known/jwks.json` URL, or a jose key resolver.
 * @param opts.clockToleranceSec allowed clock skew on `exp`/`nbf`, in seconds (default 5).
 */
export function createTokenVerifier(opts: {
  jwks: string | JWTVerifyGetKey | CryptoKey | Uint8Array;
  clockToleranceSec?: number;
}): TokenVerifier {
  const key =
    typeof opts.jwks === 'string' ? createRemoteJWKSet(new URL(opts.jwks), { cooldownDuration: 5_000 }) : opts.jwks;
  return {
    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          algorithms: [TOKEN_ALG],
          clockTolerance: opts.clockToleranceSec ?? 5,
          requiredClaims: ['sub', 'exp', 'org', 'role'],
        }));
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired.');
        if (e instanceof joseErrors.JOSEError) throw unauthenticated('The access token is invalid.');
        // JWKS unreachable and the like: still no identity, but say it is not the caller's fault.
        throw new DataPilotError('UPSTREAM_UNAVAILABLE', 'The token keys could not be fetched; try again.');
      }
      const { sub, org, role, exp } = payload as { sub?: unknown; org?: unknown; role?: unknown; exp?: number };
      if (typeof sub !== 'string' || !UUID.test(sub) || typeof org !== 'string' || !UUID.test(org))
        throw unauthenticated('The access token is invalid.');
      if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role))
        throw unauthenticated('The access token is invalid.');
      return Object.freeze({ userId: sub, orgId: org, role: role as Role, expiresAtMs: (exp ?? 0) * 1000, token });
    },
  };
}

/**
 * Extracts the token from an `Authorization: Bearer <token>` header value (RFC 6750 §2.1).
 * Returns undefined when the header is absent; throws UNAUTHENTICATED when it is present but not a bearer token.
 */
export function bearerToken(header: string | string[] | undefined | null): string | undefined {
  if (header === undefined || header === null || header === '') return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^Bearer\s+([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+)\s*$/i.exec(value ?? '');
  if (!m) throw unauthenticated('The Authorization header must be "Bearer <token>".');
  return m[1];
}

/**
 * The per-request context of every subgraph. `tenant` is null only for anonymous requests,
 * which reach public fields alone (see {@link guardResolvers}).
 */
export type RequestContext = { tenant: TenantContext | null; requestId: string };

/**
 * Builds the request context from an Authorization header: no header → anonymous; a header with a bad,
 * expired or foreign token → UNAUTHENTICATED before any resolver runs.
 */
export async function contextFromAuthorization(
  verifier: TokenVerifier,
  header: string | string[] | undefined | null,
  requestId: string,
): Promise<RequestContext> {
  try {
    const token = bearerToken(header);
    return { tenant: token ? await verifier.verify(token) : null, requestId };
  } catch (e) {
    throw e instanceof DataPilotError ? e.asRequestError() : e;
  }
}

/** Returns the verified tenant or throws UNAUTHENTICATED. */
export function requireTenant(ctx: { tenant: TenantContext | null }): TenantContext {
  if (!ctx.tenant) throw unauthenticated();
  return ctx.tenant;
}

type AnyResolver = (...args: never[]) => unknown;
type ResolverMap = Record<string, Record<string, unknown>>;

/**
 * Denies by default: wraps every root field (Query, Mutation, Subscription `subscribe`) and every
 * `__resolveReference` of `resolvers` so that it throws UNAUTHENTICATED without a verified tenant,
 * except the root fields named in `publicFields` (as "Type.field", e.g. "Mutation.login").
 * Resolvers still take the org from `ctx.tenant`, never from arguments.
 */
export function guardResolvers<R extends ResolverMap>(resolvers: R, publicFields: readonly string[] = []): R {
  const out: ResolverMap = {};
  const isPublic = new Set(publicFields);
  const wrap = (fn: AnyResolver, ctxIndex: number) =>
    function guarded(this: unknown, ...args: unknown[]) {
      requireTenant((args[ctxIndex] as { tenant: TenantContext | null }) ?? { tenant: null });
      return (fn as (...a: unknown[]) => unknown).apply(this, args);
    };
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const root = typeName === 'Query' || typeName === 'Mutation' || typeName === 'Subscription';
    const copy: Record<string, unknown> = { ...fields };
    for (const [field, value] of Object.entries(fields)) {
      if (isPublic.has(`${typeName}.${field}`)) continue;
      if (field === '__resolveReference' && typeof value === 'function') copy[field] = wrap(value as AnyResolver, 1);
      else if (root && typeof value === 'function') copy[field] = wrap(value as AnyResolver, 2);
      else if (root && value && typeof value === 'object' && 'subscribe' in value) {
        const sub = value as { subscribe: AnyResolver };
        copy[field] = { ...sub, subscribe: wrap(sub.subscribe, 2) };
      }
    }
    out[typeName] = copy;
  }
  return out as R;
}
