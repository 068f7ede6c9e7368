/**
 * DataPilot's local Apache Airflow 3: install it from the project's lock (`ensureAirflowInstalled`), run it
 * (`startAirflow`), and wait for a DAG to be parsed (`waitForDag`). CLI: `tsx infra/airflow/cli.ts`.
 *
 * One Airflow is four kinds of process, each started here as its own process group: the api-server (REST API
 * v2, the UI and the execution API the tasks call back into, on 127.0.0.1 only), the scheduler with the
 * `LocalExecutor` (it runs the tasks as its children), the dag-processor (parses the DAGs folder) and,
 * only when asked, the triggerer (deferrable operators; none of DataPilot's DAGs defer). Its metadata lives
 * in its own database and role on a PostgreSQL server the caller names. Settings come from the environment
 * (`AIRFLOW__SECTION__KEY`; Airflow writes a default `airflow.cfg` into AIRFLOW_HOME, which they override), checked
 * against Airflow 3.3.2's `airflow/config_templates/config.yml` and a running instance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { freePort, isPortOpen } from '../net.ts';
import { runLogged, tailOf } from '../spark/proc.ts';
import { AirflowInfraError, defaultAirflowLog, type AirflowLog } from './errors.ts';
import { airflowPaths, REPO_ROOT } from './paths.ts';

export { AirflowInfraError, defaultAirflowLog, type AirflowInfraErrorCode, type AirflowLog } from './errors.ts';
export { airflowPaths, REPO_ROOT, type AirflowPaths } from './paths.ts';
export { ensureAirflowInstalled, lockedAirflowVersion, type AirflowInstallation } from './install.ts';

/** The long-running Airflow processes this launcher starts. */
export type AirflowComponent = 'api-server' | 'scheduler' | 'dag-processor' | 'triggerer';

/** Options of {@link startAirflow}. */
export interface StartAirflowOptions {
  /**
   * URL of a role on the PostgreSQL server that may create roles and databases (a superuser, as
   * `infra/postgres` starts them), e.g. `postgres://postgres:pw@127.0.0.1:5433/postgres`. Airflow gets its own
   * role and database there ({@link StartAirflowOptions.database}); this URL itself is never handed to Airflow.
   */
  databaseUrl: string;
  /** TCP port of the api-server on 127.0.0.1; 0 picks a free one. */
  port: number;
  /**
   * `AIRFLOW_HOME`: the generated secrets (`datapilot-airflow.json`, mode 0600), the service account's password
   * file (`simple_auth_manager_passwords.json`, 0600) and the task logs (`logs/`). Created when missing; reusing
   * it keeps the passwords and keys.
   */
  stateDir: string;
  /** Folder of DAG files (default `<repo>/orchestration/dags`). */
  dagsFolder?: string;
  /**
   * Extra environment of every component, so of the task processes too (`SPARK_REMOTE`, `S3_*`, `NEO4J_*`,
   * `PYTHONPATH`, ...). Applied last: an `AIRFLOW__*` key here overrides the launcher's setting. The components
   * do NOT inherit this Node process's environment, only PATH, HOME, locale, time zone, TMPDIR, JAVA_HOME and
   * proxy variables from it, so no credential of the caller's reaches a task by accident.
   */
  env?: Record<string, string>;
  /** Progress lines (default: stderr with an `[airflow]` prefix). */
  log?: AirflowLog;
  /** Milliseconds to wait for the health check to report every component healthy (default 180 000). */
  readyTimeoutMs?: number;
  /** Folder of the component logs `airflow-<component>.log` and `airflow-migrate.log` (default `<repo>/.local/logs`). */
  logsDir?: string;
  /** Name of Airflow's database and role on the server (default `airflow`; `^[a-z_][a-z0-9_]{0,62}$`). */
  database?: string;
  /** The service account, a SimpleAuthManager user with the admin role (default `datapilot`). */
  username?: string;
  /** `[core] parallelism`: task instances running at once (default 4). */
  parallelism?: number;
  /**
   * `[dag_processor] refresh_interval` in seconds: how often the DAGs folder is listed for new files (default 5;
   * Airflow's own default of 300 s made a new DAG appear after minutes). Changed files are re-parsed every
   * `max(10, 2 × this)` seconds (`min_file_process_interval`).
   */
  dagRefreshSeconds?: number;
  /** Also run the triggerer, for DAGs with deferrable operators (default false). */
  triggerer?: boolean;
  /** Milliseconds {@link RunningAirflow.stop} waits after SIGTERM before SIGKILL (default 20 000). */
  stopTimeoutMs?: number;
  /** The checkout whose `.local/airflow-venv` runs Airflow (default: this one). */
  repoRoot?: string;
}

