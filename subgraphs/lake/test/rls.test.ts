/**
 * Issue 6's second wall in the lake subgraph, on real PostgreSQL: row-level security binds the runtime role
 * datapilot_lake whatever a statement's WHERE clause says; the run watcher finds cross-org work only through the
 * discovery functions of migrations/004 (pairs of ids, nothing else) and reads and writes each row as its own org.
 * Rows are written with the superuser's pool (no policy binds it), so what each reader should see is known here.
 * (The watcher driving real Airflow runs under these policies: uploads.test.ts, runs.test.ts, sweep.test.ts.)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRuntimeRole, inTenantTransaction } from '@datapilot/common';
import { startTestDatabase, type TestDatabase } from '../../../infra/postgres/testing.ts';
import { createRunLedger } from '../src/data/records.ts';
import { migrateLakeSchema } from '../src/server.ts';

const A = randomUUID();
const B = randomUUID();

/** Superuser inserts: an upload (expiring `expiresIn` from now, e.g. '-3 hours') and optionally its run. */
async function seed(
  owner: pg.Pool,
  org: string,
  o: { status: string; expiresIn: string; swept?: boolean; run?: { state: string; createdAgo: string } },
) {
  const id = randomUUID();
  await owner.query(
    `INSERT INTO lake.uploads (org_id, id, table_name, file_name, object_key, format, mode, size_bytes, content_type,
       status, created_by, expires_at, incoming_swept_at)
     VALUES ($1, $2, 't', 'f.csv', $3, 'CSV', 'OVERWRITE', 10, 'text/csv', $4, $5, now() + $6::interval,
       CASE WHEN $7 THEN now() END)`,
    [org, id, `bronze/org=${org}/t/${id}/f.csv`, o.status, randomUUID(), o.expiresIn, o.swept ?? false],
  );
  let runId: string | null = null;
  if (o.run) {
    runId = randomUUID();
    await owner.query(
      `INSERT INTO lake.pipeline_runs (org_id, id, upload_id, table_name, mode, reason, dag_id, dag_run_id, state,
         triggered_by, created_at)
       VALUES ($1, $2, $3, 't', 'OVERWRITE', 'UPLOAD', 'datapilot_ingest', $4, $5, $6, now() - $7::interval)`,
      [org, runId, id, `datapilot__${runId}`, o.run.state, randomUUID(), o.run.createdAgo],
    );
  }
  return { uploadId: id, runId, objectKey: `bronze/org=${org}/t/${id}/f.csv` };
}

/** SQLSTATE of a failed statement, or 'ok'. */
const sqlState = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? String(e),
  );

