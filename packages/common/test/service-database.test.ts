/**
 * openServiceDatabase and runMigrations on real PostgreSQL: a service's start refuses a role that row-level security
 * would not bind and a schema with a pending migration; migrations run as the owner only; once up to date,
 * runMigrations needs nothing but a read of the ledger. Migrations of a throwaway schema `svc_check`, written here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openServiceDatabase, pendingMigrations, runMigrations } from '../src/index.ts';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';

const logger = { info: () => undefined, error: () => undefined };
let db: TestDatabase;
let dir: string;
let runtimeUrl: string;

beforeAll(async () => {
  db = await startTestDatabase();
  runtimeUrl = await db.urlAs('datapilot_chat');
  dir = mkdtempSync(path.join(tmpdir(), 'dp-migrations-'));
  writeFileSync(path.join(dir, '001_table.sql'), 'CREATE TABLE things (id int PRIMARY KEY);');
  writeFileSync(
    path.join(dir, '002_grant.sql'),
    `GRANT USAGE ON SCHEMA svc_check TO datapilot_chat; GRANT SELECT ON things, schema_migrations TO datapilot_chat;`,
  );
}, 60_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.close();
});

const opts = (over: Partial<Parameters<typeof openServiceDatabase>[0]>) => ({
  url: runtimeUrl,
  schema: 'svc_check',
  migrationsDir: dir,
  poolMax: 2,
  logger,
  ...over,
});

describe('openServiceDatabase', () => {
  it('refuses a superuser as the runtime role, naming the problem', async () => {
    await expect(openServiceDatabase(opts({ url: db.url }))).rejects.toThrow(
      `"${decodeURIComponent(new URL(db.url).username)}" is a superuser`,
    );
  });

  it('refuses to start while a migration is pending and no migration URL is given', async () => {
    await expect(openServiceDatabase(opts({}))).rejects.toThrow('Schema svc_check lacks migrations 001, 002');
  });

  it('applies the migrations as the owner, then hands out the runtime pool', async () => {
    const pool = await openServiceDatabase(opts({ migrationUrl: db.url }));
    try {
      const who = await pool.query('SELECT current_user AS role, (SELECT count(*)::int FROM svc_check.things) AS n');
      expect(who.rows).toEqual([{ role: 'datapilot_chat', n: 0 }]);
      expect(await pendingMigrations(pool, 'svc_check', dir)).toEqual([]);
      // Up to date: runMigrations returns at once, although this role may create nothing.
      expect(await runMigrations(pool, 'svc_check', dir)).toEqual([]);
    } finally {
      await pool.end();
    }
    const again = await openServiceDatabase(opts({})); // migrated: no migration URL needed
    await again.end();
  });

  it('refuses a runtime role that owns a table (it could switch the policies off)', async () => {
    const su = new pg.Client({ connectionString: db.url });
    await su.connect();
    try {
      await su.query('ALTER TABLE svc_check.things OWNER TO datapilot_chat');
      await expect(openServiceDatabase(opts({}))).rejects.toThrow(/"datapilot_chat" owns svc_check\.things/);
    } finally {
      await su.query('ALTER TABLE svc_check.things OWNER TO CURRENT_USER');
      await su.end();
    }
  });
});
