/**
 * The client's credential: an API key (sent as it is; the gateway exchanges it), or a session — an access token and
 * the single-use refresh token that renews it — kept fresh here. One refresh at a time: refresh tokens are single
 * use and presenting one twice ends the whole session (README, "Tokens"), so concurrent callers share the refresh in
 * flight and a caller whose token was already replaced retries with the new one instead of refreshing again.
 */
import { DataPilotClientError } from './errors.ts';

/** A signed-in session, as the sign-in mutations answer it (`AuthPayload`). */
export type Session = {
  /** JWT for `Authorization: Bearer …`; lives 15 minutes by default. */
  accessToken: string;
  /** Opaque single-use token for `refreshToken`; absent when the client was given an access token alone. */
  refreshToken?: string;
  /** When the access token expires, ISO 8601 UTC (read from the token's `exp` when not given). */
  expiresAt?: string;
  role?: string;
  user?: { id: string; email: string };
  organization?: { id: string; name: string };
};

/**
 * Why the session changed: `signIn` (login, signup, credentials, a new token given), `refresh`, `switchOrganization`,
 * `signOut` (signed out, or the session could not be renewed). A cache of another user's or organization's data must
 * be dropped on `signIn`, `switchOrganization` and `signOut` (README, "Client SDK": Apollo Client's `clearStore()`).
 */
export type SessionChangeReason = 'signIn' | 'refresh' | 'switchOrganization' | 'signOut';

/** What {@link TokenManager} needs from the transport. */
export type TokenManagerDeps = {
  /** Exchanges a refresh token for a new session (the `refreshToken` mutation, sent without a credential). */
  refresh(refreshToken: string): Promise<Session>;
  /** Signs in with the configured email and password (the `login` mutation); absent without credentials. */
  login?: () => Promise<Session>;
  /** Called after every change, with the new session (null once signed out). */
  onChange(session: Session | null, reason: SessionChangeReason): void;
  /** Refresh when the access token expires within this many milliseconds. */
  refreshMarginMs: number;
  /** The clock, in epoch milliseconds (tests). */
  now?: () => number;
};

/**
 * The `exp` and `iat` claims of a JWT access token, in epoch milliseconds (each undefined when absent, both when it is
 * not a JWT). Reads the payload only (no verification: the server verifies).
 */
export function tokenTimesMs(token: string): { exp?: number; iat?: number } {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown; iat?: unknown };
    const ms = (v: unknown) => (typeof v === 'number' ? v * 1000 : undefined);
    return { exp: ms(claims.exp), iat: ms(claims.iat) };
  } catch {
    return {};
  }
}

/** Keeps the credential of one client; see the module's description. */
export class TokenManager {
  private readonly apiKey: string | undefined;
  private session: Session | null;
  private pending: Promise<void> | null = null;
  private readonly now: () => number;
  /** When the session was set, in epoch milliseconds (its token's lifetime bounds the refresh margin). */
  private setAt: number;

  /**
   * @param initial an API key (`dp_live_…`, never refreshed), or an access token with an optional refresh token, or
   *   nothing (anonymous until a sign-in; with `deps.login`, the first call signs in).
   */
  constructor(
    initial: { apiKey?: string; token?: string; refreshToken?: string },
    private readonly deps: TokenManagerDeps,
  ) {
    this.apiKey = initial.apiKey;
    this.session = initial.token ? { accessToken: initial.token, refreshToken: initial.refreshToken } : null;
    this.now = deps.now ?? Date.now;
    this.setAt = this.now();
  }

  /** The current session (null: none, or an API key is used). */
  get current(): Session | null {
    return this.session;
  }

  /**
   * The credential for the next request: the API key; or the access token, refreshed first when it expires within
   * the margin (and a refresh token is there), or after signing in with the configured credentials when there is no
   * session yet; undefined when anonymous. Waits for a refresh already in flight.
   * @throws DataPilotClientError when signing in or refreshing fails (e.g. UNAUTHENTICATED, UPSTREAM_UNAVAILABLE).
   */
  async credential(): Promise<string | undefined> {
    if (this.apiKey) return this.apiKey;
    // A renewal in flight (or just made) gives this call its token: never a second one in a row.
    if (this.pending) {
      await this.pending;
      return this.current?.accessToken;
    }
    if (!this.session && this.deps.login) {
      await this.renew();
      return this.current?.accessToken;
    }
    const s = this.session;
    if (!s) return undefined;
    const times = tokenTimesMs(s.accessToken);
    const at = s.expiresAt ? Date.parse(s.expiresAt) : NaN;
    const exp = Number.isFinite(at) ? at : times.exp;
    // Within the margin, or within half the token's lifetime when that is shorter (a server with short-lived tokens
    // must not make every call a refresh).
    const lifetime = exp === undefined ? Infinity : exp - (times.iat ?? this.setAt);
    const margin = Math.min(this.deps.refreshMarginMs, lifetime / 2);
    if (exp !== undefined && exp - this.now() <= margin && (s.refreshToken || this.deps.login)) {
      await this.renew();
      return this.current?.accessToken;
    }
    return s.accessToken;
  }

  /**
   * After a request sent with credential `used` was refused as UNAUTHENTICATED (an HTTP 401, a 4401 close): renews
   * the session unless it already moved on from `used` (another caller refreshed meanwhile).
   * @returns true when a retry with {@link credential} may succeed; false when there is nothing to renew (an API key,
   *   a token without a refresh token or credentials) — the refusal stands.
   * @throws DataPilotClientError when renewing fails.
   */
  async recover(used: string): Promise<boolean> {
    if (this.apiKey) return false;
    if (this.pending) await this.pending;
    if (this.session && this.session.accessToken !== used) return true;
    if (!this.session?.refreshToken && !this.deps.login) return false;
    await this.renew();
    return true;
  }

  /** Replaces the session (a sign-in answered by the API) and tells `onChange`. */
  set(session: Session | null, reason: SessionChangeReason): void {
    this.session = session;
    this.setAt = this.now();
    this.deps.onChange(session, reason);
  }

  /**
   * Renews the session once for every caller: with the refresh token (`refresh`), or — when there is none, or it is
   * refused as UNAUTHENTICATED (used, expired, the session revoked) — by signing in again with the credentials.
   * Without either, the session is dropped (`signOut`) and UNAUTHENTICATED thrown.
   */
  renew(): Promise<void> {
    this.pending ??= (async () => {
      const refreshToken = this.session?.refreshToken;
      if (refreshToken) {
        try {
          return this.set(await this.deps.refresh(refreshToken), 'refresh');
        } catch (e) {
          if (!(e instanceof DataPilotClientError) || e.code !== 'UNAUTHENTICATED') throw e;
          if (!this.deps.login) {
            this.set(null, 'signOut');
            throw e;
          }
        }
      }
      if (this.deps.login) return this.set(await this.deps.login(), 'signIn');
      this.set(null, 'signOut');
      throw new DataPilotClientError('UNAUTHENTICATED', 'The access token has expired and cannot be renewed; sign in.');
    })().finally(() => (this.pending = null));
    return this.pending;
  }
}
