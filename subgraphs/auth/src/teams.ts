/**
 * The team flows behind the authenticated fields of issue 6, section 1: memberships, invitations, switching
 * organization, leaving, signing out. Who may call each field is the permission table's (enforced by the schema
 * guard); these flows enforce the rest (team-rules.ts) with the caller's role read again inside the transaction that
 * makes the change, under the organization's lock — so two OWNERs demoting each other at once cannot leave none, and
 * a role changed a second ago is the one that counts. Everything is scoped by the token's organization
 * (`tenant.orgId`); an id of another organization is NOT_FOUND.
 */
import type { Pool, PoolClient } from 'pg';
import {
  conflict,
  forbidden,
  inTenantTransaction,
  notFound,
  setDbScope,
  SESSION_ENDED,
  unauthenticated,
  type Page,
  type PageRequest,
  type Role,
  type TenantContext,
  recordAudit,
} from '@datapilot/common';
import { insertMembership, type Db } from './data/accounts.ts';
import { currentPrincipal, type Principal } from './data/principal.ts';
import * as db from './data/teams.ts';
import type { InvitationView, MembershipView } from './data/teams.ts';
import type { OrganizationView, UserView } from './data/tenant.ts';
import type { AuthPayload, SessionIssuer } from './sessions.ts';
import { checkGrant, checkKeepsOwner, checkManage } from './team-rules.ts';
import { hashSecret, INVITATION_TOKEN_PREFIX, newSecret } from './tokens.ts';
import { checkEmail } from './validation.ts';

/** How long an invitation can be accepted: 604 800 seconds (7 days, issue 6). */
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;

/** The caller's live principal, or UNAUTHENTICATED (session ended, membership gone). */
export async function callerPrincipal(c: Db, tenant: TenantContext): Promise<Principal> {
  const p = await currentPrincipal(c, tenant);
  if (!p) throw unauthenticated(SESSION_ENDED);
  return p;
}

/**
 * Uses up the open invitation whose token is `token` for `user` (in `c`'s transaction): locks its organization, then
 * the invitation; makes the user a member with the invitation's role and marks the invitation accepted.
 * Shared by acceptInvitation and signup with an invitation. Row-level security: the token's hash admits the one
 * invitation it names; the transaction's scope is then that invitation's organization and `user` (it stays so).
 * @throws NOT_FOUND for an unknown token; CONFLICT when the invitation was used, revoked or has expired, or the user
 *   is a member already; FORBIDDEN when it was sent to another email.
 */
export async function claimInvitation(
  c: PoolClient,
  token: string,
  user: UserView,
): Promise<{ organization: OrganizationView; role: Role }> {
  const hash = token.startsWith(INVITATION_TOKEN_PREFIX) ? hashSecret(token) : undefined;
  if (hash) await setDbScope(c, { userId: user.id, secretHash: hash });
  const found = hash ? await db.invitationOrg(c, hash) : undefined;
  if (!found) throw notFound('The invitation');
  await setDbScope(c, { orgId: found.orgId, userId: user.id });
  await db.lockOrganization(c, found.orgId);
  const inv = await db.lockInvitation(c, found.orgId, found.id);
  if (!inv) throw notFound('The invitation'); // its organization was deleted meanwhile
  if (inv.status === 'ACCEPTED') throw conflict('This invitation has been used already.');
  if (inv.status === 'REVOKED') throw conflict('This invitation has been revoked.');
  if (inv.status === 'EXPIRED') throw conflict('This invitation has expired; ask for a new one.');
  if (inv.email !== user.email) throw forbidden('This invitation was sent to another email address.');
  if (await db.getMember(c, found.orgId, user.id)) throw conflict('You are a member of this organization already.');
  await insertMembership(c, user.id, found.orgId, inv.role);
  await db.markInvitationAccepted(c, found.orgId, inv.id, user.id);
  const m = (await db.getMember(c, found.orgId, user.id))!;
  return { organization: m.organization, role: m.role };
}

