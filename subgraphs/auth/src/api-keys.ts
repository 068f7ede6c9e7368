/**
 * API keys for pipelines and scripts (issue 6, section 3; CONTRACTS, "API keys"). A key is a secret
 * `dp_live_` + 32 random bytes in base64url, shown once and stored as its SHA-256. It acts as its creator inside its
 * organization with the weaker of its own role and the creator's current role (the principal check,
 * data/principal.ts); `exchangeApiKey` turns it into a short-lived access token whose `sid` is the key's id.
 */
import type { Pool } from 'pg';
import {
  badUserInput,
  inTenantTransaction,
  notFound,
  textArg,
  unauthenticated,
  type Page,
  type PageRequest,
  type Role,
  type TenantContext,
  recordAudit,
} from '@datapilot/common';
import * as db from './data/api-keys.ts';
import type { ApiKeyView } from './data/api-keys.ts';
import { currentPrincipal } from './data/principal.ts';
import type { SessionIssuer } from './sessions.ts';
import { checkGrant } from './team-rules.ts';
import { callerPrincipal } from './teams.ts';
import { API_KEY_PREFIX, hashSecret, newSecret } from './tokens.ts';

/** Lifetime of a key created without `expiresAt`: 90 days. */
export const API_KEY_DEFAULT_TTL_DAYS = 90;
/** Longest lifetime of a key: 366 days (a key is rotated at least yearly). */
export const API_KEY_MAX_TTL_DAYS = 366;
/** Shortest lifetime of a key: 60 seconds (so that its expiry is in the future on the database's clock too). */
const API_KEY_MIN_TTL_MS = 60_000;
/** Longest key name, in characters (the table's CHECK). */
export const API_KEY_NAME_MAX = 100;
/** The one answer for a key that cannot be used, whatever the reason (unknown, revoked, expired, creator gone). */
export const INVALID_API_KEY = 'The API key is invalid, expired or revoked.';

const DAY_MS = 86_400_000;

/** The shape of a secret this service issues. */
const API_KEY_SHAPE = new RegExp(`^${API_KEY_PREFIX}[A-Za-z0-9_-]{43}$`);

/**
 * The expiry of a new key: `value` (parsed by the `DateTime` scalar, which refuses malformed text), or
 * {@link API_KEY_DEFAULT_TTL_DAYS} from `nowMs` when absent.
 * @throws BAD_USER_INPUT (`expiresAt`) when less than a minute ahead, or more than {@link API_KEY_MAX_TTL_DAYS} days
 *   ahead.
 */
export function apiKeyExpiry(value: Date | null | undefined, nowMs = Date.now()): Date {
  if (value === null || value === undefined) return new Date(nowMs + API_KEY_DEFAULT_TTL_DAYS * DAY_MS);
  const t = value.getTime();
  if (t < nowMs + API_KEY_MIN_TTL_MS) throw badUserInput('expiresAt must be in the future.', 'expiresAt');
  if (t > nowMs + API_KEY_MAX_TTL_DAYS * DAY_MS)
    throw badUserInput(`expiresAt must be at most ${API_KEY_MAX_TTL_DAYS} days ahead.`, 'expiresAt');
  return new Date(t);
}

/** The API key flows; see {@link createApiKeyService}. */
export interface ApiKeyService {
  /**
   * Creates a key of the caller's organization acting as the caller with at most `role`.
   * @returns the key and its secret (the only time the secret is shown).
   * @throws BAD_USER_INPUT (`name`: 1..100 characters after trimming; `expiresAt`: see {@link apiKeyExpiry});
   *   FORBIDDEN when `role` is above the caller's current role, or the caller is itself an API key.
   */
  create(
    tenant: TenantContext,
    input: { name: string; role: Role; expiresAt?: Date | null },
  ): Promise<{ apiKey: ApiKeyView; secret: string }>;
  /** One page of the organization's keys, oldest first. */
  list(tenant: TenantContext, page: PageRequest): Promise<Page<ApiKeyView>>;
  /** Revokes key `id` (lower-case UUID) of the organization. @throws NOT_FOUND (also another organization's key). */
  revoke(tenant: TenantContext, id: string): Promise<ApiKeyView>;
  /**
   * Exchanges a secret for an access token (`sub` creator, `org` the key's, `sid` the key's id, `role` the weaker
   * of the key's and the creator's), recording the key's use.
   * @throws UNAUTHENTICATED {@link INVALID_API_KEY} for any key that cannot act.
   */
  exchange(key: string): Promise<{ accessToken: string; expiresAt: string; role: Role }>;
}

/** Creates the API key flows over `deps.pool`, signing with `deps.sessions`. */
export function createApiKeyService(deps: { pool: Pool; sessions: SessionIssuer }): ApiKeyService {
  const { pool, sessions } = deps;
  return {
    async create(tenant, input) {
      const name = textArg(input.name, 'name', API_KEY_NAME_MAX);
      const expiresAt = apiKeyExpiry(input.expiresAt);
      return inTenantTransaction(pool, tenant, async (c) => {
        const caller = await callerPrincipal(c, tenant);
        checkGrant(caller.role, input.role, 'give an API key the role');
        const secret = newSecret(API_KEY_PREFIX);
        const apiKey = await db.insertApiKey(c, tenant.orgId, {
          createdBy: tenant.userId,
          name,
          role: input.role,
          secretHash: secret.hash,
          expiresAt,
        });
        await recordAudit(c, {
          orgId: tenant.orgId,
          actor: { tenant },
          action: 'api_key.create',
          targetType: 'ApiKey',
          targetId: apiKey.id,
          detail: { name, role: input.role, expiresAt: expiresAt.toISOString() },
        });
        return { apiKey, secret: secret.token };
      });
    },

    list: (tenant, page) => inTenantTransaction(pool, tenant, (c) => db.listApiKeys(c, tenant.orgId, page)),

    async revoke(tenant, id) {
      const key = await inTenantTransaction(pool, tenant, async (c) => {
        const revoked = await db.revokeApiKey(c, tenant.orgId, id);
        if (revoked)
          await recordAudit(c, {
            orgId: tenant.orgId,
            actor: { tenant },
            action: 'api_key.revoke',
            targetType: 'ApiKey',
            targetId: id,
          });
        return revoked;
      });
      if (!key) throw notFound('The API key');
      return key;
    },

    async exchange(key) {
      // Row-level security: the secret's hash admits its one key; the key then names the org and the user.
      const secretHash = API_KEY_SHAPE.test(key) ? hashSecret(key) : undefined;
      const found = secretHash
        ? await inTenantTransaction(pool, { secretHash }, (c) => db.findKeyBySecret(c, secretHash))
        : undefined;
      if (!found) throw unauthenticated(INVALID_API_KEY);
      const ref = { sessionId: found.id, userId: found.createdBy, orgId: found.orgId };
      const p = await inTenantTransaction(pool, ref, (c) => currentPrincipal(c, ref));
      if (p?.via !== 'apiKey') throw unauthenticated(INVALID_API_KEY);
      const access = await sessions.accessToken({ ...ref, role: p.role });
      return { accessToken: access.token, expiresAt: access.expiresAt.toISOString(), role: p.role };
    },
  };
}
