/**
 * The account flows behind the public mutations — signup, login, refresh — and the registration step that
 * `ensureUser` shares with signup. Resolvers stay thin: they call these and shape nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { conflict, DataPilotError, inTransaction, unauthenticated, type Role } from '@datapilot/common';
import * as db from './data/accounts.ts';
import type { OrganizationView, UserView } from './data/tenant.ts';
import type { SigningKeyStore } from './keys.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { hashRefreshToken, newRefreshToken, signAccessToken } from './tokens.ts';
import { checkEmail, checkOrgName, checkPasswordStrength, normalizeEmail } from './validation.ts';

/** The one message for an unknown email and a wrong password alike (no account enumeration through login). */
export const INVALID_CREDENTIALS = 'Invalid email or password.';
const INVALID_REFRESH = 'The refresh token is invalid, expired or already used.';

/** What signup, login and refreshToken return (the AuthPayload type). */
export type AuthPayload = {
  accessToken: string;
  refreshToken: string;
  /** Access-token expiry, ISO 8601 UTC. */
  expiresAt: string;
  user: UserView;
  organization: OrganizationView;
  role: Role;
};

/** Signup's input, before validation. */
export type SignupInput = { email: string; password: string; orgName: string };

/**
 * Validates the input, hashes the password (outside the transaction), then in one transaction creates the
 * user, a new organization and an OWNER membership. Used by signup and by ensureUser.
 * @throws BAD_USER_INPUT with `field` (email, password, orgName); CONFLICT when the email has an account.
 */
export async function registerAccount(
  pool: Pool,
  input: SignupInput,
): Promise<{ user: db.UserRow; org: db.OrgRow; role: Role }> {
  const email = checkEmail(input.email);
  checkPasswordStrength(input.password);
  const orgName = checkOrgName(input.orgName);
  const passwordHash = await hashPassword(input.password);
  return inTransaction(pool, async (c) => {
    const user = await db.insertUser(c, email, passwordHash);
    if (!user) throw conflict('An account with this email exists already.');
    const org = await db.insertOrganization(c, orgName);
    await db.insertMembership(c, user.id, org.id, 'OWNER');
    return { user, org, role: 'OWNER' as const };
  });
}

/** Options of {@link createAccountService}. */
export type AccountServiceDeps = {
  pool: Pool;
  keys: Pick<SigningKeyStore, 'signing'>;
  /** Access-token lifetime in seconds. */
  accessTokenTtlSeconds: number;
  /** Refresh-token lifetime in seconds. */
  refreshTokenTtlSeconds: number;
  /** Per-email login throttling (state in PostgreSQL, shared by replicas). */
  throttle: LoginThrottle;
};

/** The public account flows; see {@link createAccountService}. */
export interface AccountService {
  /** @see registerAccount, then signs the new user in. */
  signup(input: SignupInput): Promise<AuthPayload>;
  /**
   * Checks email + password and signs in to the organization the user joined first. An unknown email costs
   * the same scrypt work as a known one (verified against a dummy hash).
   *
   * Throttled per normalised email (see login-throttle.ts; OWASP Authentication Cheat Sheet, "Login Throttling" /
   * "Account Lockout"): the attempt is counted first; once the email has `maxFailures` failures within the last
   * `windowSeconds` (defaults 10 per 900 s), the call answers RATE_LIMITED before any lookup or scrypt, for known
   * and unknown emails alike. A correct password clears the email's failures.
   * @throws RATE_LIMITED "Too many failed logins for this email. Try again later." with
   *   `extensions.retryAfterSeconds` (integer seconds, 1..windowSeconds), even when the password is right;
   *   UNAUTHENTICATED {@link INVALID_CREDENTIALS} for an unknown email or a wrong password;
   *   FORBIDDEN when the (authenticated) user belongs to no organization.
   */
  login(email: string, password: string): Promise<AuthPayload>;
  /**
   * Rotates a refresh token: the presented token is revoked and a new one (same family) is returned with a
   * new access token carrying the role as it is now. Presenting a revoked token revokes its whole family
   * (OAuth 2.0 Security BCP, RFC 9700 §4.14.2: refresh token rotation with reuse detection).
   * @throws UNAUTHENTICATED for an unknown, expired or revoked token, or when the membership is gone.
   */
  refresh(refreshToken: string): Promise<AuthPayload>;
}