/** Memory of every process of a running Airflow (the components and all their children), in bytes. */
export interface AirflowMemory {
  /** Sum of the proportional set sizes (shared pages divided among their users): the honest total. */
  pssBytes: number;
  /** Sum of the resident set sizes (shared pages counted in each process: an over-estimate). */
  rssBytes: number;
  /** How many processes were counted (zombies left out). */
  processes: number;
  /** The same per component (children included). */
  byComponent: Partial<Record<AirflowComponent, { pssBytes: number; rssBytes: number; processes: number }>>;
}

/** A running Airflow; see {@link startAirflow}. */
export interface RunningAirflow {
  /** `http://127.0.0.1:<port>`: REST API v2 under `/api/v2`, tokens from `/auth/token`. */
  url: string;
  /** The api-server's port. */
  port: number;
  /** The service account (SimpleAuthManager user with the admin role). */
  username: string;
  /** Its password (generated once, kept in the state folder). */
  password: string;
  /** Milliseconds from the call to "every component healthy" (database set-up and migration included). */
  startMs: number;
  /** True when this start ran `airflow db migrate` (a new database, or another Airflow version). */
  migrated: boolean;
  /** Process id of each component (each is the leader of its own process group). */
  pids: Partial<Record<AirflowComponent, number>>;
  /** Log file of each component. */
  logFiles: Partial<Record<AirflowComponent, string>>;
  /** Measures {@link AirflowMemory} now, from `/proc` (Linux). */
  memory(): Promise<AirflowMemory>;
  /**
   * SIGTERM to each component's process group (scheduler, dag-processor and triggerer first, then the
   * api-server their tasks report to), SIGKILL to whatever is left after `stopTimeoutMs`; resolves when all
   * have exited. Idempotent.
   */
  stop(): Promise<void>;
  /** Resolves with the first component that exits (for whatever reason) and its exit code. */
  exited: Promise<{ component: AirflowComponent; code: number | null }>;
}

/** What the launcher generates once and keeps in `<stateDir>/datapilot-airflow.json` (mode 0600). */
interface AirflowSecrets {
  /** Password of Airflow's database role (hex, so it can be written into `CREATE ROLE` as is). */
  databasePassword: string;
  /** `[api_auth] jwt_secret`: signs the REST API and the execution API tokens; shared by every component. */
  jwtSecret: string;
  /** `[api] secret_key`. */
  apiSecretKey: string;
  /** `[core] fernet_key`: encrypts connection passwords and variables in the metadata database. */
  fernetKey: string;
}

const SECRETS_FILE = 'datapilot-airflow.json';
const PASSWORDS_FILE = 'simple_auth_manager_passwords.json';
const MIGRATED_FILE = 'datapilot-migrated.json';
const NAME_RE = /^[a-z_][a-z0-9_]{0,62}$/;
/** Variables the components take from this process's environment; everything else is set explicitly. */
const INHERITED_ENV = /^(PATH|HOME|USER|LANG|LC_\w+|TZ|TMPDIR|JAVA_HOME|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy)$/;

/**
 * The leader of each component's process group, a few lines of Python run by the venv's interpreter:
 * `python -c GUARD <parent pid> <grace s> <command...>`. It sets `PR_SET_PDEATHSIG` = SIGTERM (so it hears of the
 * Node process's death, even by SIGKILL; the parent pid is checked after the `prctl` in case it died in between),
 * runs the command as its child, and on SIGTERM or SIGINT passes SIGTERM to its whole process group (the
 * component, the scheduler's LocalExecutor workers, the api-server's workers) and SIGKILL to it after the grace
 * period. A signal to the component alone is not enough: a scheduler waits forever for LocalExecutor workers that
 * did not get it (seen with Airflow 3.3.2). It exits with the command's status (128 + signal when killed).
 */
