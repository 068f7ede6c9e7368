import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import { inTransaction } from './pg.ts';

/**
 * Applies versioned SQL migrations to one PostgreSQL schema, in file-name order.
 *
 * Files are `<dir>/<NNN>_<name>.sql` (e.g. `001_init.sql`); each runs once, in its own transaction,
 * and is recorded in `<schema>.schema_migrations(version, name, applied_at)`. A transaction-scoped
 * advisory lock keyed by the schema name serializes concurrent starts of several replicas.
 * The SQL may refer to the schema by name; `search_path` is set to it for the migration.
 * @returns the versions applied by this call (empty when up to date).
 * @throws the PostgreSQL error of a failing migration; that migration's changes are rolled back.
 */
export async function runMigrations(pool: Pool, schema: string, dir: string): Promise<string[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const files = (await readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
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
