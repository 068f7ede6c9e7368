import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey, type CryptoKey } from 'jose';
import { DataPilotError, unauthenticated } from './errors.ts';

/** Roles inside an organization, strongest first. */
export const ROLES = ['OWNER', 'ADMIN', 'ANALYST', 'VIEWER'] as const;
export type Role = (typeof ROLES)[number];

/** JWT issuer (`iss`) and audience (`aud`) that DataPilot's auth subgraph signs and every service checks. */
export const TOKEN_ISSUER = 'datapilot-auth';
export const TOKEN_AUDIENCE = 'datapilot';
/** JWS algorithm of access tokens: EdDSA over Ed25519 (RFC 8037). */
export const TOKEN_ALG = 'EdDSA';
/**
 * Clock skew a verifier allows on `exp` / `nbf`, in seconds: a token verifies until `exp` + this. The one clock rule
 * of both transports: an HTTP request is refused, and a WebSocket that authenticated with the token is closed (4401),
 * from the same instant, {@link tokenAcceptedUntilMs}.
 */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 5;

/**
 * The first instant (epoch milliseconds) at which a verifier with `clockToleranceSec` refuses a token whose `exp`
 * claim is `expiresAtMs` / 1000: `expiresAtMs + clockToleranceSec × 1000`. This is jose's own check (`jwtVerify`
 * refuses once `exp <= floor(now / 1000) - tolerance`, i.e. from `(exp + tolerance) × 1000` ms on), written out so
 * that a socket's expiry timer (ws.ts) closes at the instant HTTP starts refusing.
 */
export function tokenAcceptedUntilMs(expiresAtMs: number, clockToleranceSec = TOKEN_CLOCK_TOLERANCE_SECONDS): number {
  return expiresAtMs + clockToleranceSec * 1000;
}
/**
 * How long a verifier keeps the JWKS it fetched before fetching it again, in seconds; also the `max-age` of the JWKS
 * response, so an HTTP cache in front keeps it as long. A key published this long (twice, for such a cache in front
 * of a verifier) before it signs is known to every verifier before the first token it signs (auth's key rotation).
 */
export const JWKS_CACHE_MAX_AGE_SECONDS = 300;
/**
 * Least pause between two JWKS fetches that a token with an unknown `kid` triggers, in milliseconds: a new key is
 * fetched at once, but a flood of made-up `kid`s costs the auth subgraph one fetch per verifier every 5 seconds.
 */
export const JWKS_REFETCH_COOLDOWN_MS = 5_000;

/**
 * What a verified access token says, and the only source of the organization for every resolver,
 * entity reference, query and file path. Frozen: nothing downstream can change the org.
 */
export type TenantContext = Readonly<{
  /** `sub` claim: the user id (UUID). */
  userId: string;
  /** `org` claim: the organization id (UUID). */
  orgId: string;
  /**
   * The user's role in `orgId`: the token's `role` claim once verified, then the current role from the principal
   * check (context.ts), which is what the guard enforces.
   */
  role: Role;
  /** `sid` claim: the session (refresh-token family id) or API key (its id) the token was issued for (UUID). */
  sessionId: string;
  /**
   * What `sessionId` is, as the principal check reports it: a password sign-in (`session`) or an API key (`apiKey`).
   * A freshly verified token says `session` until the principal check has answered (context.ts).
   */
  credential: 'session' | 'apiKey';
  /** `exp` claim as epoch milliseconds. */
  expiresAtMs: number;
  /** The compact JWS itself, to forward to the next service (never logged). */
  token: string;
}>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A JWS in compact serialization (RFC 7515 §7.1): three base64url parts separated by dots. */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The message of a bearer credential that is not a JWT at all (the header itself is well formed). */
export const TOKEN_MALFORMED = 'The access token is malformed: a JWT is three base64url parts separated by dots.';

/** Verifies compact JWS access tokens; see {@link createTokenVerifier}. */
export interface TokenVerifier {
  /** The clock skew this verifier allows on `exp` / `nbf`, in seconds (see {@link tokenAcceptedUntilMs}). */
  readonly clockToleranceSec: number;
  /**
   * Verifies signature (EdDSA, key chosen by `kid` from the JWKS), `iss`, `aud`, `exp` and the shape of
   * `sub`, `org`, `sid` (UUIDs) and `role`.
   * @throws DataPilotError UNAUTHENTICATED for any failure, with a message that says which kind
   *   ({@link TOKEN_MALFORMED}, "The access token has expired.", "The access token is invalid.");
   *   UPSTREAM_UNAVAILABLE when the key set cannot be fetched.
   */
  verify(token: string): Promise<TenantContext>;
}

/**
 * Creates a verifier against a JWKS (RFC 7517): a URL (fetched by jose, kept {@link JWKS_CACHE_MAX_AGE_SECONDS},
 * fetched again at once for a token with an unknown `kid` unless the last fetch is younger than
 * {@link JWKS_REFETCH_COOLDOWN_MS}) or a local key set/key for tests.
 * @param opts.jwks the auth subgraph's `/.well-known/jwks.json` URL, or a jose key resolver.
 * @param opts.clockToleranceSec allowed clock skew on `exp`/`nbf`, in seconds (default
 *   {@link TOKEN_CLOCK_TOLERANCE_SECONDS}).
 */
