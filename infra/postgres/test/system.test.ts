import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBinaries, removeDataDir, startSystemPostgres, type RunningPostgres } from '../index.ts';
import { startTestDatabase } from '../testing.ts';
import { rowLockScenario, writeSkewScenario } from './concurrency.ts';

// PostgreSQL from the distribution's packages (Debian 12: PostgreSQL 15 in /usr/lib/postgresql/15/bin).
describe('startSystemPostgres', () => {
  let dataDir: string;
  let server: RunningPostgres;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'dp-sys-'));
    server = await startSystemPostgres({ port: 0, dataDir });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (dataDir) await removeDataDir(dataDir);
  }, 60_000);

  it('initialises, listens on 127.0.0.1 and reports the version of the binaries it found', async () => {
    const bins = findPostgresBinaries();
    expect(server.initialised).toBe(true);
    expect(server.majorVersion).toBe(bins.majorVersion);
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    const version = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num);
    const user = (await c.query('SELECT current_user AS u')).rows[0].u;
    await c.end();
    expect(Math.floor(version / 10000)).toBe(bins.majorVersion);
    expect(user).toBe('postgres');
  });

  it('makes a conflicting row update wait for the lock holder (no lost update)', async () => {
    const r = await rowLockScenario(server.url);
    expect(r.blockers).toEqual([r.pidA]);
    expect(r.bFinishedWhileLocked).toBe(false);
    expect([r.bResult, r.final]).toEqual([140, 140]);
  });

  it('rejects SERIALIZABLE write skew with SQLSTATE 40001', async () => {
    const r = await writeSkewScenario(server.url);
    expect([r.commitA, r.commitB].sort()).toEqual(['40001', 'committed']);
    expect(r.onCall).toHaveLength(1);
  });

  it('keeps data across a restart without re-initialising', async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await c.query("CREATE TABLE keep AS SELECT 'survives'::text AS v");
    await c.end();
    await server.stop();
    await server.stop(); // idempotent
    server = await startSystemPostgres({ port: 0, dataDir });
    expect(server.initialised).toBe(false);
    const c2 = new pg.Client({ connectionString: server.url });
    await c2.connect();
    expect((await c2.query('SELECT v FROM keep')).rows).toEqual([{ v: 'survives' }]);
    await c2.end();
  }, 60_000);

  it('refuses a dataDir holding something else, and a second start of a running cluster, quoting the server log', async () => {
    await expect(
      startSystemPostgres({ port: 0, dataDir: path.dirname(new URL(import.meta.url).pathname) }),
    ).rejects.toThrow(/neither empty nor a PostgreSQL data directory/);
    // The same cluster a second time: PostgreSQL's own lock file refuses it.
    const second = startSystemPostgres({ port: 0, dataDir });
    await expect(second).rejects.toThrow(/failed to start/);
    await expect(second).rejects.toThrow(/postmaster\.pid/);
  }, 60_000);
});

describe('as root', () => {
  it.runIf(process.getuid?.() === 0)(
    'refuses a cluster the postgres user cannot reach, naming the parent it cannot enter',
    async () => {
      // A cluster that already exists under a folder of mode 0700 is not moved (see root.test.ts for an empty one).
      const parent = await mkdtemp(path.join(tmpdir(), 'dp-private-')); // mode 0700, owned by root
      const dataDir = path.join(parent, 'pg');
      try {
        await mkdir(dataDir);
        await writeFile(path.join(dataDir, 'PG_VERSION'), `${findPostgresBinaries().majorVersion}\n`);
        await expect(startSystemPostgres({ port: 0, dataDir })).rejects.toThrow(
          `user "postgres" (the server's user; PostgreSQL refuses root) cannot enter ${parent}, a parent of ${dataDir}: ` +
            `move that cluster to a folder it can reach and leave a symbolic link to it at ${dataDir}`,
        );
        expect((await stat(parent)).mode & 0o777).toBe(0o700);
      } finally {
        await removeDataDir(parent);
      }
    },
  );
});

describe('as root, binaries out of reach', () => {
  it.runIf(process.getuid?.() === 0)(
    'refuses binaries the postgres user cannot execute, naming the folder',
    async () => {
      const parent = await mkdtemp(path.join(tmpdir(), 'dp-bin-')); // mode 0700, owned by root
      try {
        const real = findPostgresBinaries();
        for (const n of ['initdb', 'pg_ctl', 'postgres'] as const) await symlink(real[n], path.join(parent, n));
        const dataDir = path.join(parent, 'pg');
        await expect(startSystemPostgres({ port: 0, dataDir, binDir: parent })).rejects.toThrow(
          `user "postgres" (the server's user; PostgreSQL refuses root) cannot enter ${parent}, a parent of ` +
            `${parent}/postgres: install PostgreSQL where that user can reach it`,
        );
        expect(existsSync(dataDir)).toBe(false); // refused before anything was made
      } finally {
        await removeDataDir(parent);
      }
    },
  );
});

describe('findPostgresBinaries', () => {
  it('names apt-get install postgresql when the binaries are missing', () => {
    expect(() => findPostgresBinaries({ searchPath: '/nonexistent', roots: ['/nonexistent-root'] })).toThrow(
      /apt-get install postgresql/,
    );
  });
});

describe('startTestDatabase', () => {
  it('gives a fresh empty database on a temporary cluster when DATABASE_URL is unset', async () => {
    const db = await startTestDatabase({ databaseUrl: '' });
    try {
      expect(db.source).toBe('temporary');
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const name = (await c.query('SELECT current_database() AS d')).rows[0].d;
      const tables = (await c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n;
      await c.end();
      expect(name).toMatch(/^dp_test_[0-9a-f]{12}$/);
      expect(tables).toBe(0);
    } finally {
      await db.close();
    }
  }, 120_000);
});