const GUARD = [
  'import ctypes, os, signal, subprocess, sys',
  'ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)',
  'if os.getppid() != int(sys.argv[1]): sys.exit(70)',
  'grace = float(sys.argv[2])',
  'def stop(signum, frame):',
  '    signal.signal(signal.SIGTERM, signal.SIG_IGN)',
  '    signal.signal(signal.SIGINT, signal.SIG_IGN)',
  '    signal.signal(signal.SIGALRM, lambda *a: os.killpg(0, signal.SIGKILL))',
  '    signal.setitimer(signal.ITIMER_REAL, grace)',
  '    os.killpg(0, signal.SIGTERM)',
  'signal.signal(signal.SIGTERM, stop)',
  'signal.signal(signal.SIGINT, stop)',
  'code = subprocess.call(sys.argv[3:])',
  'sys.exit(code if code >= 0 else 128 - code)',
].join('\n');

/** Reads a JSON file, or undefined when it does not exist. */
async function readJson<T>(file: string): Promise<T | undefined> {
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** Writes a JSON file readable by this user only (mode 0600, also when it existed with another mode). */
async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
}

/** The kept secrets of `stateDir`, generating and saving the missing ones. */
async function loadSecrets(stateDir: string): Promise<AirflowSecrets> {
  const file = path.join(stateDir, SECRETS_FILE);
  const kept = (await readJson<Partial<AirflowSecrets>>(file)) ?? {};
  const secrets: AirflowSecrets = {
    databasePassword: kept.databasePassword ?? randomBytes(24).toString('hex'),
    jwtSecret: kept.jwtSecret ?? randomBytes(64).toString('base64url'),
    apiSecretKey: kept.apiSecretKey ?? randomBytes(32).toString('base64url'),
    // Fernet.generate_key(): 32 random bytes, URL-safe base64 with its padding.
    fernetKey: kept.fernetKey ?? randomBytes(32).toString('base64url') + '=',
  };
  if (!/^[0-9a-f]+$/.test(secrets.databasePassword))
    throw new AirflowInfraError('DATABASE_FAILED', `${file}: databasePassword must be lower-case hex.`);
  await writePrivateJson(file, secrets);
  return secrets;
}

/** The service account's password from Airflow's own password file (`{"user": "password"}`), added when missing. */
async function loadUserPassword(stateDir: string, username: string): Promise<{ file: string; password: string }> {
  const file = path.join(stateDir, PASSWORDS_FILE);
  const users = (await readJson<Record<string, string>>(file)) ?? {};
  users[username] ??= randomBytes(24).toString('base64url');
  await writePrivateJson(file, users);
  return { file, password: users[username] };
}

/**
 * Creates Airflow's role (LOGIN, the kept password; re-applied when the role exists) and its database owned by
 * it, when missing. Returns the SQLAlchemy URL Airflow connects with and the revision the database is at
 * (undefined before the first migration).
 */
async function ensureDatabase(
  serverUrl: string,
  name: string,
  password: string,
): Promise<{ sqlAlchemyUrl: string; revision: string | undefined }> {
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    // Names match NAME_RE and the password is hex: nothing here needs quoting beyond the double quotes.
    await admin.query(`${role.rowCount ? 'ALTER' : 'CREATE'} ROLE "${name}" LOGIN PASSWORD '${password}'`);
    const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!db.rowCount) await admin.query(`CREATE DATABASE "${name}" OWNER "${name}"`);
  } catch (e) {
    throw new AirflowInfraError(
      'DATABASE_FAILED',
      `Could not create Airflow's role and database "${name}" (the databaseUrl role needs CREATEROLE and ` +
        `CREATEDB): ${(e as Error).message}`,
    );
  } finally {
    await admin.end().catch(() => undefined);
  }
  const u = new URL(serverUrl);
  const own = `postgres://${name}:${password}@${u.host}/${name}${u.search}`;
  const client = new pg.Client({ connectionString: own });
  let revision: string | undefined;
  try {
    await client.connect();
    const r = await client.query<{ version_num: string }>(
      "SELECT version_num FROM alembic_version WHERE to_regclass('alembic_version') IS NOT NULL",
    );
    revision = r.rows[0]?.version_num;
  } catch {
    revision = undefined; // no alembic_version table yet
  } finally {
    await client.end().catch(() => undefined);
  }
  return { sqlAlchemyUrl: `postgresql+psycopg2://${name}:${password}@${u.host}/${name}${u.search}`, revision };
}

