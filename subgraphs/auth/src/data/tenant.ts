/**
 * SQL of the authenticated fields, built per request from the verified TenantContext: the user and the
 * organization are bound inside every statement from the token, never taken from arguments.
 */
import type { Pool } from 'pg';
import { inTenantTransaction, type Role, type TenantContext } from '@datapilot/common';
import { findMembership } from './accounts.ts';
import { currentPrincipal } from './principal.ts';

/** A user as the schema shows it. */
export type UserView = { id: string; email: string; createdAt: string };
/** An organization as the schema shows it. */
export type OrganizationView = { id: string; name: string; createdAt: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant-bound queries of one request. */
export interface TenantData {
  /**
   * The caller's user, organization and current role (the principal check's: for an API key the weaker of the key's
   * and the user's); undefined when the session has ended or the membership is gone.
   */
  me(): Promise<{ user: UserView; organization: OrganizationView; role: Role } | undefined>;
  /** Organization `id` if it is the caller's own organization, else null (existence is not revealed). */
  organization(id: unknown): Promise<OrganizationView | null>;
  /** User `id` if it is a member of the caller's organization (the caller included), else null. */
  user(id: unknown): Promise<UserView | null>;
  /**
   * The users of `ids` that are members of the caller's organization, in `ids` order (null for any other id,
   * malformed ones included): one statement for the whole list (entity references are batched with it).
   */
  users(ids: readonly unknown[]): Promise<(UserView | null)[]>;
}

/**
 * Builds the tenant-bound queries for `tenant` (org and user bound in each statement, and each run in a tenant
 * transaction of `tenant`: row-level security admits only the org's rows and the user's own).
 */
export function tenantData(pool: Pool, tenant: TenantContext): TenantData {
  const { userId, orgId } = tenant;
  const query = (sql: string, params: unknown[]) => inTenantTransaction(pool, tenant, (c) => c.query(sql, params));
  const users = async (ids: readonly unknown[]): Promise<(UserView | null)[]> => {
    const asked = ids.map((id) => (typeof id === 'string' && UUID.test(id) ? id.toLowerCase() : null));
    const valid = [...new Set(asked.filter((id): id is string => id !== null))];
    if (valid.length === 0) return asked.map(() => null);
    const r = await query(
      `SELECT u.id, u.email, u.created_at
         FROM auth.users u JOIN auth.memberships m ON m.user_id = u.id AND m.org_id = $2
        WHERE u.id = ANY($1::uuid[])`,
      [valid, orgId],
    );
    const rows = r.rows as { id: string; email: string; created_at: Date }[];
    const found = new Map(rows.map((row) => [row.id, row]));
    return asked.map((id) => {
      const row = id ? found.get(id) : undefined;
      return row ? { id: row.id, email: row.email, createdAt: row.created_at.toISOString() } : null;
    });
  };
  return {
    async me() {
      const [found, principal] = await inTenantTransaction(pool, tenant, async (c) => [
        await findMembership(c, userId, orgId),
        await currentPrincipal(c, tenant),
      ]);
      if (!found || !principal) return undefined;
      const { user, membership: m } = found;
      return {
        user: { id: user.id, email: user.email, createdAt: user.created_at.toISOString() },
        organization: { id: m.org_id, name: m.org_name, createdAt: m.org_created_at.toISOString() },
        role: principal.role,
      };
    },
    async organization(id) {
      if (typeof id !== 'string' || !UUID.test(id)) return null;
      const r = await query(`SELECT id, name, created_at FROM auth.organizations WHERE id = $1 AND id = $2`, [
        id.toLowerCase(),
        orgId,
      ]);
      const row = r.rows[0];
      return row ? { id: row.id, name: row.name, createdAt: row.created_at.toISOString() } : null;
    },
    async user(id) {
      return (await users([id]))[0] ?? null;
    },
    users,
  };
}