export function createTokenVerifier(opts: {
  jwks: string | JWTVerifyGetKey | CryptoKey | Uint8Array;
  clockToleranceSec?: number;
}): TokenVerifier {
  const key =
    typeof opts.jwks === 'string'
      ? createRemoteJWKSet(new URL(opts.jwks), {
          cooldownDuration: JWKS_REFETCH_COOLDOWN_MS,
          cacheMaxAge: JWKS_CACHE_MAX_AGE_SECONDS * 1000,
        })
      : opts.jwks;
  const clockToleranceSec = opts.clockToleranceSec ?? TOKEN_CLOCK_TOLERANCE_SECONDS;
  return {
    clockToleranceSec,
    async verify(token) {
      if (!JWS_COMPACT.test(token)) throw unauthenticated(TOKEN_MALFORMED);
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          algorithms: [TOKEN_ALG],
          clockTolerance: clockToleranceSec,
          requiredClaims: ['sub', 'exp', 'org', 'role', 'sid'],
        }));
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired.');
        if (e instanceof joseErrors.JOSEError) throw unauthenticated('The access token is invalid.');
        // JWKS unreachable and the like: still no identity, but say it is not the caller's fault.
        throw new DataPilotError('UPSTREAM_UNAVAILABLE', 'The token keys could not be fetched; try again.');
      }
      const { sub, org, role, sid, exp } = payload as {
        sub?: unknown;
        org?: unknown;
        role?: unknown;
        sid?: unknown;
        exp?: number;
      };
      const uuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
      if (!uuid(sub) || !uuid(org) || !uuid(sid)) throw unauthenticated('The access token is invalid.');
      if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role))
        throw unauthenticated('The access token is invalid.');
      return Object.freeze({
        userId: sub,
        orgId: org,
        role: role as Role,
        sessionId: sid,
        credential: 'session' as const,
        expiresAtMs: (exp ?? 0) * 1000,
        token,
      });
    },
  };
}

/** The message of an `Authorization` value that is not `Bearer <credential>`. */
export const AUTHORIZATION_FORMAT = 'The Authorization header must be "Bearer <token>".';

/**
 * Extracts the credential from an `Authorization: Bearer <credential>` header value (RFC 6750 §2.1: the scheme is
 * case-insensitive, one credential without spaces follows). What the credential holds is the verifier's business:
 * `Bearer not-a-jwt` is returned here and refused by {@link TokenVerifier.verify} as {@link TOKEN_MALFORMED}.
 * Returns undefined when the header is absent or empty; throws UNAUTHENTICATED ({@link AUTHORIZATION_FORMAT}) when
 * it is present but not `Bearer <something>` (another scheme, no credential, several words).
 */
export function bearerToken(header: string | string[] | undefined | null): string | undefined {
  if (header === undefined || header === null || header === '') return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^\s*Bearer +(\S+)\s*$/i.exec(value ?? '');
  if (!m) throw unauthenticated(AUTHORIZATION_FORMAT);
  return m[1];
}

/**
 * The per-request context of every service. `tenant` is null for anonymous requests and for requests whose credential
 * was refused; both reach public fields alone (see guardSchema in guard.ts). Built by `contextFromRequest`
 * (context.ts).
 */
export type RequestContext = {
  tenant: TenantContext | null;
  requestId: string;
  /**
   * Set (and `tenant` null) when the request carried a credential that was refused: the UNAUTHENTICATED error whose
   * message says why (expired, invalid, malformed, not `Bearer <token>`, session ended, API key revoked). Public
   * fields still run; every other field answers UNAUTHENTICATED with this message (guard.ts), and a response whose
   * only errors are those answers HTTP 401 (context.ts, {@link answerRefusedCredential}).
   */
  credentialRefused?: DataPilotError;
};

/**
 * Whether a request without a tenant sent no credential (`missing`) or one that was refused (`refused`): the value of
 * `extensions.credential` on the UNAUTHENTICATED error of a field that needs a tenant ({@link credentialRequired}).
 */
export type CredentialState = 'missing' | 'refused';

/**
 * The UNAUTHENTICATED error of a field that needs a verified tenant, for a request that has none. It carries
 * `extensions.credential` ({@link CredentialState}) and says why: "A valid access token is required." when no
 * credential came, the refusal's own message (`ctx.credentialRefused`: expired, malformed, ...) when one was refused.
 * That extension tells these apart from the UNAUTHENTICATED a public field answers about its own input (a wrong
 * password at `login`, a used refresh token), which has none: http.ts answers HTTP 401 only for the former, and a
 * client refreshes its token only for them.
 */
export function credentialRequired(ctx: Pick<RequestContext, 'credentialRefused'> | null | undefined): DataPilotError {
  const refused = ctx?.credentialRefused;
  return refused
    ? new DataPilotError('UNAUTHENTICATED', refused.message, { credential: 'refused' satisfies CredentialState })
    : new DataPilotError('UNAUTHENTICATED', 'A valid access token is required.', {
        credential: 'missing' satisfies CredentialState,
      });
}

/** Returns the verified tenant or throws UNAUTHENTICATED ({@link credentialRequired}). */
export function requireTenant(ctx: {
  tenant: TenantContext | null;
  credentialRefused?: DataPilotError;
}): TenantContext {
  if (!ctx.tenant) throw credentialRequired(ctx);
  return ctx.tenant;
}

/**
 * `__resolveReference` of the `Organization` entity in a subgraph that adds fields to it (chat, lake, graph): only the
 * caller's own organization (the token's `org`, compared case-insensitively) resolves, to `{ id }`; any other id, or
 * one that is not a string, resolves to null, so another organization's fields are never computed.
 */
export function ownOrganizationReference(
  ref: Readonly<Record<string, unknown>>,
  ctx: Parameters<typeof requireTenant>[0],
): { id: string } | null {
  return typeof ref.id === 'string' && ref.id.toLowerCase() === requireTenant(ctx).orgId ? { id: ref.id } : null;
}