/** The sha256 of a file, hex. */
async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** pid → parent pid and state letter (`Z` for a zombie) of every process, from `/proc/<pid>/stat`. */
async function processTable(): Promise<Map<number, { ppid: number; state: string }>> {
  const out = new Map<number, { ppid: number; state: string }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may contain spaces: state ppid ...
      const [state = '?', ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { ppid: Number(ppid), state });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Pss and Rss of one process in bytes, from `/proc/<pid>/smaps_rollup`; zeros when it is gone. */
async function processMemory(pid: number): Promise<{ pss: number; rss: number }> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { pss: kb('Pss') * 1024, rss: kb('Rss') * 1024 };
  } catch {
    return { pss: 0, rss: 0 };
  }
}

/** Memory of the process trees rooted at each component's pid. */
async function measureMemory(pids: Partial<Record<AirflowComponent, number>>): Promise<AirflowMemory> {
  const table = await processTable();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const total: AirflowMemory = { pssBytes: 0, rssBytes: 0, processes: 0, byComponent: {} };
  for (const [component, root] of Object.entries(pids) as Array<[AirflowComponent, number]>) {
    if (!table.has(root)) continue;
    const part = { pssBytes: 0, rssBytes: 0, processes: 0 };
    for (const queue = [root]; queue.length > 0;) {
      const pid = queue.pop() as number;
      queue.push(...(children.get(pid) ?? []));
      if (table.get(pid)?.state === 'Z') continue; // exited, not yet reaped: no memory
      const m = await processMemory(pid);
      part.pssBytes += m.pss;
      part.rssBytes += m.rss;
      part.processes += 1;
    }
    total.byComponent[component] = part;
    total.pssBytes += part.pssBytes;
    total.rssBytes += part.rssBytes;
    total.processes += part.processes;
  }
  return total;
}

/** What `/api/v2/monitor/health` answers (Airflow 3.3; `status` is `healthy`, `unhealthy` or null). */
type Health = Partial<Record<'metadatabase' | 'scheduler' | 'triggerer' | 'dag_processor', { status: string | null }>>;

/** The health report, or undefined while the api-server does not answer. */
async function fetchHealth(url: string): Promise<Health | undefined> {
  try {
    const res = await fetch(`${url}/api/v2/monitor/health`, { signal: AbortSignal.timeout(3000) });
    return res.ok ? ((await res.json()) as Health) : undefined;
  } catch {
    return undefined;
  }
}

