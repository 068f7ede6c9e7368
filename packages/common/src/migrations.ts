import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg, { type Pool } from 'pg';
import { assertRuntimeRole, inTransaction, traceQueries } from './pg.ts';

/**
 * Applies versioned SQL migrations to one PostgreSQL schema, in file-name order.
 *
 * Files are `<dir>/<NNN>_<name>.sql` (e.g. `001_init.sql`); each runs once, in its own transaction,
 * and is recorded in `<schema>.schema_migrations(version, name, applied_at)`. A transaction-scoped
 * advisory lock keyed by the schema name serializes concurrent starts of several replicas.
 * The SQL may refer to the schema by name; `search_path` is set to it for the migration.
 * When nothing is pending ({@link pendingMigrations}, a plain read), it returns at once without any DDL, so a role
 * that may only read the ledger (a service's runtime role) can call it on an up-to-date schema.
 * @returns the versions applied by this call (empty when up to date).
 * @throws the PostgreSQL error of a failing migration; that migration's changes are rolled back.
 */
export async function runMigrations(pool: Pool, schema: string, dir: string): Promise<string[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const files = (await readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  const pending = await pendingMigrations(pool, schema, dir).catch(() => null);
  if (pending?.length === 0) return [];
  return inTransaction(pool, async (client) => {
    const applied: string[] = [];
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`migrations:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query(`SELECT version FROM ${schema}.schema_migrations`)).rows.map((r) => r.version),
    );
    for (const file of files) {
      const version = file.split('_')[0]!;
      if (done.has(version)) continue;
      const sql = await readFile(path.join(dir, file), 'utf8');
      await client.query(`SET LOCAL search_path TO ${schema}, public`);
      await client.query(sql);
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, $2)`, [version, file]);
      applied.push(version);
    }
    return applied;
  });
}

/**
 * The migration versions of `dir` not yet recorded in `<schema>.schema_migrations`: all of them when the schema or
 * that table does not exist yet. Needs only SELECT on that table (granted to each service's runtime role).
 * @throws PostgreSQL's error otherwise (e.g. 42501 when the role may not read it).
 */
export async function pendingMigrations(pool: Pool, schema: string, dir: string): Promise<string[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const versions = (await readdir(dir))
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => f.split('_')[0]!);
  try {
    const { rows } = await pool.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations`);
    const done = new Set(rows.map((r) => r.version));
    return versions.filter((v) => !done.has(v));
  } catch (e) {
    // 42P01 undefined_table, 3F000 invalid_schema_name: nothing applied yet.
    if (['42P01', '3F000'].includes((e as { code?: string }).code ?? '')) return versions;
    throw e;
  }
}

/** Options of {@link openServiceDatabase}. */
export type ServiceDatabaseOptions = {
  /** DATABASE_URL: the service's runtime role (see {@link assertRuntimeRole}). */
  url: string;
  /**
   * DATABASE_MIGRATION_URL: a role that owns the schema (or may create it), used once at start to apply the
   * migrations and closed after. Unset: the migrations are someone else's job (a release step) and the start only
   * checks that none is pending.
   */
  migrationUrl?: string;
  /** The service's schema (`auth`, `chat`, `lake`) and its migrations folder. */
  schema: string;
  migrationsDir: string;
  /** Shared schemas the service also writes to, migrated and checked the same way (e.g. the audit log's). */
  alsoSchemas?: readonly { schema: string; dir: string }[];
  /** Largest number of runtime connections. */
  poolMax: number;
  /** Receives `info` for the applied migrations and `error` for idle-client errors. */
  logger: { info(msg: string, fields?: object): void; error(msg: string, fields?: object): void };
};

/**
 * The start-up of a service's PostgreSQL: applies the migrations over `migrationUrl` (when set), then opens the
 * runtime pool over `url` and refuses to hand it out unless its role is bound by row-level security
 * ({@link assertRuntimeRole}) and the schema has every migration of `migrationsDir`.
 * @returns the runtime pool (the caller ends it).
 * @throws Error naming the failing step (a migration's PostgreSQL error, the role problem, the pending versions);
 *   every pool opened here is closed first.
 */
export async function openServiceDatabase(opts: ServiceDatabaseOptions): Promise<Pool> {
  const { logger } = opts;
  const all = [{ schema: opts.schema, dir: opts.migrationsDir }, ...(opts.alsoSchemas ?? [])];
  if (opts.migrationUrl) {
    const owner = new pg.Pool({ connectionString: opts.migrationUrl, max: 1 });
    try {
      for (const { schema, dir } of all) {
        const applied = await runMigrations(owner, schema, dir);
        if (applied.length) logger.info(`${schema} migrations applied`, { versions: applied });
      }
    } finally {
      await owner.end();
    }
  }
  // Its statements are spans of the requests that send them when tracing is on (tracing.ts).
  const pool = traceQueries(new pg.Pool({ connectionString: opts.url, max: opts.poolMax }));
  pool.on('error', (err) => logger.error('idle PostgreSQL client error', { err }));
  try {
    await assertRuntimeRole(pool);
    for (const { schema, dir } of all) {
      const pending = await pendingMigrations(pool, schema, dir);
      if (pending.length)
        throw new Error(
          `Schema ${schema} lacks migrations ${pending.join(', ')}: set DATABASE_MIGRATION_URL (a role owning the ` +
            'schema) so that the service applies them at start, or apply them before.',
        );
    }
    return pool;
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}
