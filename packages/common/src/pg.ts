import { AsyncResource } from 'node:async_hooks';
import type { Pool, PoolClient } from 'pg';
import { startStatementSpan, tracingEnabled } from './tracing.ts';

/**
 * Runs `fn` in one transaction on one pooled client: BEGIN, `fn(client)`, then COMMIT — or ROLLBACK
 * when `fn` throws (the error is rethrown) or when `commitIf(result)` is false (the result is returned).
 * The client is always released.
 */
export async function inTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  commitIf: (result: T) => boolean = () => true,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query(commitIf(out) ? 'COMMIT' : 'ROLLBACK');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/**
 * The transaction-local settings that the row-level security policies of every schema read (the `*_rls.sql`
 * migrations of auth, chat and lake): PostgreSQL's second wall around each organization's rows.
 * - `datapilot.org_id`: the organization of the verified token; every tenant table admits only rows of that org.
 * - `datapilot.user_id`: the verified user; only auth's policies read it (a user's own memberships, sessions and
 *   organizations in every organization: sign-in, `organizations`, `switchOrganization`, sign-out).
 * - `datapilot.secret_hash`: the SHA-256 (hex) of a secret the caller presented (refresh token, API key, invitation
 *   token); only auth's policies read it: the one row stored with that hash, whatever its organization, so that the
 *   public flows can find what the secret names before they know its org.
 * Unset (or set in an earlier transaction: PostgreSQL then reads `''`), a setting admits nothing.
 */
export const DB_SETTINGS = {
  orgId: 'datapilot.org_id',
  userId: 'datapilot.user_id',
  secretHash: 'datapilot.secret_hash',
} as const;

/**
 * Who a tenant transaction acts for: a {@link TenantContext} fits. `orgId`, `userId`: UUIDs; `secretHash`: the
 * 32-byte SHA-256 of a presented secret. Null or absent: unset.
 */
export type DbScope = Readonly<{ orgId?: string | null; userId?: string | null; secretHash?: Buffer | null }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Sets {@link DB_SETTINGS} from `scope` for the rest of the current transaction (`set_config(..., true)`, i.e.
 * `SET LOCAL`; every setting is written, so what `scope` leaves out is unset). For a flow that learns the org inside
 * its transaction (from a presented secret); otherwise use {@link inTenantTransaction}.
 * Call it inside a transaction: outside one, the settings would end with this very statement.
 * @throws Error when an id is not a UUID or the hash not 32 bytes (nothing is set).
 */
export async function setDbScope(client: PoolClient, scope: DbScope): Promise<void> {
  const orgId = scope.orgId ?? '';
  const userId = scope.userId ?? '';
  for (const id of [orgId, userId])
    if (id !== '' && !UUID.test(id)) throw new Error('setDbScope: scope ids must be UUIDs');
  if (scope.secretHash && scope.secretHash.length !== 32) throw new Error('setDbScope: secretHash must be 32 bytes');
  await client.query('SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true)', [
    DB_SETTINGS.orgId,
    orgId,
    DB_SETTINGS.userId,
    userId,
    DB_SETTINGS.secretHash,
    scope.secretHash ? scope.secretHash.toString('hex') : '',
  ]);
}

/**
 * Runs `fn` in a transaction ({@link inTransaction}) whose first statement sets {@link DB_SETTINGS} from `scope`
 * with `set_config(..., true)` (the transaction-local `SET LOCAL`), so that every statement of `fn` sees only the
 * rows the policies admit for that org (and user), whatever its own WHERE clause says. The settings end with the
 * transaction: a pooled connection never carries them to the next borrower. This is the one way the services'
 * data layers reach tenant tables (they connect as roles that own no table, so the policies bind them).
 * @throws Error when `scope` is malformed ({@link setDbScope}; nothing commits); otherwise as {@link inTransaction}.
 */
export function inTenantTransaction<T>(
  pool: Pool,
  scope: DbScope,
  fn: (client: PoolClient) => Promise<T>,
  commitIf?: (result: T) => boolean,
): Promise<T> {
  return inTransaction(
    pool,
    async (client) => {
      await setDbScope(client, scope);
      return fn(client);
    },
    commitIf,
  );
}

/**
 * Checks that the pool's role is a wall-abiding runtime role: not a superuser, without BYPASSRLS, and owning no
 * table, view or sequence of the database, neither itself nor through a role it is a member of (an owner may
 * `ALTER TABLE ... DISABLE ROW LEVEL SECURITY`). Services call it at start, so that a DATABASE_URL naming the
 * owner or the superuser fails loudly instead of silently switching the policies off.
 * @returns the role's name.
 * @throws Error saying which condition fails (with up to three of the objects it owns).
 */
export async function assertRuntimeRole(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ role: string; rolsuper: boolean; rolbypassrls: boolean; owned: string[] }>(
    `SELECT r.rolname AS role, r.rolsuper, r.rolbypassrls,
       ARRAY(SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
               AND pg_has_role(r.oid, c.relowner, 'MEMBER')
             ORDER BY 1 LIMIT 3) AS owned
     FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const r = rows[0]!;
  const problem = r.rolsuper
    ? 'is a superuser'
    : r.rolbypassrls
      ? 'has BYPASSRLS'
      : r.owned.length
        ? `owns ${r.owned.join(', ')}${r.owned.length === 3 ? ', ...' : ''}`
        : null;
  if (problem)
    throw new Error(
      `The database role "${r.role}" ${problem}: row-level security would not bind it. Connect the service as its ` +
        'runtime role (datapilot_auth, datapilot_chat or datapilot_lake) and run migrations as the owner ' +
        '(DATABASE_MIGRATION_URL).',
    );
  return r.role;
}

/**
 * Gives every statement sent through `pool` — `pool.query` and the clients of `pool.connect()` alike — a span
 * `postgresql <operation>` with its SQL text and never its parameter values (`startStatementSpan`, tracing.ts), as a
 * child of the request that sent it. Does nothing when tracing is off (call it after `startTracing`). Each new
 * connection's `query` is wrapped once (the pool's `connect` event); the callbacks `pool.connect` hands a client to
 * are bound to the caller's trace context, since a waiting caller is otherwise served in the context of whichever
 * request released a client. Cursors and other submittables pass through without a span.
 * @returns `pool`.
 */
export function traceQueries(pool: Pool): Pool {
  if (!tracingEnabled()) return pool;
  type Query = (...args: unknown[]) => unknown;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as Query;
    (client as unknown as { query: Query }).query = (...args) => {
      const first = args[0] as string | { text?: unknown; submit?: unknown } | undefined;
      const text = typeof first === 'string' ? first : first?.text;
      if (typeof text !== 'string' || (typeof first === 'object' && typeof first.submit === 'function'))
        return query(...args);
      const span = startStatementSpan('postgresql', text);
      if (!span) return query(...args);
      const cb = args.findIndex((a) => typeof a === 'function');
      if (cb >= 0) {
        const done = args[cb] as (err: unknown, res: unknown) => void;
        args[cb] = (err: unknown, res: unknown) => {
          span.end(err);
          done(err, res);
        };
        return query(...args);
      }
      return (query(...args) as Promise<unknown>).then(
        (res) => {
          span.end();
          return res;
        },
        (err: unknown) => {
          span.end(err);
          throw err;
        },
      );
    };
  });
  const connect = pool.connect.bind(pool) as (cb?: (...a: unknown[]) => void) => unknown;
  (pool as unknown as { connect: typeof connect }).connect = (cb) => connect(cb ? AsyncResource.bind(cb) : undefined);
  return pool;
}
