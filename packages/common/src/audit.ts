/**
 * The audit log: who did what, when and from where, for the security-relevant events of every service (sign-in,
 * membership and role changes, invitations, API keys, uploads, pipeline runs). One table, `audit.events`
 * (packages/common/migrations/audit), under the same row-level security as every tenant table: a service records an
 * event inside the tenant transaction of the change it describes (so the event and the change commit together), and
 * the auth subgraph's `auditEvents` reads it for OWNER and ADMIN.
 *
 * "From where" is request metadata, not business data: the HTTP server ({@link withRequestScope}) keeps the client's
 * address, user agent and request id for the duration of each request, and {@link recordAudit} reads them from there.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from 'pg';
import { runMigrations } from './migrations.ts';
import { cursorAtColumn, keysetPage, keysetSql, type Page, type PageRequest } from './keyset.ts';
import type { TenantContext } from './tenancy.ts';

/** The audit schema's migrations (run by every service that records events, as the schema's owner). */
export const AUDIT_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/audit', import.meta.url));

/** Applies the audit schema's migrations (idempotent; safe from several processes at once). */
export function migrateAuditSchema(owner: Pool): Promise<string[]> {
  return runMigrations(owner, 'audit', AUDIT_MIGRATIONS_DIR);
}

/** `alsoSchemas` entry of openServiceDatabase for a service that records audit events. */
export const AUDIT_SCHEMA = { schema: 'audit', dir: AUDIT_MIGRATIONS_DIR } as const;

/** The actions recorded, by service; the API's `AuditEvent.action` is one of these. */
export const AUDIT_ACTIONS = [
  'session.sign_in',
  'session.sign_out',
  'session.switch_organization',
  'organization.create',
  'invitation.create',
  'invitation.accept',
  'invitation.revoke',
  'member.role_change',
  'member.remove',
  'member.leave',
  'api_key.create',
  'api_key.revoke',
  'upload.create',
  'upload.complete',
  'pipeline_run.reload',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Where a request came from, as the edge saw it. */
export type ClientInfo = Readonly<{ address: string | null; userAgent: string | null; requestId: string | null }>;

const scope = new AsyncLocalStorage<ClientInfo>();

/**
 * The client of an HTTP request: with `trustForwardedFor` (subgraphs: internal services behind the gateway, which sets
 * the header to the address it received the request from) the first `X-Forwarded-For` address when present, else
 * the socket's peer (the gateway, the edge: a client's own header proves nothing); the `User-Agent` (256 characters).
 */
export function clientOf(
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
  requestId: string,
  trustForwardedFor = true,
): ClientInfo {
  const xff = trustForwardedFor ? req.headers['x-forwarded-for'] : undefined;
  const forwarded = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
  const address = (forwarded || req.socket?.remoteAddress || null)?.slice(0, 64) ?? null;
  const ua = req.headers['user-agent'];
  return Object.freeze({
    address,
    userAgent: (Array.isArray(ua) ? ua[0] : ua)?.slice(0, 256) ?? null,
    requestId,
  });
}

/** Runs `fn` with `client` as the current request's client (read by {@link currentClient}). */
export function withRequestScope<T>(client: ClientInfo, fn: () => T): T {
  return scope.run(client, fn);
}

/** The current request's client, or null outside a request (background work). */
export function currentClient(): ClientInfo | null {
  return scope.getStore() ?? null;
}

/** Who acted: a verified tenant, a user known by id (sign-in, before any token), or the system. */
export type AuditActor = { tenant: TenantContext } | { userId: string; credential?: 'session' } | { system: true };

/** One event; `orgId` must be the organization the transaction is scoped to (the row policy checks it). */
export type AuditRecord = {
  orgId: string;
  actor: AuditActor;
  action: AuditAction;
  targetType?: string;
  targetId?: string;
  /** Small JSON facts (a role, a table name); at most 4,000 characters serialized. Never secrets. */
  detail?: Record<string, unknown>;
};

/**
 * Inserts an event with `client`, a tenant transaction's connection (so it commits with the change it describes).
 * @throws PostgreSQL's error (42501 when the transaction is scoped to another organization).
 */
export async function recordAudit(client: PoolClient | Pool, e: AuditRecord): Promise<void> {
  const who = currentClient();
  const a = e.actor;
  const [userId, credential, sessionId] =
    'tenant' in a
      ? [a.tenant.userId, a.tenant.credential, a.tenant.sessionId]
      : 'userId' in a
        ? [a.userId, 'session', null]
        : [null, 'system', null];
  await client.query(
    `INSERT INTO audit.events (org_id, actor_user_id, actor_credential, actor_session_id, action, target_type,
                               target_id, detail, client_address, user_agent, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      e.orgId,
      userId,
      credential,
      sessionId,
      e.action,
      e.targetType ?? null,
      e.targetId ?? null,
      JSON.stringify(e.detail ?? {}),
      who?.address ?? null,
      who?.userAgent ?? null,
      who?.requestId ?? null,
    ],
  );
}

/** A stored event as `auditEvents` returns it (GraphQL `AuditEvent`). */
export type AuditEventView = {
  id: string;
  occurredAt: string;
  actorUserId: string | null;
  actorCredential: 'SESSION' | 'API_KEY' | 'SYSTEM';
  action: AuditAction;
  targetType: string | null;
  targetId: string | null;
  detail: Record<string, unknown>;
  clientAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
};

type Row = {
  id: string;
  cursor_at: string;
  occurred_at: Date;
  actor_user_id: string | null;
  actor_credential: 'session' | 'apiKey' | 'system';
  action: AuditAction;
  target_type: string | null;
  target_id: string | null;
  detail: Record<string, unknown>;
  client_address: string | null;
  user_agent: string | null;
  request_id: string | null;
};

const CREDENTIAL = { session: 'SESSION', apiKey: 'API_KEY', system: 'SYSTEM' } as const;

/**
 * One page of the transaction's organization's events, newest first (`occurred_at`, then `id`, both descending;
 * cursors of list `audit`); the row policy scopes it, so no org argument exists.
 */
export async function listAuditEvents(client: PoolClient, page: PageRequest): Promise<Page<AuditEventView>> {
  const k = keysetSql(page, { at: 'occurred_at', id: 'id', descending: true }, 1);
  const { rows } = await client.query<Row>(
    `SELECT id, ${cursorAtColumn('occurred_at')}, occurred_at, actor_user_id, actor_credential, action, target_type,
            target_id, detail, client_address, user_agent, request_id
       FROM audit.events
      WHERE true${k.where}
      ORDER BY ${k.orderBy}
      LIMIT ${k.limit}`,
    k.params,
  );
  return keysetPage(rows, page, 'audit', (r) => ({
    id: r.id,
    occurredAt: r.occurred_at.toISOString(),
    actorUserId: r.actor_user_id,
    actorCredential: CREDENTIAL[r.actor_credential],
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    detail: r.detail,
    clientAddress: r.client_address,
    userAgent: r.user_agent,
    requestId: r.request_id,
  }));
}