/** The team flows; see {@link createTeamService}. Every method takes the verified tenant of the request. */
export interface TeamService {
  /** The caller's memberships, joined first first; for an API key, only the key's organization. */
  organizations(tenant: TenantContext): Promise<MembershipView[]>;
  /**
   * A new token pair in organization `orgId` (a lower-case UUID), continuing the caller's session (`sid`); the
   * session's earlier refresh tokens are revoked.
   * @throws NOT_FOUND when the caller is not a member of `orgId`; FORBIDDEN for an API key.
   */
  switchOrganization(tenant: TenantContext, orgId: string): Promise<AuthPayload>;
  /** One page of the organization's members, in the order they joined. */
  members(tenant: TenantContext, page: PageRequest): Promise<Page<MembershipView>>;
  /**
   * Invites `email` (checked and normalised here) with `role`, valid {@link INVITATION_TTL_SECONDS}; the email's
   * earlier open invitation is revoked. The token is `dp_inv_` + 43 base64url characters; only its SHA-256 is kept.
   * @throws BAD_USER_INPUT (`email`); FORBIDDEN when `role` is above the caller's; CONFLICT when a member already.
   */
  inviteMember(
    tenant: TenantContext,
    email: string,
    role: Role,
  ): Promise<{ invitation: InvitationView; token: string }>;
  /**
   * Joins the invitation's organization and moves the caller's session there (same `sid`).
   * @throws see {@link claimInvitation}; FORBIDDEN for an API key.
   */
  acceptInvitation(tenant: TenantContext, token: string): Promise<AuthPayload>;
  /** One page of the organization's pending invitations, oldest first. */
  invitations(tenant: TenantContext, page: PageRequest): Promise<Page<InvitationView>>;
  /**
   * Revokes invitation `id` (lower-case UUID) of the organization; a revoked one is returned as it is.
   * @throws NOT_FOUND; CONFLICT when it was accepted.
   */
  revokeInvitation(tenant: TenantContext, id: string): Promise<InvitationView>;
  /**
   * Sets member `userId`'s role.
   * @throws NOT_FOUND when not a member of the caller's organization; FORBIDDEN by team-rules.ts.
   */
  updateMemberRole(tenant: TenantContext, userId: string, role: Role): Promise<MembershipView>;
  /**
   * Removes member `userId`, revoking their sessions and API keys in the organization.
   * @throws NOT_FOUND; FORBIDDEN by team-rules.ts.
   */
  removeMember(tenant: TenantContext, userId: string): Promise<true>;
  /** The caller leaves the token's organization (as removeMember). @throws FORBIDDEN last owner, API key. */
  leaveOrganization(tenant: TenantContext): Promise<true>;
  /** Revokes every refresh token of the caller's session. @throws FORBIDDEN for an API key. */
  signOut(tenant: TenantContext): Promise<true>;
}

