/**
 * The Airflow REST client against a real Airflow 3.3.2 started by `infra/airflow` (api-server, scheduler,
 * dag-processor, LocalExecutor) on a fresh database of the test PostgreSQL (DATABASE_URL, from
 * test/global-setup.ts), with the small DAG below written to a temporary DAGs folder. Expected values are
 * computed by hand from that DAG's source, never by the client.
 */
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataPilotError } from '@datapilot/common';
import { freePort, isPortOpen } from '../../../infra/net.ts';
import {
  ensureAirflowInstalled,
  REPO_ROOT,
  startAirflow,
  waitForDag,
  type RunningAirflow,
  type StartAirflowOptions,
} from '../../../infra/airflow/index.ts';
import { createAirflowClient, type AirflowClient, type DagRun } from '../src/airflow/client.ts';

const DAG_ID = 'dp_client_probe';
/**
 * Two tasks: `measure` waits `hold_s` seconds and returns a dict built from the Params; `check` fails when asked,
 * else returns rows × 10.
 */
const DAG_SOURCE = `
import time

from airflow.sdk import Param, dag, task


@dag(
    dag_id="${DAG_ID}",
    schedule=None,
    catchup=False,
    default_args={"retries": 0},
    params={
        "rows": Param(3, type="integer", minimum=1, maximum=1000),
        "label": Param("probe", type="string", maxLength=40),
        "fail": Param(False, type="boolean"),
        "hold_s": Param(0, type="number", minimum=0, maximum=30),
    },
)
def dp_client_probe():
    @task
    def measure(params=None):
        time.sleep(params["hold_s"])
        rows = params["rows"]
        return {"label": params["label"], "rows": rows, "squares": [i * i for i in range(rows)], "ratio": rows / 8}

    @task
    def check(summary: dict, params=None):
        if params["fail"]:
            raise ValueError("asked to fail")
        return summary["rows"] * 10

    check(measure())


dp_client_probe()
`;

const log = (line: string) => process.stderr.write(`[airflow-test] ${line}\n`);
const dir = mkdtempSync(path.join(tmpdir(), 'dp-airflow-'));
const database = `airflow_test_${randomBytes(4).toString('hex')}`;
const serverUrl = process.env.DATABASE_URL as string;
let airflowOpts: StartAirflowOptions;
let airflow: RunningAirflow;
let client: AirflowClient;

