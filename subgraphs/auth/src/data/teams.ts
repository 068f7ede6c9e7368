/**
 * SQL of the team flows (src/teams.ts): memberships, invitations and the sessions they end. Every statement that
 * reads or changes an organization's rows takes that organization's id as its first parameter, from the verified
 * token (or, for an invitation being accepted, from the invitation the secret token names); nothing is looked up by
 * an id alone. Every statement qualifies the `auth` schema.
 */
import {
  cursorAtColumn,
  keysetPage,
  keysetSql,
  keysetOrderBy,
  type Page,
  type PageRequest,
  type Role,
} from '@datapilot/common';
import type { Db } from './accounts.ts';
import type { OrganizationView, UserView } from './tenant.ts';

/** A membership as the schema shows it (type Membership). */
export type MembershipView = { user: UserView; organization: OrganizationView; role: Role; joinedAt: string };

/** Where an invitation stands (enum InvitationStatus). */
export type InvitationStatus = 'PENDING' | 'ACCEPTED' | 'REVOKED' | 'EXPIRED';

/** An invitation as the schema shows it. */
export type InvitationView = {
  id: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  /** The inviter while still a member of the organization, else null (users outside it are not shown). */
  invitedBy: UserView | null;
  createdAt: string;
  expiresAt: string;
};

/** An invitation row with what acceptance needs. */
export type InvitationRow = InvitationView & { orgId: string };

const iso = (d: Date) => d.toISOString();

/**
 * Locks the organization's row (FOR NO KEY UPDATE) until the transaction ends: every flow that changes memberships
 * or invitations of one organization takes this lock first, so their checks (last owner, already a member, one open
 * invitation per email) see a settled state. Logins and refreshes are not blocked (they take KEY SHARE).
 * @returns false when the organization does not exist.
 */
export async function lockOrganization(db: Db, orgId: string): Promise<boolean> {
  const r = await db.query(`SELECT 1 FROM auth.organizations WHERE id = $1 FOR NO KEY UPDATE`, [orgId]);
  return r.rowCount === 1;
}

const MEMBER_COLUMNS = `u.id, u.email, u.created_at AS user_created_at,
  o.id AS org_id, o.name AS org_name, o.created_at AS org_created_at,
  m.role, m.created_at AS joined_at, ${cursorAtColumn('m.created_at')}`;

type MemberRow = {
  id: string;
  email: string;
  user_created_at: Date;
  org_id: string;
  org_name: string;
  org_created_at: Date;
  role: Role;
  joined_at: Date;
  cursor_at: string;
};

const toMembership = (r: MemberRow): MembershipView => ({
  user: { id: r.id, email: r.email, createdAt: iso(r.user_created_at) },
  organization: { id: r.org_id, name: r.org_name, createdAt: iso(r.org_created_at) },
  role: r.role,
  joinedAt: iso(r.joined_at),
});

const MEMBER_FROM = `auth.memberships m JOIN auth.users u ON u.id = m.user_id JOIN auth.organizations o ON o.id = m.org_id`;

/** One page of the organization's members ordered by (joined, user id). */
export async function listMembers(db: Db, orgId: string, page: PageRequest): Promise<Page<MembershipView>> {
  const k = keysetSql(page, { at: 'm.created_at', id: 'm.user_id', descending: false }, 2);
  const { rows } = await db.query<MemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM ${MEMBER_FROM}
      WHERE m.org_id = $1${k.where}
      ORDER BY ${k.orderBy} LIMIT ${k.limit}`,
    [orgId, ...k.params],
  );
  return keysetPage(rows, page, 'member', toMembership);
}

/** Every membership of one user (their organizations), joined first first (ties: the older organization, its id). */
export async function listUserMemberships(db: Db, userId: string): Promise<MembershipView[]> {
  const { rows } = await db.query<MemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM ${MEMBER_FROM}
      WHERE m.user_id = $1
      ORDER BY m.created_at, o.created_at, o.id`,
    [userId],
  );
  return rows.map(toMembership);
}

