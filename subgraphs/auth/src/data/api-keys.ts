/**
 * SQL of API keys (table `auth.api_keys`, migrations/003_teams.sql). Listing, creating and revoking are bound to the
 * organization of the verified token (first parameter); only {@link findKeyBySecret} looks a key up without one, by
 * the SHA-256 of its secret (exchangeApiKey is public). The secret itself is never stored or returned here.
 */
import {
  cursorAtColumn,
  keysetOrderBy,
  keysetPage,
  keysetSql,
  type Page,
  type PageRequest,
  type Role,
} from '@datapilot/common';
import type { Db } from './accounts.ts';
import type { UserView } from './tenant.ts';

/** Where a key stands (enum ApiKeyStatus). */
export type ApiKeyStatus = 'ACTIVE' | 'REVOKED' | 'EXPIRED';

/** An API key as the schema shows it. */
export type ApiKeyView = {
  id: string;
  name: string;
  role: Role;
  status: ApiKeyStatus;
  /** The creator while still a member of the key's organization, else null (users outside it are not shown). */
  createdBy: UserView | null;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
};

/** Columns of `auth.api_keys k` plus its creator `u` when still a member (joined by {@link withCreator}). */
const COLUMNS = `k.id, k.name, k.role, k.created_at, k.expires_at, k.revoked_at, k.last_used_at,
  CASE WHEN k.revoked_at IS NOT NULL THEN 'REVOKED' WHEN k.expires_at <= now() THEN 'EXPIRED' ELSE 'ACTIVE' END
    AS status,
  u.id AS creator_id, u.email AS creator_email, u.created_at AS creator_created_at,
  ${cursorAtColumn('k.created_at')}`;

/** `SELECT <COLUMNS> FROM (<keys>) k` with the creator joined while a member of the key's organization. */
const withCreator = (keys: string) => `SELECT ${COLUMNS} FROM (${keys}) k
  LEFT JOIN auth.memberships m ON m.user_id = k.created_by AND m.org_id = k.org_id
  LEFT JOIN auth.users u ON u.id = m.user_id`;

type Row = {
  id: string;
  name: string;
  role: Role;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  status: ApiKeyStatus;
  creator_id: string | null;
  creator_email: string | null;
  creator_created_at: Date | null;
  cursor_at: string;
};

const toView = (r: Row): ApiKeyView => ({
  id: r.id,
  name: r.name,
  role: r.role,
  status: r.status,
  createdBy: r.creator_id
    ? { id: r.creator_id, email: r.creator_email!, createdAt: r.creator_created_at!.toISOString() }
    : null,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
});

/** Stores a key of `orgId` created by `createdBy`; `secretHash` is the SHA-256 of the whole secret string. */
export async function insertApiKey(
  db: Db,
  orgId: string,
  k: { createdBy: string; name: string; role: Role; secretHash: Buffer; expiresAt: Date },
): Promise<ApiKeyView> {
  const { rows } = await db.query<Row>(
    `WITH k AS (INSERT INTO auth.api_keys (org_id, created_by, name, role, secret_hash, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING *)
     ${withCreator('SELECT * FROM k')}`,
    [orgId, k.createdBy, k.name, k.role, k.secretHash, k.expiresAt],
  );
  return toView(rows[0]!);
}

/** One page of the organization's keys (every status), oldest first: by (created_at, id). */
export async function listApiKeys(db: Db, orgId: string, page: PageRequest): Promise<Page<ApiKeyView>> {
  const k = keysetSql(page, { at: 'created_at', id: 'id', descending: false }, 2);
  const outer = keysetOrderBy(page, { at: 'k.created_at', id: 'k.id', descending: false });
  const { rows } = await db.query<Row>(
    `${withCreator(`SELECT * FROM auth.api_keys WHERE org_id = $1${k.where} ORDER BY ${k.orderBy} LIMIT ${k.limit}`)}
     ORDER BY ${outer}`,
    [orgId, ...k.params],
  );
  return keysetPage(rows, page, 'apikey', toView);
}

/**
 * Revokes the key `id` of `orgId` (a revoked key keeps its first revocation time).
 * @returns the key as it is now, or undefined when the organization has no such key.
 */
export async function revokeApiKey(db: Db, orgId: string, id: string): Promise<ApiKeyView | undefined> {
  const { rows } = await db.query<Row>(
    `WITH k AS (UPDATE auth.api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE org_id = $1 AND id = $2
                RETURNING *)
     ${withCreator('SELECT * FROM k')}`,
    [orgId, id],
  );
  return rows[0] && toView(rows[0]);
}

/**
 * The key whose secret hashes to `secretHash`, whatever its state (the principal check decides whether it may act).
 * @returns its id, organization and creator, or undefined for an unknown secret.
 */
export async function findKeyBySecret(
  db: Db,
  secretHash: Buffer,
): Promise<{ id: string; orgId: string; createdBy: string } | undefined> {
  const { rows } = await db.query<{ id: string; org_id: string; created_by: string }>(
    `SELECT id, org_id, created_by FROM auth.api_keys WHERE secret_hash = $1`,
    [secretHash],
  );
  const r = rows[0];
  return r && { id: r.id, orgId: r.org_id, createdBy: r.created_by };
}