/** Creates the account flows over `deps.pool`, signing with `deps.keys`. */
export function createAccountService(deps: AccountServiceDeps): AccountService {
  const { pool, keys, accessTokenTtlSeconds, refreshTokenTtlSeconds, throttle } = deps;

  /** Signs an access token and stores a new refresh token (in `c`'s transaction when given). */
  async function issue(
    c: db.Db,
    user: { id: string; email: string; created_at: Date },
    org: { id: string; name: string; created_at: Date },
    role: Role,
    familyId: string = randomUUID(),
  ): Promise<AuthPayload> {
    const refresh = newRefreshToken();
    await db.insertRefreshToken(c, {
      familyId,
      userId: user.id,
      orgId: org.id,
      hash: refresh.hash,
      ttlSeconds: refreshTokenTtlSeconds,
    });
    const access = await signAccessToken(keys, { userId: user.id, orgId: org.id, role }, accessTokenTtlSeconds);
    return {
      accessToken: access.token,
      refreshToken: refresh.token,
      expiresAt: access.expiresAt.toISOString(),
      user: { id: user.id, email: user.email, createdAt: user.created_at.toISOString() },
      organization: { id: org.id, name: org.name, createdAt: org.created_at.toISOString() },
      role,
    };
  }

  return {
    async signup(input) {
      const { user, org, role } = await registerAccount(pool, input);
      return issue(pool, user, org, role);
    },

    async login(email, password) {
      const attempt = await throttle.begin(email); // RATE_LIMITED here: no lookup, no scrypt
      // No stored email has a control character (signup refuses them; PostgreSQL text cannot hold NUL):
      // such an input is an unknown email, answered like any other.
      const normalized = normalizeEmail(email);
      const user = /\p{Cc}/u.test(normalized) ? undefined : await db.findUserByEmail(pool, normalized);
      const ok = await verifyPassword(password, user ? user.password_hash : await dummyHash());
      if (!user || !ok) {
        await attempt.failed();
        throw unauthenticated(INVALID_CREDENTIALS);
      }
      await attempt.succeeded();
      if (needsRehash(user.password_hash)) await db.updatePasswordHash(pool, user.id, await hashPassword(password));
      const first = (await db.listMemberships(pool, user.id))[0];
      if (!first) throw new DataPilotError('FORBIDDEN', 'This account belongs to no organization.');
      return issue(
        pool,
        user,
        { id: first.org_id, name: first.org_name, created_at: first.org_created_at },
        first.role,
      );
    },

    async refresh(refreshToken) {
      // Decide inside the transaction, throw after it: a detected reuse must commit the family's revocation.
      const outcome = await inTransaction(pool, async (c) => {
        const row = await db.lockRefreshToken(c, hashRefreshToken(refreshToken));
        if (!row) return { error: INVALID_REFRESH } as const;
        if (row.revoked) {
          await db.revokeFamily(c, row.family_id);
          return { error: INVALID_REFRESH, reuse: true } as const;
        }
        if (row.expired) return { error: INVALID_REFRESH } as const;
        await db.revokeRefreshToken(c, row.id);
        const found = await db.findMembership(c, row.user_id, row.org_id);
        if (!found) return { error: 'You are no longer a member of this organization.' } as const;
        const { user, membership: m } = found;
        const payload = await issue(
          c,
          user,
          { id: m.org_id, name: m.org_name, created_at: m.org_created_at },
          m.role,
          row.family_id,
        );
        return { payload } as const;
      });
      if ('error' in outcome) throw unauthenticated(outcome.error);
      return outcome.payload;
    },
  };
}