/** Polls the run until it is `success` or `failed`; returns it and the milliseconds it took. */
async function waitForRun(runId: string, timeoutMs = 90_000): Promise<{ run: DagRun; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const run = await client.getDagRun(DAG_ID, runId);
    if (run && (run.state === 'success' || run.state === 'failed')) return { run, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Error(`run ${runId} still ${run?.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<DataPilotError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DataPilotError);
  return e as DataPilotError;
}

/** `ip:port` of every TCP socket in LISTEN state held by the process trees of `roots`, from /proc. */
function listeningAddresses(roots: number[]): string[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const tree = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent)
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
  }
  const inodes = new Set<string>();
  for (const pid of tree) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodes.add(m[1]);
      }
    } catch {
      // gone
    }
  }
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [local, state, inode] = [f[1] as string, f[3], f[9] as string];
      if (state !== '0A' || !inodes.has(inode)) continue; // 0A = LISTEN
      const [hexIp, hexPort] = local.split(':') as [string, string];
      const ip =
        hexIp.length === 8
          ? (hexIp.match(/../g) as string[])
              .reverse()
              .map((b) => parseInt(b, 16))
              .join('.')
          : `[${hexIp}]`;
      out.push(`${ip}:${parseInt(hexPort, 16)}`);
    }
  }
  return out.sort();
}

beforeAll(async () => {
  if (!serverUrl)
    throw new Error('DATABASE_URL is unset: run through vitest (test/global-setup.ts starts PostgreSQL).');
  await ensureAirflowInstalled(log);
  const dagsFolder = path.join(dir, 'dags');
  mkdirSync(dagsFolder);
  writeFileSync(path.join(dagsFolder, 'probe.py'), DAG_SOURCE);
  airflowOpts = {
    databaseUrl: serverUrl,
    port: await freePort(),
    stateDir: path.join(dir, 'state'),
    logsDir: path.join(dir, 'logs'),
    dagsFolder,
    database,
    log,
  };
  airflow = await startAirflow(airflowOpts);
  log(`cold start (new database, migration) in ${airflow.startMs} ms`);
  client = createAirflowClient({ url: airflow.url, username: airflow.username, password: airflow.password });
  const t0 = Date.now();
  await waitForDag(client, DAG_ID, 120_000);
  log(`DAG parsed and visible ${Date.now() - t0} ms after ready`);
}, 300_000);

afterAll(async () => {
  await airflow?.stop();
  if (serverUrl) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${database}`);
    await admin.end();
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('startAirflow', () => {
  it('binds only 127.0.0.1:<port> (no log server, no 0.0.0.0) and keeps its secrets with mode 0600', async () => {
    expect(airflow.url).toBe(`http://127.0.0.1:${airflowOpts.port}`);
    expect(listeningAddresses(Object.values(airflow.pids))).toEqual([`127.0.0.1:${airflowOpts.port}`]);
    expect(await isPortOpen(airflowOpts.port, 1000, '127.0.0.2')).toBe(false);
    for (const f of ['datapilot-airflow.json', 'simple_auth_manager_passwords.json'])
      expect(statSync(path.join(airflowOpts.stateDir, f)).mode & 0o777).toBe(0o600);
    const kept = JSON.parse(readFileSync(path.join(airflowOpts.stateDir, 'datapilot-airflow.json'), 'utf8'));
    expect(Buffer.from(kept.jwtSecret, 'base64url').length).toBeGreaterThanOrEqual(64);
    expect(Buffer.from(kept.fernetKey, 'base64url').length).toBe(32);
    expect(airflow.migrated).toBe(true);
  });

  it('reports every component healthy and the DAG unpaused at creation', async () => {
    expect(await client.getHealth()).toEqual({
      metadatabase: 'healthy',
      scheduler: 'healthy',
      dagProcessor: 'healthy',
      triggerer: null,
    });
    expect(await client.getDag(DAG_ID)).toMatchObject({ dagId: DAG_ID, isPaused: false, hasImportErrors: false });
    expect(await client.getDag('no_such_dag')).toBeUndefined();
    await expect(client.ready(DAG_ID)).resolves.toBeUndefined();
    expect((await rejection(client.ready('no_such_dag'))).code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('Airflow client against a running Airflow', () => {
  const runId = `ok:${randomBytes(3).toString('hex')}+1`; // ':' and '+' must be URL-encoded in paths

  it('triggers a run that succeeds, and reads its XCom values and task instances', async () => {
    const t0 = Date.now();
    const run = await client.triggerDagRun(DAG_ID, { dagRunId: runId, conf: { rows: 4, label: 'héllo' } });
    expect(run).toMatchObject({ dagId: DAG_ID, dagRunId: runId, created: true, runType: 'manual' });
    expect(['queued', 'running']).toContain(run.state);
    const mem = await airflow.memory();
    const done = await waitForRun(runId);
    log(`first run: trigger to success ${Date.now() - t0} ms; memory during it ${JSON.stringify(mem)}`);
    expect(Object.keys(mem.byComponent).sort()).toEqual(['api-server', 'dag-processor', 'scheduler']);
    expect(done.run.state).toBe('success');
    expect(done.run.conf).toEqual({ rows: 4, label: 'héllo' });
    expect(done.run.durationMs).toBeGreaterThan(0);

    // By hand from DAG_SOURCE with rows=4: squares of 0..3, ratio 4/8.
    expect(await client.getXcom(DAG_ID, runId, 'measure')).toEqual({
      label: 'héllo',
      rows: 4,
      squares: [0, 1, 4, 9],
      ratio: 0.5,
    });
    expect(await client.getXcom(DAG_ID, runId, 'check')).toBe(40);
    expect(await client.getXcom(DAG_ID, runId, 'measure', 'no_such_key')).toBeUndefined();
    expect(await client.getXcom(DAG_ID, 'no_such_run', 'measure')).toBeUndefined();

    const tasks = await client.listTaskInstances(DAG_ID, runId);
    expect(tasks.map((t) => [t.taskId, t.state, t.tryNumber, t.mapIndex])).toEqual([
      ['check', 'success', 1, -1],
      ['measure', 'success', 1, -1],
    ]);
    for (const t of tasks) {
      expect(Date.parse(t.endDate as string)).toBeGreaterThanOrEqual(Date.parse(t.startDate as string));
      expect(t.durationMs).toBeGreaterThan(0);
    }
    const [check, measure] = tasks as [(typeof tasks)[0], (typeof tasks)[0]];
    expect(Date.parse(check.startDate as string)).toBeGreaterThanOrEqual(Date.parse(measure.endDate as string));
  }, 120_000);

  it('returns the existing run for a repeated run id instead of starting a second one', async () => {
    const again = await client.triggerDagRun(DAG_ID, { dagRunId: runId, conf: { rows: 9 } });
    expect(again).toMatchObject({
      dagRunId: runId,
      created: false,
      state: 'success',
      conf: { rows: 4, label: 'héllo' },
    });
    const { runs, total } = await client.listDagRuns(DAG_ID);
    expect(runs.filter((r) => r.dagRunId === runId)).toHaveLength(1);
    expect(total).toBe(1);
  });

  it('measures a warm run and reports a failing task with its try', async () => {
    const warmId = `warm-${randomBytes(3).toString('hex')}`;
    const t0 = Date.now();
    await client.triggerDagRun(DAG_ID, { dagRunId: warmId, conf: { rows: 2 } });
    const warm = await waitForRun(warmId);
    log(`warm run: trigger to success ${Date.now() - t0} ms`);
    expect(warm.run.state).toBe('success');
    expect(await client.getXcom(DAG_ID, warmId, 'check')).toBe(20);

    // Memory while a task runs: `measure` holds for 4 s.
    const idle = await airflow.memory();
    const holdId = `hold-${randomBytes(3).toString('hex')}`;
    await client.triggerDagRun(DAG_ID, { dagRunId: holdId, conf: { hold_s: 4 } });
    for (let i = 0; i < 100; i++) {
      const tasks = await client.listTaskInstances(DAG_ID, holdId);
      if (tasks.find((t) => t.taskId === 'measure')?.state === 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const busy = await airflow.memory();
    log(`memory idle: ${JSON.stringify(idle)}`);
    log(`memory with a task running: ${JSON.stringify(busy)}`);
    // The guard, the scheduler and its 4 LocalExecutor workers are 6; the running task's process makes 7.
    expect(busy.byComponent.scheduler?.processes).toBeGreaterThanOrEqual(7);
    expect((await waitForRun(holdId)).run.state).toBe('success');

    const failId = `fail-${randomBytes(3).toString('hex')}`;
    await client.triggerDagRun(DAG_ID, { dagRunId: failId, conf: { fail: true } });
    const failed = await waitForRun(failId);
    expect(failed.run.state).toBe('failed');
    const tasks = await client.listTaskInstances(DAG_ID, failId);
    expect(tasks.map((t) => [t.taskId, t.state, t.tryNumber])).toEqual([
      ['check', 'failed', 1],
      ['measure', 'success', 1],
    ]);
    expect(await client.getXcom(DAG_ID, failId, 'check')).toBeUndefined();
    // Param default rows=3 applied: squares of 0..2.
    expect(await client.getXcom(DAG_ID, failId, 'measure')).toEqual({
      label: 'probe',
      rows: 3,
      squares: [0, 1, 4],
      ratio: 0.375,
    });
    expect((await client.listDagRuns(DAG_ID)).total).toBe(4);
  }, 120_000);

  it('turns conf refused by the typed Params into BAD_USER_INPUT, and creates no run', async () => {
    const e = await rejection(client.triggerDagRun(DAG_ID, { dagRunId: 'bad-conf-1', conf: { rows: 'many' } }));
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.extensions.detail).toMatch(/param rows/i);
    const low = await rejection(client.triggerDagRun(DAG_ID, { dagRunId: 'bad-conf-2', conf: { rows: 0 } }));
    expect(low.code).toBe('BAD_USER_INPUT');
    expect(await client.getDagRun(DAG_ID, 'bad-conf-1')).toBeUndefined();
    // A run id outside Airflow's pattern (no '/') is refused too.
    expect((await rejection(client.triggerDagRun(DAG_ID, { dagRunId: 'a/b' }))).code).toBe('BAD_USER_INPUT');
  });

  it('answers NOT_FOUND or undefined for an unknown DAG or run', async () => {
    expect((await rejection(client.triggerDagRun('no_such_dag', { dagRunId: 'x' }))).code).toBe('NOT_FOUND');
    expect(await client.getDagRun(DAG_ID, 'no_such_run')).toBeUndefined();
    expect((await rejection(client.listTaskInstances(DAG_ID, 'no_such_run'))).code).toBe('NOT_FOUND');
    expect((await rejection(client.listDagRuns('no_such_dag'))).code).toBe('NOT_FOUND');
  });

  it('never shows the password, even for a wrong one', async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const bad = createAirflowClient({ url: airflow.url, username: airflow.username, password });
    const e = await rejection(bad.getDag(DAG_ID));
    expect(e.code).toBe('UPSTREAM_UNAVAILABLE');
    const shown = JSON.stringify({ message: e.message, extensions: e.extensions, stack: e.stack });
    expect(shown).not.toContain(password);
    expect(shown).not.toContain(airflow.password);
  });

  it('renews the token at 80 % of its life, and once after a refused token', async () => {
    let clock = Date.now();
    const logins: number[] = [];
    const sent: string[] = [];
    let spoil = false;
    const counting: typeof fetch = (input, init) => {
      const url = String(input);
      if (url.endsWith('/auth/token')) logins.push(clock);
      const headers = { ...(init?.headers as Record<string, string>) };
      if (spoil && headers.authorization) {
        headers.authorization = `${headers.authorization}x`; // a bad signature: Airflow answers 403
        spoil = false;
      }
      sent.push(url);
      return fetch(input, { ...init, headers });
    };
    const c = createAirflowClient({ ...airflow, fetch: counting, now: () => clock });
    await c.getDag(DAG_ID);
    await c.getDag(DAG_ID);
    expect(logins).toHaveLength(1);
    // Airflow's default token life is 24 h ([api_auth] jwt_expiration_time = 86400): renewal after 19.2 h.
    clock += 19 * 3600_000;
    await c.getDag(DAG_ID);
    expect(logins).toHaveLength(1);
    clock += 0.3 * 3600_000;
    await c.getDag(DAG_ID);
    expect(logins).toHaveLength(2);
    spoil = true;
    expect(await c.getDag(DAG_ID)).toMatchObject({ dagId: DAG_ID });
    expect(logins).toHaveLength(3);
    expect(sent.slice(-3).map((u) => new URL(u).pathname)).toEqual([
      `/api/v2/dags/${DAG_ID}`,
      '/auth/token',
      `/api/v2/dags/${DAG_ID}`,
    ]);
  });

  it('answers UPSTREAM_TIMEOUT when Airflow does not answer in time', async () => {
    const silent: Server = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const port = (silent.address() as { port: number }).port;
    try {
      const slow = createAirflowClient({
        url: `http://127.0.0.1:${port}`,
        username: 'u',
        password: 'p',
        timeoutMs: 300,
      });
      const t0 = Date.now();
      expect((await rejection(slow.getDagRun(DAG_ID, 'x'))).code).toBe('UPSTREAM_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      silent.close();
    }
  });
});

describe('Airflow stopped, then started again by the CLI', () => {
  it('answers UPSTREAM_UNAVAILABLE while stopped; a restart skips the migration, keeps the password, and dies with its parent', async () => {
    const t0 = Date.now();
    await airflow.stop();
    log(`stopped in ${Date.now() - t0} ms`);
    expect(Object.values(airflow.pids).filter(existsPid)).toEqual([]);
    expect((await rejection(client.getDagRun(DAG_ID, 'anything'))).code).toBe('UPSTREAM_UNAVAILABLE');

    // Warm restart in another Node process (infra/airflow/cli.ts), then SIGKILL that process: PR_SET_PDEATHSIG
    // must take every component down with it.
    const cli = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'infra', 'airflow', 'cli.ts'), 'start'],
      {
        env: {
          ...process.env,
          DATABASE_URL: serverUrl,
          AIRFLOW_URL: airflow.url,
          DATAPILOT_STATE_DIR: dir,
          AIRFLOW_STATE_DIR: airflowOpts.stateDir,
          AIRFLOW_DAGS_FOLDER: airflowOpts.dagsFolder,
          AIRFLOW_DATABASE: database,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const stderr: string[] = [];
    createInterface({ input: cli.stderr }).on('line', (l) => stderr.push(l));
    try {
      const pids = await new Promise<Record<string, number>>((ok, fail) => {
        createInterface({ input: cli.stdout }).on('line', (l) => {
          if (l.startsWith('PIDS ')) ok(JSON.parse(l.slice(5)) as Record<string, number>);
        });
        cli.once('exit', (code) => fail(new Error(`cli exited with ${code}:\n${stderr.join('\n')}`)));
      });
      log(stderr.filter((l) => /ready|memory/.test(l)).join(' | '));
      expect(stderr.some((l) => l.includes('airflow db migrate'))).toBe(false);
      expect(Object.keys(pids).sort()).toEqual(['api-server', 'dag-processor', 'scheduler']);
      // The same client and password work: the password file and the JWT secret were kept.
      expect((await client.listDagRuns(DAG_ID)).total).toBe(4);
      await expect(createAirflowClient({ ...airflow }).getDag(DAG_ID)).resolves.toMatchObject({ dagId: DAG_ID });

      cli.kill('SIGKILL');
      const killedAt = Date.now();
      const deadline = killedAt + 30_000;
      while (Object.values(pids).some(existsPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(Object.values(pids).filter(existsPid)).toEqual([]);
      log(`components gone ${Date.now() - killedAt} ms after their parent was killed`);
    } finally {
      cli.kill('SIGKILL');
    }
  }, 240_000);
});

/** True while a process with this pid exists and is not a zombie (whose parent has not reaped it yet). */
function existsPid(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
