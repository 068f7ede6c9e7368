// Migration 003_teams.sql on a database that holds rows of the schema before it: MEMBER becomes ANALYST, the other
// roles stay, and MEMBER can no longer be stored. Against a real PostgreSQL (a fresh database for this file).
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runMigrations } from '@datapilot/common';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { migrateAuthSchema, MIGRATIONS_DIR } from '../src/index.ts';

let db: TestDatabase;
let pool: pg.Pool;
let before: string;

beforeAll(async () => {
  db = await startTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // The schema as it was before issue 6: migrations 001 and 002 only.
  before = await mkdtemp(path.join(tmpdir(), 'dp-auth-mig-'));
  for (const f of ['001_init.sql', '002_login_failures.sql'])
    await copyFile(path.join(MIGRATIONS_DIR, f), path.join(before, f));
});

afterAll(async () => {
  await pool?.end();
  await db?.close();
  if (before) await rm(before, { recursive: true, force: true });
});

it('renames stored MEMBER memberships to ANALYST and refuses MEMBER afterwards', async () => {
  expect(await runMigrations(pool, 'auth', before)).toEqual(['001', '002']);
  const org = (await pool.query(`INSERT INTO auth.organizations (name) VALUES ('Old Org') RETURNING id`)).rows[0].id;
  const users: string[] = [];
  for (const email of ['m@old.example', 'v@old.example', 'o@old.example'])
    users.push(
      (await pool.query(`INSERT INTO auth.users (email, password_hash) VALUES ($1, 'scrypt$x') RETURNING id`, [email]))
        .rows[0].id,
    );
  const roles = ['MEMBER', 'VIEWER', 'OWNER'];
  for (const [i, userId] of users.entries())
    await pool.query(`INSERT INTO auth.memberships (user_id, org_id, role) VALUES ($1, $2, $3)`, [
      userId,
      org,
      roles[i],
    ]);

  expect(await migrateAuthSchema(pool)).toContain('003');

  const after = await pool.query(
    `SELECT u.email, m.role FROM auth.memberships m JOIN auth.users u ON u.id = m.user_id ORDER BY u.email`,
  );
  expect(after.rows).toEqual([
    { email: 'm@old.example', role: 'ANALYST' },
    { email: 'o@old.example', role: 'OWNER' },
    { email: 'v@old.example', role: 'VIEWER' },
  ]);
  await expect(
    pool.query(`UPDATE auth.memberships SET role = 'MEMBER' WHERE user_id = $1`, [users[1]]),
  ).rejects.toMatchObject({ code: '23514', constraint: 'memberships_role_check' });
});