/** Sends `signal` to the process group led by `pid`; false when there is none any more. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts Airflow and resolves once `/api/v2/monitor/health` reports the metadatabase, the scheduler and the
 * dag-processor (and the triggerer, when started) healthy.
 *
 * Steps: makes the role and database of {@link StartAirflowOptions.database} on the server (idempotent), runs
 * `airflow db migrate` unless the database is at the revision the last migration of this state folder left with
 * the same lock file (one SQL look-up instead of a ~2.5 s command), then spawns each component with the
 * `LocalExecutor`, `parallelism` 4, DAGs unpaused at creation, no example DAGs, a 5 s DAG folder refresh, the
 * execution API at its own api-server's `/execution/`, one generated JWT secret shared by all, a kept Fernet key
 * and SimpleAuthManager with one admin service account. The api-server binds 127.0.0.1; the log servers are not
 * started (`--skip-serve-logs`: they would bind every interface, and the api-server reads the task logs from the
 * shared folder anyway), and their ports are moved off 8793/8794 to free ones in case something starts them.
 * Each component writes to `<logsDir>/airflow-<component>.log` and runs under a small guard process that stops
 * its whole process group when this Node process dies, even by SIGKILL (see `GUARD`); a normal exit of this
 * process signals them too.
 *
 * Measured on 2 cores: ready 7.5 s after the call on a new database with the machine idle, 17.5 s with it
 * shared (migration 2.5-6 s included); 5-9 s on a restart. About 0.58 GB PSS in all once started (10 processes:
 * the api-server 0.22 GB, the scheduler with its 4 LocalExecutor workers 0.19 GB, the dag-processor 0.17 GB, the
 * 3 guards), 0.73-0.76 GB after and during task runs; the RSS sum (1.2-1.45 GB) over-counts the pages the forked
 * workers share. Progress is printed every 10 s while waiting.
 * @throws AirflowInfraError NOT_INSTALLED (run `npm run setup`), PORT_IN_USE, DATABASE_FAILED (role, database
 *   or migration), START_FAILED (a component exited; its log's last lines), START_TIMEOUT (not healthy in time;
 *   the unhealthy components' last log lines; everything started has been stopped).
 */
