/**
 * The account flows behind the public mutations — signup, login, refresh — and the registration step that
 * `ensureUser` shares with signup. Resolvers stay thin: they call these and shape nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  badUserInput,
  conflict,
  DataPilotError,
  inTenantTransaction,
  setDbScope,
  unauthenticated,
  type Role,
  recordAudit,
} from '@datapilot/common';
import * as db from './data/accounts.ts';
import type { OrganizationView, UserView } from './data/tenant.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { orgView, userView, type AuthPayload, type SessionIssuer } from './sessions.ts';
import { claimInvitation } from './teams.ts';
import { hashSecret } from './tokens.ts';
import { checkEmail, checkOrgName, checkPasswordStrength, normalizeEmail } from './validation.ts';

export type { AuthPayload } from './sessions.ts';

/** The one message for an unknown email and a wrong password alike (no account enumeration through login). */
export const INVALID_CREDENTIALS = 'Invalid email or password.';
const INVALID_REFRESH = 'The refresh token is invalid, expired or already used.';

/**
 * Signup's input, before validation: `orgName` for a new organization, or `invitationToken` to join the organization
 * that invited `email` (exactly one of them).
 */
export type SignupInput = {
  email: string;
  password: string;
  orgName?: string | null;
  invitationToken?: string | null;
};

/**
 * Validates the input, hashes the password (outside the transaction), then in one transaction creates the user and
 * either a new organization with the user as OWNER (`orgName`) or the membership an invitation offers
 * (`invitationToken`, used up; teams.ts claimInvitation). Used by signup and by ensureUser.
 * @throws BAD_USER_INPUT with `field` (email, password, orgName: missing, or given with an invitation); CONFLICT
 *   when the email has an account; for an invitation, what claimInvitation throws (NOT_FOUND, CONFLICT, FORBIDDEN).
 */
export async function registerAccount(
  pool: Pool,
  input: SignupInput,
): Promise<{ user: UserView; org: OrganizationView; role: Role }> {
  const email = checkEmail(input.email);
  checkPasswordStrength(input.password);
  const invitation = input.invitationToken ?? null;
  if (invitation !== null && input.orgName != null)
    throw badUserInput('Give orgName for a new organization or invitationToken to join one, not both.', 'orgName');
  if (invitation === null && input.orgName == null)
    throw badUserInput('orgName is required (the new organization) unless invitationToken is given.', 'orgName');
  const orgName = invitation === null ? checkOrgName(input.orgName!) : null;
  const passwordHash = await hashPassword(input.password);
  // Row-level security: users hold no org; the new organization's rows are written in its own scope (an invitation's
  // organization: claimInvitation sets it).
  return inTenantTransaction(pool, {}, async (c) => {
    const row = await db.insertUser(c, email, passwordHash);
    if (!row) throw conflict('An account with this email exists already.');
    const user = userView(row);
    if (orgName === null) {
      const { organization, role } = await claimInvitation(c, invitation!, user);
      return { user, org: organization, role };
    }
    const orgId = randomUUID();
    await setDbScope(c, { orgId, userId: user.id });
    const org = await db.insertOrganization(c, orgId, orgName);
    await db.insertMembership(c, user.id, org.id, 'OWNER');
    return { user, org: orgView(org), role: 'OWNER' as const };
  });
}

/** Options of {@link createAccountService}. */
export type AccountServiceDeps = {
  pool: Pool;
  /** Issues the token pairs (sessions.ts). */
  sessions: SessionIssuer;
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

/** Creates the account flows over `deps.pool`, issuing tokens with `deps.sessions`. */
export function createAccountService(deps: AccountServiceDeps): AccountService {
  const { pool, sessions, throttle } = deps;

  /**
   * Signup with an invitation for an email that has an account already (e.g. someone removed from their only
   * organization, who cannot sign in): the password must be the account's, checked and throttled exactly as `login`;
   * then the invitation is claimed for that account. Null when there is no invitation or no such account (a new
   * account is registered instead).
   * @throws RATE_LIMITED, UNAUTHENTICATED {@link INVALID_CREDENTIALS} (as login); what claimInvitation throws.
   */
  async function joinWithAccount(input: SignupInput) {
    if (!input.invitationToken || input.orgName != null) return null;
    const normalized = normalizeEmail(input.email);
    if (/\p{Cc}/u.test(normalized)) return null;
    const existing = await db.findUserByEmail(pool, normalized);
    if (!existing) return null;
    const attempt = await throttle.begin(input.email);
    if (!(await verifyPassword(input.password, existing.password_hash))) {
      await attempt.failed();
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    await attempt.succeeded();
    const user = userView(existing);
    const joined = await inTenantTransaction(pool, {}, (c) => claimInvitation(c, input.invitationToken!, user));
    return { user, org: joined.organization, role: joined.role };
  }

  return {
    async signup(input) {
      const { user, org, role } = (await joinWithAccount(input)) ?? (await registerAccount(pool, input));
      return inTenantTransaction(pool, { orgId: org.id, userId: user.id }, async (c) => {
        const actor = { userId: user.id };
        await recordAudit(
          c,
          input.invitationToken
            ? {
                orgId: org.id,
                actor,
                action: 'invitation.accept',
                targetType: 'User',
                targetId: user.id,
                detail: { role },
              }
            : { orgId: org.id, actor, action: 'organization.create', targetType: 'Organization', targetId: org.id },
        );
        await recordAudit(c, { orgId: org.id, actor, action: 'session.sign_in', detail: { method: 'signup' } });
        return sessions.issue(c, user, org, role);
      });
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
      // The password is right: the user's own memberships, in every organization, are theirs to read.
      const memberships = await inTenantTransaction(pool, { userId: user.id }, (c) => db.listMemberships(c, user.id));
      const first = memberships[0];
      if (!first) throw new DataPilotError('FORBIDDEN', 'This account belongs to no organization.');
      return inTenantTransaction(pool, { orgId: first.org_id, userId: user.id }, async (c) => {
        await recordAudit(c, {
          orgId: first.org_id,
          actor: { userId: user.id },
          action: 'session.sign_in',
          detail: { method: 'password' },
        });
        return sessions.issue(
          c,
          userView(user),
          orgView({ id: first.org_id, name: first.org_name, created_at: first.org_created_at }),
          first.role,
        );
      });
    },

    async refresh(refreshToken) {
      // Decide inside the transaction, throw after it: a detected reuse must commit the family's revocation.
      // Row-level security: the presented secret's hash admits its one row; that row then names the org and user.
      const hash = hashSecret(refreshToken);
      const outcome = await inTenantTransaction(pool, { secretHash: hash }, async (c) => {
        const row = await db.lockRefreshToken(c, hash);
        if (!row) return { error: INVALID_REFRESH } as const;
        await setDbScope(c, { orgId: row.org_id, userId: row.user_id, secretHash: hash });
        if (row.revoked) {
          await db.revokeFamily(c, row.family_id);
          return { error: INVALID_REFRESH, reuse: true } as const;
        }
        if (row.expired) return { error: INVALID_REFRESH } as const;
        await db.revokeRefreshToken(c, row.id);
        const found = await db.findMembership(c, row.user_id, row.org_id);
        if (!found) return { error: 'You are no longer a member of this organization.' } as const;
        const { user, membership: m } = found;
        const payload = await sessions.issue(
          c,
          userView(user),
          orgView({ id: m.org_id, name: m.org_name, created_at: m.org_created_at }),
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
