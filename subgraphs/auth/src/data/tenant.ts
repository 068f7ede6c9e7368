/**
 * SQL of the authenticated fields, built per request from the verified TenantContext: the user and the
 * organization are bound inside every statement from the token, never taken from arguments.
 */
import type { Pool } from 'pg';
import type { Role, TenantContext } from '@datapilot/common';

/** A user as the schema shows it. */
export type UserView = { id: string; email: string; createdAt: string };
/** An organization as the schema shows it. */
export type OrganizationView = { id: string; name: string; createdAt: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant-bound queries of one request. */
export interface TenantData {
  /** The caller's user, organization and current role; undefined when the membership is gone. */
  me(): Promise<{ user: UserView; organization: OrganizationView; role: Role } | undefined>;
  /** Organization `id` if it is the caller's own organization, else null (existence is not revealed). */
  organization(id: unknown): Promise<OrganizationView | null>;
  /** User `id` if it is a member of the caller's organization (the caller included), else null. */
  user(id: unknown): Promise<UserView | null>;
}

/** Builds the tenant-bound queries for `tenant` (org and user bound in each statement). */
export function tenantData(pool: Pool, tenant: TenantContext): TenantData {
  const { userId, orgId } = tenant;
  return {
    async me() {
      const r = await pool.query(
        `SELECT u.id AS user_id, u.email, u.created_at AS user_created_at,
                o.id AS org_id, o.name, o.created_at AS org_created_at, m.role
           FROM auth.memberships m
           JOIN auth.users u ON u.id = m.user_id
           JOIN auth.organizations o ON o.id = m.org_id
          WHERE m.user_id = $1 AND m.org_id = $2`,
        [userId, orgId],
      );
      const row = r.rows[0];
      if (!row) return undefined;
      return {
        user: { id: row.user_id, email: row.email, createdAt: row.user_created_at.toISOString() },
        organization: { id: row.org_id, name: row.name, createdAt: row.org_created_at.toISOString() },
        role: row.role as Role,
      };
    },
    async organization(id) {
      if (typeof id !== 'string' || !UUID.test(id)) return null;
      const r = await pool.query(`SELECT id, name, created_at FROM auth.organizations WHERE id = $1 AND id = $2`, [
        id.toLowerCase(),
        orgId,
      ]);
      const row = r.rows[0];
      return row ? { id: row.id, name: row.name, createdAt: row.created_at.toISOString() } : null;
    },
    async user(id) {
      if (typeof id !== 'string' || !UUID.test(id)) return null;
      const r = await pool.query(
        `SELECT u.id, u.email, u.created_at
           FROM auth.users u JOIN auth.memberships m ON m.user_id = u.id AND m.org_id = $2
          WHERE u.id = $1`,
        [id.toLowerCase(), orgId],
      );
      const row = r.rows[0];
      return row ? { id: row.id, email: row.email, createdAt: row.created_at.toISOString() } : null;
    },
  };
}