/** The membership of `userId` in `orgId`, locked until the transaction ends when `lock`; undefined when none. */
export async function getMember(
  db: Db,
  orgId: string,
  userId: string,
  lock = false,
): Promise<MembershipView | undefined> {
  const { rows } = await db.query<MemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM ${MEMBER_FROM}
      WHERE m.org_id = $1 AND m.user_id = $2${lock ? ' FOR NO KEY UPDATE OF m' : ''}`,
    [orgId, userId],
  );
  return rows[0] && toMembership(rows[0]);
}

/** True when an account with this (normalised) email is a member of `orgId`. */
export async function isMemberByEmail(db: Db, orgId: string, email: string): Promise<boolean> {
  const r = await db.query(
    `SELECT 1 FROM auth.memberships m JOIN auth.users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2`,
    [orgId, email],
  );
  return r.rowCount === 1;
}

/** How many OWNERs the organization has. */
export async function countOwners(db: Db, orgId: string): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM auth.memberships WHERE org_id = $1 AND role = 'OWNER'`,
    [orgId],
  );
  return r.rows[0]!.n;
}

/** Sets a member's role; returns the membership as it is now. */
export async function setMemberRole(db: Db, orgId: string, userId: string, role: Role): Promise<MembershipView> {
  await db.query(`UPDATE auth.memberships SET role = $3 WHERE org_id = $1 AND user_id = $2`, [orgId, userId, role]);
  return (await getMember(db, orgId, userId))!;
}

/**
 * Deletes `userId`'s membership of `orgId` and ends what it carried there: the user's refresh tokens of that
 * organization and the API keys they created in it are revoked (a key must not come back to life if the user is
 * invited again). @returns false when there was no such membership.
 */
export async function deleteMember(db: Db, orgId: string, userId: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM auth.memberships WHERE org_id = $1 AND user_id = $2`, [orgId, userId]);
  if (r.rowCount !== 1) return false;
  await db.query(
    `UPDATE auth.refresh_tokens SET revoked_at = now() WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL`,
    [orgId, userId],
  );
  await db.query(
    `UPDATE auth.api_keys SET revoked_at = now() WHERE org_id = $1 AND created_by = $2 AND revoked_at IS NULL`,
    [orgId, userId],
  );
  return true;
}

/** Revokes every still-valid refresh token of the family `familyId` of `userId`; returns how many. */
export async function revokeSession(db: Db, userId: string, familyId: string): Promise<number> {
  const r = await db.query(
    `UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL`,
    [familyId, userId],
  );
  return r.rowCount ?? 0;
}

/**
 * `SELECT` of invitations `i` from `source` (a query over auth.invitations, or a CTE's RETURNING *) with their
 * status and their inviter `u` while still a member of the organization.
 */
const invitationsFrom = (source: string) => `SELECT i.id, i.org_id, i.email, i.role, i.created_at, i.expires_at,
  CASE WHEN i.accepted_at IS NOT NULL THEN 'ACCEPTED' WHEN i.revoked_at IS NOT NULL THEN 'REVOKED'
       WHEN i.expires_at <= now() THEN 'EXPIRED' ELSE 'PENDING' END AS status,
  u.id AS inviter_id, u.email AS inviter_email, u.created_at AS inviter_created_at,
  ${cursorAtColumn('i.created_at')}
  FROM (${source}) i
  LEFT JOIN auth.memberships m ON m.user_id = i.invited_by AND m.org_id = i.org_id
  LEFT JOIN auth.users u ON u.id = m.user_id`;

type InvitationDbRow = {
  id: string;
  org_id: string;
  email: string;
  role: Role;
  created_at: Date;
  expires_at: Date;
  status: InvitationStatus;
  inviter_id: string | null;
  inviter_email: string | null;
  inviter_created_at: Date | null;
  cursor_at: string;
};

const toInvitation = (r: InvitationDbRow): InvitationRow => ({
  id: r.id,
  orgId: r.org_id,
  email: r.email,
  role: r.role,
  status: r.status,
  invitedBy: r.inviter_id ? { id: r.inviter_id, email: r.inviter_email!, createdAt: iso(r.inviter_created_at!) } : null,
  createdAt: iso(r.created_at),
  expiresAt: iso(r.expires_at),
});

/**
 * Revokes the open (not accepted, not revoked) invitations of `email` to `orgId`, expired ones included (the
 * unique index allows one open invitation per email), then stores a new one valid `ttlSeconds` from now.
 */
export async function replaceInvitation(
  db: Db,
  orgId: string,
  inv: { email: string; role: Role; invitedBy: string; tokenHash: Buffer; ttlSeconds: number },
): Promise<InvitationRow> {
  await db.query(
    `UPDATE auth.invitations SET revoked_at = now()
      WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
    [orgId, inv.email],
  );
  const { rows } = await db.query<InvitationDbRow>(
    `WITH i AS (INSERT INTO auth.invitations (org_id, email, role, invited_by, token_hash, expires_at)
                VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING *)
     ${invitationsFrom('SELECT * FROM i')}`,
    [orgId, inv.email, inv.role, inv.invitedBy, inv.tokenHash, inv.ttlSeconds],
  );
  return toInvitation(rows[0]!);
}