describe('the lake schema under row-level security (superuser owner, runtime role datapilot_lake)', () => {
  let db: TestDatabase;
  let owner: pg.Pool;
  let runtime: pg.Pool;
  let s: Record<string, Awaited<ReturnType<typeof seed>>>;

  beforeAll(async () => {
    db = await startTestDatabase();
    owner = new pg.Pool({ connectionString: db.url, max: 2 });
    await migrateLakeSchema(owner);
    runtime = new pg.Pool({ connectionString: await db.urlAs('datapilot_lake'), max: 4 });
    s = {
      a1: await seed(owner, A, {
        status: 'LOADED',
        expiresIn: '-3 hours',
        swept: true,
        run: { state: 'SUCCESS', createdAgo: '3 hours' },
      }),
      a2: await seed(owner, A, {
        status: 'UPLOADED',
        expiresIn: '-3 hours',
        run: { state: 'PENDING', createdAgo: '1 minute' },
      }),
      a3: await seed(owner, A, { status: 'PENDING', expiresIn: '-2 hours' }),
      b1: await seed(owner, B, {
        status: 'UPLOADED',
        expiresIn: '1 hour',
        run: { state: 'RUNNING', createdAgo: '2 minutes' },
      }),
      b2: await seed(owner, B, { status: 'PENDING', expiresIn: '1 hour' }),
    };
  }, 120_000);

  afterAll(async () => {
    await runtime?.end();
    await owner?.end();
    await db?.close();
  });

  it('every table of schema lake has ENABLE and FORCE row level security and the org policy', async () => {
    const { rows } = await owner.query(
      `SELECT c.relname, c.relrowsecurity AS on, c.relforcerowsecurity AS forced,
         ARRAY(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS policies
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'lake' AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { relname: 'pipeline_runs', on: true, forced: true, policies: ['org_wall', 'watcher_discovery'] },
      { relname: 'uploads', on: true, forced: true, policies: ['org_wall', 'watcher_discovery'] },
    ]);
  });

  it('a statement that forgets the org filter still sees only its org’s rows; without the setting, none', async () => {
    const seen = (org: string) =>
      inTenantTransaction(runtime, { orgId: org }, async (c) => ({
        uploads: (await c.query('SELECT id FROM lake.uploads ORDER BY id')).rows.map((r) => r.id),
        runs: (await c.query('SELECT id FROM lake.pipeline_runs ORDER BY id')).rows.map((r) => r.id),
      }));
    expect(await seen(A)).toEqual({
      uploads: [s.a1!.uploadId, s.a2!.uploadId, s.a3!.uploadId].sort(),
      runs: [s.a1!.runId, s.a2!.runId].sort(),
    });
    expect(await seen(B)).toEqual({ uploads: [s.b1!.uploadId, s.b2!.uploadId].sort(), runs: [s.b1!.runId] });
    const none = await runtime.query(
      'SELECT (SELECT count(*) FROM lake.uploads)::int AS uploads, (SELECT count(*) FROM lake.pipeline_runs)::int AS runs',
    );
    expect(none.rows).toEqual([{ uploads: 0, runs: 0 }]);
    // Writing into another org is refused (WITH CHECK), reaching into it changes nothing.
    expect(
      await sqlState(
        inTenantTransaction(runtime, { orgId: A }, (c) =>
          c.query(`UPDATE lake.uploads SET org_id = $1 WHERE id = $2`, [B, s.a3!.uploadId]),
        ),
      ),
    ).toBe('42501');
    const reached = await inTenantTransaction(runtime, { orgId: A }, (c) =>
      c.query(`UPDATE lake.pipeline_runs SET state = 'FAILED' WHERE id = $1`, [s.b1!.runId]),
    );
    expect(reached.rowCount).toBe(0);
  });

  it('the runtime role cannot lift the wall nor change what the discovery functions answer', async () => {
    const attempts = [
      'ALTER TABLE lake.uploads DISABLE ROW LEVEL SECURITY',
      'ALTER TABLE lake.pipeline_runs NO FORCE ROW LEVEL SECURITY',
      'DROP POLICY org_wall ON lake.uploads',
      'CREATE POLICY mine ON lake.pipeline_runs USING (true)',
      `SET ROLE ${new URL(db.url).username}`, // the superuser
      `CREATE OR REPLACE FUNCTION lake.watcher_active_runs(lim integer) RETURNS TABLE (org_id uuid, id uuid)
         LANGUAGE sql SECURITY DEFINER AS $$ SELECT org_id, id FROM lake.pipeline_runs $$`,
      'ALTER FUNCTION lake.watcher_expired_uploads(integer, integer) SECURITY INVOKER',
    ];
    const states = [];
    for (const sql of attempts) states.push(await sqlState(runtime.query(sql)));
    expect(states).toEqual(attempts.map(() => '42501'));
    await expect(assertRuntimeRole(runtime)).resolves.toBe('datapilot_lake');
  });

  it('the discovery functions answer (org, id) pairs of their one condition, to datapilot_lake only', async () => {
    const pairs = async (sql: string) => (await runtime.query(sql)).rows;
    // Oldest first: B's run was created 2 minutes ago, A's 1 minute ago; A's SUCCESS run is not active.
    expect(await pairs('SELECT * FROM lake.watcher_active_runs(10)')).toEqual([
      { org_id: B, id: s.b1!.runId },
      { org_id: A, id: s.a2!.runId },
    ]);
    // PENDING and expired more than an hour ago: only a3 (b2 expires in an hour).
    expect(await pairs('SELECT * FROM lake.watcher_expired_uploads(3600, 10)')).toEqual([
      { org_id: A, id: s.a3!.uploadId },
    ]);
    // Not swept and expired more than an hour ago, by expiry: a2 (3 hours), a3 (2 hours); a1 is swept.
    expect(await pairs('SELECT * FROM lake.watcher_unswept_uploads(3600, 10)')).toEqual([
      { org_id: A, id: s.a2!.uploadId },
      { org_id: A, id: s.a3!.uploadId },
    ]);
    // Another service's role may not call them even where it may enter the schema.
    await owner.query('GRANT USAGE ON SCHEMA lake TO datapilot_chat');
    const chat = new pg.Pool({ connectionString: await db.urlAs('datapilot_chat'), max: 1 });
    try {
      expect(await sqlState(chat.query('SELECT * FROM lake.watcher_active_runs(10)'))).toBe('42501');
    } finally {
      await chat.end();
      await owner.query('REVOKE USAGE ON SCHEMA lake FROM datapilot_chat');
    }
  });

  it('the run ledger works across orgs through them, each row as its own org', async () => {
    const ledger = createRunLedger(runtime);
    const active = await ledger.activeRuns();
    expect(active.map((r) => [r.orgId, r.id, r.state, r.upload.objectKey])).toEqual([
      [B, s.b1!.runId, 'RUNNING', s.b1!.objectKey],
      [A, s.a2!.runId, 'PENDING', s.a2!.objectKey],
    ]);
    const done = await ledger.updateRun(B, s.b1!.runId!, { state: 'SUCCESS', deltaVersion: 4 });
    expect(done).toMatchObject({ orgId: B, id: s.b1!.runId, state: 'SUCCESS', deltaVersion: 4, revision: 2 });
    expect(await ledger.updateRun(A, s.b1!.runId!, { state: 'FAILED' })).toBeNull(); // wrong org: not found
    const upload = await owner.query('SELECT status FROM lake.uploads WHERE id = $1', [s.b1!.uploadId]);
    expect(upload.rows).toEqual([{ status: 'LOADED' }]);

    expect(await ledger.expireUploads(3600)).toBe(1);
    const expired = await owner.query('SELECT status, error_code FROM lake.uploads WHERE id = $1', [s.a3!.uploadId]);
    expect(expired.rows).toEqual([{ status: 'FAILED', error_code: 'UPLOAD_EXPIRED' }]);

    const sweep = await ledger.uploadsToSweep(3600, 10);
    expect(sweep).toEqual([
      { orgId: A, id: s.a2!.uploadId, objectKey: s.a2!.objectKey },
      { orgId: A, id: s.a3!.uploadId, objectKey: s.a3!.objectKey },
    ]);
    await ledger.markSwept(A, s.a2!.uploadId);
    expect((await ledger.uploadsToSweep(3600, 10)).map((u) => u.id)).toEqual([s.a3!.uploadId]);
    expect((await ledger.activeRuns()).map((r) => r.id)).toEqual([s.a2!.runId]);
  });
});

describe('an owner that is not a superuser (as in compose/)', () => {
  let db: TestDatabase;
  let su: pg.Pool;
  let owner: pg.Pool;
  let runtime: pg.Pool;
  const ownerRole = `dp_owner_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');

  beforeAll(async () => {
    db = await startTestDatabase();
    su = new pg.Pool({ connectionString: db.url, max: 1 });
    const dbName = new URL(db.url).pathname.slice(1);
    await su.query(`CREATE ROLE ${ownerRole} LOGIN PASSWORD '${password}'`);
    await su.query(`GRANT CREATE ON DATABASE ${dbName} TO ${ownerRole}`);
    runtime = new pg.Pool({ connectionString: await db.urlAs('datapilot_lake'), max: 2 });
    const ownerUrl = new URL(db.url);
    ownerUrl.username = ownerRole;
    ownerUrl.password = password;
    owner = new pg.Pool({ connectionString: ownerUrl.toString(), max: 1 });
    await migrateLakeSchema(owner);
  }, 120_000);

  afterAll(async () => {
    await runtime?.end();
    await owner?.end();
    await su?.end();
    await db?.close();
    // The role owned objects of the dropped database only; roles are cluster-wide, so it goes too.
    if (db?.source === 'server') {
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${ownerRole}`).finally(() => admin.end());
    }
  });

  it('FORCE binds the owner too: it sees only what the watcher may discover; the watcher still finds its work', async () => {
    const done = await seed(su, A, {
      status: 'LOADED',
      expiresIn: '1 hour',
      swept: true,
      run: { state: 'SUCCESS', createdAgo: '2 minutes' },
    });
    const busy = await seed(su, B, {
      status: 'UPLOADED',
      expiresIn: '1 hour',
      swept: true,
      run: { state: 'QUEUED', createdAgo: '1 minute' },
    });
    const ownRuns = await owner.query('SELECT id FROM lake.pipeline_runs');
    expect(ownRuns.rows).toEqual([{ id: busy.runId }]); // the SUCCESS run is hidden from the owner
    expect((await owner.query('SELECT id FROM lake.uploads')).rows).toEqual([]); // both swept and not PENDING
    const active = await createRunLedger(runtime).activeRuns();
    expect(active.map((r) => [r.orgId, r.id, r.upload.objectKey])).toEqual([[B, busy.runId, busy.objectKey]]);
    expect(done.runId).not.toBe(busy.runId);
    await expect(assertRuntimeRole(owner)).rejects.toThrow(/owns .*lake\.pipeline_runs/);
  });
});