export async function startAirflow(opts: StartAirflowOptions): Promise<RunningAirflow> {
  const t0 = Date.now();
  const log = opts.log ?? defaultAirflowLog;
  const p = airflowPaths(opts.repoRoot ?? REPO_ROOT);
  const name = opts.database ?? 'airflow';
  const username = opts.username ?? 'datapilot';
  if (!NAME_RE.test(name)) throw new AirflowInfraError('DATABASE_FAILED', `bad database name ${JSON.stringify(name)}`);
  if (!/^[A-Za-z0-9_.-]+$/.test(username)) throw new Error(`bad Airflow user name ${JSON.stringify(username)}`);
  if (!existsSync(p.airflowBin))
    throw new AirflowInfraError('NOT_INSTALLED', `Airflow is not installed in ${p.venvDir}: run \`npm run setup\`.`);
  if (opts.port && (await isPortOpen(opts.port)))
    throw new AirflowInfraError(
      'PORT_IN_USE',
      `Cannot start Airflow: 127.0.0.1:${opts.port} is already in use (another Airflow? stop it or pick another port).`,
    );
  const port = opts.port || (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const stateDir = path.resolve(opts.stateDir);
  const logsDir = path.resolve(opts.logsDir ?? p.logsDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await mkdir(logsDir, { recursive: true });

  const secrets = await loadSecrets(stateDir);
  const { file: passwordsFile, password } = await loadUserPassword(stateDir, username);
  log(`preparing database "${name}" and its role`);
  const db = await ensureDatabase(opts.databaseUrl, name, secrets.databasePassword);

  const refresh = opts.dagRefreshSeconds ?? 5;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => INHERITED_ENV.test(k) && v !== undefined),
  ) as Record<string, string>;
  const env: Record<string, string> = {
    ...inherited,
    AIRFLOW_HOME: stateDir,
    AIRFLOW__CORE__DAGS_FOLDER: path.resolve(opts.dagsFolder ?? p.dagsFolder),
    AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
    AIRFLOW__CORE__PARALLELISM: String(opts.parallelism ?? 4),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'False',
    AIRFLOW__CORE__FERNET_KEY: secrets.fernetKey,
    AIRFLOW__CORE__AUTH_MANAGER: 'airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager',
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${username}:admin`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: passwordsFile,
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: db.sqlAlchemyUrl,
    AIRFLOW__API__HOST: '127.0.0.1',
    AIRFLOW__API__PORT: String(port),
    AIRFLOW__API__BASE_URL: url,
    AIRFLOW__API__WORKERS: '1',
    AIRFLOW__API__SECRET_KEY: secrets.apiSecretKey,
    AIRFLOW__API_AUTH__JWT_SECRET: secrets.jwtSecret,
    AIRFLOW__LOGGING__BASE_LOG_FOLDER: path.join(stateDir, 'logs'),
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: String(await freePort()),
    AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: String(await freePort()),
    AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: 'False',
    AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST: '127.0.0.1',
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: String(refresh),
    AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL: String(Math.max(10, 2 * refresh)),
    AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES: '1',
    AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: path.join(stateDir, 'bundles'),
    ...opts.env,
  };

  // Migration: skipped when the database is at the revision the last migration of this lock left it at.
  const migratedFile = path.join(stateDir, MIGRATED_FILE);
  const lockHash = await sha256(p.lockFile);
  const marker = await readJson<{ lockHash: string; revision: string }>(migratedFile);
  const migrated = !db.revision || marker?.lockHash !== lockHash || marker.revision !== db.revision;
  if (migrated) {
    log(`airflow db migrate (database "${name}" at ${db.revision ?? 'no revision'})`);
    await runLogged(p.airflowBin, ['db', 'migrate'], {
      env,
      logFile: path.join(logsDir, 'airflow-migrate.log'),
      log,
      label: 'airflow db migrate',
      error: (message, file) => new AirflowInfraError('DATABASE_FAILED', message, file),
    });
    const after = await ensureDatabase(opts.databaseUrl, name, secrets.databasePassword);
    if (after.revision) await writePrivateJson(migratedFile, { lockHash, revision: after.revision });
  }

  const components: AirflowComponent[] = ['api-server', 'scheduler', 'dag-processor'];
  if (opts.triggerer) components.push('triggerer');
  const args: Record<AirflowComponent, string[]> = {
    'api-server': ['api-server', '--host', '127.0.0.1', '--port', String(port), '--workers', '1'],
    scheduler: ['scheduler', '--skip-serve-logs'],
    'dag-processor': ['dag-processor'],
    triggerer: ['triggerer', '--skip-serve-logs'],
  };
  const children = new Map<AirflowComponent, ChildProcess>();
  const logFiles: Partial<Record<AirflowComponent, string>> = {};
  const exits: Array<Promise<{ component: AirflowComponent; code: number | null }>> = [];
  // On a normal exit of this process; its death by a signal reaches the guards through PR_SET_PDEATHSIG.
  const killAllOnExit = () => {
    for (const child of children.values()) if (child.pid && child.exitCode === null) child.kill('SIGTERM');
  };
  process.on('exit', killAllOnExit);

  let stopping: Promise<void> | undefined;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 20_000;
  const stopOne = async (component: AirflowComponent) => {
    const child = children.get(component);
    if (!child?.pid) return;
    const pid = child.pid;
    const gone = new Promise<void>((ok) => {
      if (child.exitCode !== null || child.signalCode !== null) ok();
      else child.once('exit', () => ok());
    });
    try {
      process.kill(pid, 'SIGTERM'); // the guard passes it on to the whole group
    } catch {
      // already gone
    }
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), stopTimeoutMs + 2000);
    await gone;
    clearTimeout(timer);
    killGroup(pid, 'SIGKILL'); // whatever the component left behind in its group
  };
  const stop = () => {
    stopping ??= (async () => {
      await Promise.all(components.filter((c) => c !== 'api-server').map(stopOne));
      await stopOne('api-server');
      process.off('exit', killAllOnExit);
    })();
    return stopping;
  };

  for (const component of components) {
    const logFile = path.join(logsDir, `airflow-${component}.log`);
    logFiles[component] = logFile;
    const fd = openSync(logFile, 'a');
    writeSync(fd, `\n=== ${new Date().toISOString()} starting airflow ${args[component].join(' ')}\n`);
    const guardArgs = ['-c', GUARD, String(process.pid), String(stopTimeoutMs / 1000), p.airflowBin];
    const child = spawn(p.python, [...guardArgs, ...args[component]], {
      env,
      cwd: stateDir,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    children.set(component, child);
    exits.push(
      new Promise((ok) => {
        child.once('error', () => ok({ component, code: -1 }));
        child.once('exit', (code) => ok({ component, code }));
      }),
    );
  }
  const exited = Promise.race(exits);
  log(`starting ${components.join(', ')} (api-server on ${url}; logs in ${logsDir}/airflow-*.log)`);

  // Readiness: every started component healthy, or one exits, or the deadline passes.
  const timeoutMs = opts.readyTimeoutMs ?? 180_000;
  const wanted: Array<keyof Health> = ['metadatabase', 'scheduler', 'dag_processor'];
  if (opts.triggerer) wanted.push('triggerer');
  const waitStart = Date.now();
  let lastProgress = waitStart;
  let early: { component: AirflowComponent; code: number | null } | undefined;
  void exited.then((e) => (early ??= e));
  let health: Health | undefined;
  for (;;) {
    health = await fetchHealth(url);
    const unhealthy = wanted.filter((k) => health?.[k]?.status !== 'healthy');
    if (health && unhealthy.length === 0) break;
    if (early && !stopping) {
      const { component, code } = early;
      await stop();
      throw new AirflowInfraError(
        'START_FAILED',
        `Airflow's ${component} exited with code ${code} before Airflow was ready; last lines of ` +
          `${logFiles[component]}:\n${tailOf(logFiles[component] as string, 25)}`,
        logFiles[component],
      );
    }
    if (Date.now() - waitStart > timeoutMs) {
      await stop();
      const culprits = health ? unhealthy : ['api-server'];
      const tails = culprits
        .map((k) => (k === 'metadatabase' ? 'api-server' : (k.replace('_', '-') as AirflowComponent)))
        .map((c) => `--- ${logFiles[c]}:\n${tailOf(logFiles[c] as string, 15)}`)
        .join('\n');
      throw new AirflowInfraError(
        'START_TIMEOUT',
        `Airflow was not healthy within ${timeoutMs} ms (not healthy: ${culprits.join(', ')}); it has been stopped.\n${tails}`,
      );
    }
    if (Date.now() - lastProgress >= 10_000) {
      lastProgress = Date.now();
      const state = health ? wanted.map((k) => `${k} ${health?.[k]?.status ?? 'unknown'}`).join(', ') : 'no answer';
      log(`waiting for Airflow (${Math.round((Date.now() - waitStart) / 1000)} s): ${state}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const startMs = Date.now() - t0;
  log(`Airflow ready on ${url} in ${(startMs / 1000).toFixed(1)} s${migrated ? ' (database migrated)' : ''}`);
  void exited.then(({ component, code }) => {
    if (!stopping) log(`${component} exited on its own with code ${code}; see ${logFiles[component]}`);
  });

  const pids = Object.fromEntries([...children].map(([c, child]) => [c, child.pid as number])) as Partial<
    Record<AirflowComponent, number>
  >;
  return {
    url,
    port,
    username,
    password,
    startMs,
    migrated,
    pids,
    logFiles,
    memory: () => measureMemory(pids),
    stop,
    exited,
  };
}

/**
 * Waits until the dag-processor has parsed `dagId` and the REST API shows it (`client.getDag` answers something
 * other than undefined), polling every second. A new DAG file takes up to `dagRefreshSeconds` to be listed plus
 * the parse itself.
 * @param client anything with `getDag(dagId)` resolving undefined while the DAG is unknown (the lake subgraph's
 *   Airflow client fits).
 * @param timeoutMs how long to wait, in milliseconds (default 120 000).
 * @returns the DAG as `getDag` returned it.
 * @throws Error naming the DAG when it did not appear in time (look at the dag-processor's log for import errors).
 */
export async function waitForDag<T>(
  client: { getDag(dagId: string): Promise<T | undefined> },
  dagId: string,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const dag = await client.getDag(dagId).catch((e: unknown) => {
      lastError = e;
      return undefined;
    });
    if (dag !== undefined) return dag;
    if (Date.now() > deadline)
      throw new Error(
        `DAG ${JSON.stringify(dagId)} did not appear in Airflow within ${timeoutMs} ms` +
          (lastError ? ` (last error: ${(lastError as Error).message})` : '') +
          '; look for import errors in airflow-dag-processor.log or GET /api/v2/importErrors.',
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
