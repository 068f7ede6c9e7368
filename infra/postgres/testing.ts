/**
 * A fresh PostgreSQL database for one test file, against a real server.
 *
 * With `DATABASE_URL` set (CI with a service container, or the running stack), a new database
 * `dp_test_<random>` is created on that server (the role needs CREATEDB) and dropped afterwards.
 * Without it, the distribution's PostgreSQL ({@link startSystemPostgres}) is started in a temporary
 * data directory on a free port, and removed afterwards.
 *
 * `url` connects as the server's superuser: the migrations run over it (as the schema owner). The services' requests
 * run as their runtime roles (`urlAs`), which own nothing, so the row-level security policies bind them as in
 * production (a superuser would bypass every policy).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  createDatabase,
  dropDatabase,
  provisionRuntimeRoles,
  removeDataDir,
  startSystemPostgres,
  type PostgresLog,
  type RuntimeRole,
} from './index.ts';

/** A database that exists until `close()`. */
export interface TestDatabase {
  /** Connection URL of the fresh, empty database, as the server's superuser (migrations, fixtures). */
  url: string;
  /**
   * Connection URL of this database as runtime role `role` (e.g. `datapilot_chat`): made a login role with its
   * derived password on first use ({@link provisionRuntimeRoles}). What a service's pool should use.
   */
  urlAs(role: RuntimeRole): Promise<string>;
  /** How it was made: `server` = a new database on DATABASE_URL's server; `temporary` = a temporary cluster. */
  source: 'server' | 'temporary';
  /** Drops the database, or stops and deletes the temporary cluster. Close every pool first. */
  close(): Promise<void>;
}

/**
 * Creates a fresh database; see the module comment for where.
 * @param opts.databaseUrl server to create the database on (default `process.env.DATABASE_URL`; '' forces a temporary cluster).
 * @param opts.log server log lines of a temporary cluster (default: dropped).
 * @throws Error from {@link startSystemPostgres} (naming `apt-get install postgresql`) when no server can be had.
 */
export async function startTestDatabase(opts: { databaseUrl?: string; log?: PostgresLog } = {}): Promise<TestDatabase> {
  const name = `dp_test_${randomBytes(6).toString('hex')}`;
  const serverUrl = opts.databaseUrl ?? process.env.DATABASE_URL;
  if (serverUrl) {
    const url = await createDatabase(serverUrl, name);
    return { url, source: 'server', urlAs: roleUrl(serverUrl, name), close: () => dropDatabase(serverUrl, name) };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'dp-pg-'));
  try {
    const pg = await startSystemPostgres({ port: 0, dataDir, log: opts.log });
    const url = await createDatabase(pg.url, name);
    return {
      url,
      source: 'temporary',
      urlAs: roleUrl(pg.url, name),
      close: async () => {
        await pg.stop();
        await removeDataDir(dataDir);
      },
    };
  } catch (e) {
    await removeDataDir(dataDir);
    throw e;
  }
}

/** `urlAs` of database `name` on the server of `serverUrl`. */
function roleUrl(serverUrl: string, name: string) {
  return async (role: RuntimeRole) => (await provisionRuntimeRoles(serverUrl, [role], name))[role]!;
}