/** One page of the organization's PENDING invitations, oldest first: by (created_at, id). */
export async function listPendingInvitations(db: Db, orgId: string, page: PageRequest): Promise<Page<InvitationView>> {
  const k = keysetSql(page, { at: 'created_at', id: 'id', descending: false }, 2);
  const outer = keysetOrderBy(page, { at: 'i.created_at', id: 'i.id', descending: false });
  const { rows } = await db.query<InvitationDbRow>(
    `${invitationsFrom(`SELECT * FROM auth.invitations
      WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()${k.where}
      ORDER BY ${k.orderBy} LIMIT ${k.limit}`)}
     ORDER BY ${outer}`,
    [orgId, ...k.params],
  );
  return keysetPage(rows, page, 'invitation', toInvitation);
}

/** The invitation `id` of `orgId`, locked until the transaction ends; undefined when none. */
export async function lockInvitation(db: Db, orgId: string, id: string): Promise<InvitationRow | undefined> {
  const { rows } = await db.query<InvitationDbRow>(
    invitationsFrom(`SELECT * FROM auth.invitations WHERE org_id = $1 AND id = $2 FOR UPDATE`),
    [orgId, id],
  );
  return rows[0] && toInvitation(rows[0]);
}

/**
 * The organization an invitation token belongs to, by the token's SHA-256, without a lock: the accepting flow then
 * locks that organization and the invitation in the same order as every other flow (organization first).
 */
export async function invitationOrg(db: Db, tokenHash: Buffer): Promise<{ id: string; orgId: string } | undefined> {
  const { rows } = await db.query<{ id: string; org_id: string }>(
    `SELECT id, org_id FROM auth.invitations WHERE token_hash = $1`,
    [tokenHash],
  );
  return rows[0] && { id: rows[0].id, orgId: rows[0].org_id };
}

/** Marks an invitation revoked (no-op when it is not open). */
export async function revokeInvitation(db: Db, orgId: string, id: string): Promise<void> {
  await db.query(
    `UPDATE auth.invitations SET revoked_at = now()
      WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
    [orgId, id],
  );
}

/** Marks an invitation used by `userId`. */
export async function markInvitationAccepted(db: Db, orgId: string, id: string, userId: string): Promise<void> {
  await db.query(`UPDATE auth.invitations SET accepted_at = now(), accepted_by = $3 WHERE org_id = $1 AND id = $2`, [
    orgId,
    id,
    userId,
  ]);
}