/** Creates the team flows over `deps.pool`, issuing token pairs with `deps.sessions`. */
export function createTeamService(deps: { pool: Pool; sessions: SessionIssuer }): TeamService {
  const { pool, sessions } = deps;

  /** One tenant transaction of the caller (row-level security scope: the token's organization and user). */
  const tx = <T>(tenant: TenantContext, fn: (c: PoolClient) => Promise<T>) => inTenantTransaction(pool, tenant, fn);

  /** Runs `fn` in a transaction holding the caller's organization's lock, with the caller's current principal. */
  const asCaller = <T>(tenant: TenantContext, fn: (c: Db, caller: Principal) => Promise<T>) =>
    tx(tenant, async (c) => {
      await db.lockOrganization(c, tenant.orgId);
      return fn(c, await callerPrincipal(c, tenant));
    });

  /**
   * Revokes the session's refresh tokens and issues a pair in `m.organization`, in the same session (the scope moves
   * to that organization: the new refresh token is written there).
   */
  const moveSession = async (
    c: PoolClient,
    tenant: TenantContext,
    m: { user: UserView; organization: OrganizationView; role: Role },
  ) => {
    await db.revokeSession(c, tenant.userId, tenant.sessionId);
    await setDbScope(c, { orgId: m.organization.id, userId: tenant.userId });
    return sessions.issue(c, m.user, m.organization, m.role, tenant.sessionId);
  };

  /** Deletes a membership after the last-owner rule. */
  const remove = async (c: Db, orgId: string, target: MembershipView) => {
    checkKeepsOwner(target.role, null, await db.countOwners(c, orgId));
    await db.deleteMember(c, orgId, target.user.id);
    return true as const;
  };

  return {
    organizations: (tenant) =>
      tx(tenant, async (c) => {
        const p = await callerPrincipal(c, tenant);
        const all = await db.listUserMemberships(c, tenant.userId);
        return p.via === 'session' ? all : all.filter((m) => m.organization.id === tenant.orgId);
      }),

    switchOrganization: (tenant, orgId) =>
      tx(tenant, async (c) => {
        await callerPrincipal(c, tenant); // API keys are refused by the guard (PASSWORD_SESSION_ONLY)
        const target = await db.getMember(c, orgId, tenant.userId);
        if (!target) throw notFound('The organization');
        const payload = await moveSession(c, tenant, target);
        await recordAudit(c, {
          orgId,
          actor: { tenant },
          action: 'session.switch_organization',
          detail: { from: tenant.orgId },
        });
        return payload;
      }),

    members: (tenant, page) => tx(tenant, (c) => db.listMembers(c, tenant.orgId, page)),

    async inviteMember(tenant, email, role) {
      const normalized = checkEmail(email);
      return asCaller(tenant, async (c, caller) => {
        checkGrant(caller.role, role, 'invite someone as');
        if (await db.isMemberByEmail(c, tenant.orgId, normalized))
          throw conflict(`${normalized} is a member of this organization already.`);
        const secret = newSecret(INVITATION_TOKEN_PREFIX);
        const { orgId: _o, ...invitation } = await db.replaceInvitation(c, tenant.orgId, {
          email: normalized,
          role,
          invitedBy: tenant.userId,
          tokenHash: secret.hash,
          ttlSeconds: INVITATION_TTL_SECONDS,
        });
        await recordAudit(c, {
          orgId: tenant.orgId,
          actor: { tenant },
          action: 'invitation.create',
          targetType: 'Invitation',
          targetId: invitation.id,
          detail: { email: normalized, role },
        });
        return { invitation, token: secret.token };
      });
    },

    acceptInvitation: (tenant, token) =>
      tx(tenant, async (c) => {
        await callerPrincipal(c, tenant);
        const me = (await db.getMember(c, tenant.orgId, tenant.userId))!;
        const joined = await claimInvitation(c, token, me.user);
        const payload = await moveSession(c, tenant, { user: me.user, ...joined });
        await recordAudit(c, {
          orgId: joined.organization.id,
          actor: { tenant },
          action: 'invitation.accept',
          targetType: 'User',
          targetId: tenant.userId,
          detail: { role: joined.role },
        });
        return payload;
      }),

    invitations: (tenant, page) => tx(tenant, (c) => db.listPendingInvitations(c, tenant.orgId, page)),

    revokeInvitation: (tenant, id) =>
      asCaller(tenant, async (c) => {
        const inv = await db.lockInvitation(c, tenant.orgId, id);
        if (!inv) throw notFound('The invitation');
        if (inv.status === 'ACCEPTED')
          throw conflict('This invitation has been accepted already; remove the member instead.');
        if (inv.status === 'REVOKED') return inv;
        await db.revokeInvitation(c, tenant.orgId, id);
        await recordAudit(c, {
          orgId: tenant.orgId,
          actor: { tenant },
          action: 'invitation.revoke',
          targetType: 'Invitation',
          targetId: id,
        });
        return (await db.lockInvitation(c, tenant.orgId, id))!;
      }),

    updateMemberRole: (tenant, userId, role) =>
      asCaller(tenant, async (c, caller) => {
        const target = await db.getMember(c, tenant.orgId, userId, true);
        if (!target) throw notFound('The member');
        checkManage(caller.role, target.role);
        checkGrant(caller.role, role, 'grant');
        checkKeepsOwner(target.role, role, await db.countOwners(c, tenant.orgId));
        const updated = await db.setMemberRole(c, tenant.orgId, userId, role);
        await recordAudit(c, {
          orgId: tenant.orgId,
          actor: { tenant },
          action: 'member.role_change',
          targetType: 'User',
          targetId: userId,
          detail: { from: target.role, to: role },
        });
        return updated;
      }),

    removeMember: (tenant, userId) =>
      asCaller(tenant, async (c, caller) => {
        const target = await db.getMember(c, tenant.orgId, userId, true);
        if (!target) throw notFound('The member');
        checkManage(caller.role, target.role);
        const done = await remove(c, tenant.orgId, target);
        await recordAudit(c, {
          orgId: tenant.orgId,
          actor: { tenant },
          action: 'member.remove',
          targetType: 'User',
          targetId: userId,
          detail: { role: target.role },
        });
        return done;
      }),

    leaveOrganization: (tenant) =>
      asCaller(tenant, async (c) => {
        const done = await remove(c, tenant.orgId, (await db.getMember(c, tenant.orgId, tenant.userId, true))!);
        await recordAudit(c, {
          orgId: tenant.orgId,
          actor: { tenant },
          action: 'member.leave',
          targetType: 'User',
          targetId: tenant.userId,
        });
        return done;
      }),

    signOut: (tenant) =>
      tx(tenant, async (c) => {
        // An API key is refused by the guard (PASSWORD_SESSION_ONLY); it ends with revokeApiKey.
        await db.revokeSession(c, tenant.userId, tenant.sessionId);
        await recordAudit(c, { orgId: tenant.orgId, actor: { tenant }, action: 'session.sign_out' });
        return true as const;
      }),
  };
}
