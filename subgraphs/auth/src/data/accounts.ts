/**
 * SQL of the public flows (signup, login, refresh) and of ensureUser: the caller is not yet authenticated,
 * so nothing here is tenant-bound; each function is scoped by the user id, email or token hash it is given.
 * Every statement qualifies the `auth` schema (no reliance on search_path).
 */
import type { Pool, PoolClient } from 'pg';
import type { Role } from '@datapilot/common';

/** A pool or a client inside a transaction. */
export type Db = Pool | PoolClient;

export type UserRow = { id: string; email: string; password_hash: string; created_at: Date };
export type OrgRow = { id: string; name: string; created_at: Date };
export type MembershipRow = { org_id: string; org_name: string; org_created_at: Date; role: Role };

/** The user with this (normalised) email, or undefined. */
export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  const r = await db.query<UserRow>(`SELECT id, email, password_hash, created_at FROM auth.users WHERE email = $1`, [
    email,
  ]);
  return r.rows[0];
}

/** Inserts a user; undefined when the email is taken (unique constraint, no exception). */
export async function insertUser(db: Db, email: string, passwordHash: string): Promise<UserRow | undefined> {
  const r = await db.query<UserRow>(
    `INSERT INTO auth.users (email, password_hash) VALUES ($1, $2)
     ON CONFLICT (email) DO NOTHING
     RETURNING id, email, password_hash, created_at`,
    [email, passwordHash],
  );
  return r.rows[0];
}

/** Replaces a user's password hash (rehash with current parameters). */
export async function updatePasswordHash(db: Db, userId: string, passwordHash: string): Promise<void> {
  await db.query(`UPDATE auth.users SET password_hash = $2 WHERE id = $1`, [userId, passwordHash]);
}

/**
 * Inserts organization `id` (chosen by the caller: row-level security admits the new row only once the transaction's
 * scope names it, see setDbScope in @datapilot/common).
 */
export async function insertOrganization(db: Db, id: string, name: string): Promise<OrgRow> {
  const r = await db.query<OrgRow>(
    `INSERT INTO auth.organizations (id, name) VALUES ($1, $2) RETURNING id, name, created_at`,
    [id, name],
  );
  return r.rows[0]!;
}

/** Makes `userId` a member of `orgId` with `role`. */
export async function insertMembership(db: Db, userId: string, orgId: string, role: Role): Promise<void> {
  await db.query(`INSERT INTO auth.memberships (user_id, org_id, role) VALUES ($1, $2, $3)`, [userId, orgId, role]);
}

/** The user's memberships, the one joined first first (ties: the older organization, then its id). */
export async function listMemberships(db: Db, userId: string): Promise<MembershipRow[]> {
  const r = await db.query<MembershipRow>(
    `SELECT o.id AS org_id, o.name AS org_name, o.created_at AS org_created_at, m.role
       FROM auth.memberships m JOIN auth.organizations o ON o.id = m.org_id
      WHERE m.user_id = $1
      ORDER BY m.created_at, o.created_at, o.id`,
    [userId],
  );
  return r.rows;
}

/** The user (by id) with their membership in `orgId`, or undefined when either is gone. */
export async function findMembership(
  db: Db,
  userId: string,
  orgId: string,
): Promise<{ user: UserRow; membership: MembershipRow } | undefined> {
  const r = await db.query(
    `SELECT u.id, u.email, u.password_hash, u.created_at,
            o.id AS org_id, o.name AS org_name, o.created_at AS org_created_at, m.role
       FROM auth.memberships m
       JOIN auth.users u ON u.id = m.user_id
       JOIN auth.organizations o ON o.id = m.org_id
      WHERE m.user_id = $1 AND m.org_id = $2`,
    [userId, orgId],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    user: { id: row.id, email: row.email, password_hash: row.password_hash, created_at: row.created_at },
    membership: { org_id: row.org_id, org_name: row.org_name, org_created_at: row.org_created_at, role: row.role },
  };
}

export type RefreshRow = {
  id: string;
  family_id: string;
  user_id: string;
  org_id: string;
  expired: boolean;
  revoked: boolean;
};

/** Stores a refresh token's hash; `ttlSeconds` from the database clock. */
export async function insertRefreshToken(
  db: Db,
  t: { familyId: string; userId: string; orgId: string; hash: Buffer; ttlSeconds: number },
): Promise<void> {
  await db.query(
    `INSERT INTO auth.refresh_tokens (family_id, user_id, org_id, token_hash, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [t.familyId, t.userId, t.orgId, t.hash, t.ttlSeconds],
  );
}

/** Finds a refresh token by hash and locks its row until the transaction ends (FOR UPDATE). */
export async function lockRefreshToken(db: PoolClient, hash: Buffer): Promise<RefreshRow | undefined> {
  const r = await db.query<RefreshRow>(
    `SELECT id, family_id, user_id, org_id, expires_at <= now() AS expired, revoked_at IS NOT NULL AS revoked
       FROM auth.refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
    [hash],
  );
  return r.rows[0];
}

/** Revokes one refresh token. */
export async function revokeRefreshToken(db: Db, id: string): Promise<void> {
  await db.query(`UPDATE auth.refresh_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]);
}

/** Revokes every still-valid token of a family; returns how many. */
export async function revokeFamily(db: Db, familyId: string): Promise<number> {
  const r = await db.query(
    `UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
    [familyId],
  );
  return r.rowCount ?? 0;
}
