/**
 * Installs Apache Airflow for DataPilot, idempotently: a venv `.local/airflow-venv` (separate from Spark's
 * `.local/venv`) with exactly the pins of the lock `orchestration/requirements-airflow.txt` (Airflow 3.3.2 with
 * the PostgreSQL provider, plus what the DAG tasks import: pyspark-client, neo4j, boto3).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { probe, runLogged, tailOf } from '../spark/proc.ts';
import { AirflowInfraError, defaultAirflowLog, type AirflowLog } from './errors.ts';
import { airflowPaths, REPO_ROOT } from './paths.ts';

/** The stamp file in the venv: the SHA-256 of the lock it was installed from. */
const LOCK_STAMP = '.datapilot-lock.sha256';
/** Pythons Airflow 3.3 supports, best first: the lock was made on 3.11. */
const PYTHONS = ['python3.11', 'python3.12', 'python3.13', 'python3.10', 'python3'];

/** What {@link ensureAirflowInstalled} found or made. */
export interface AirflowInstallation {
  /** The venv's Python. */
  python: string;
  /** The venv's `airflow` CLI. */
  airflowBin: string;
  /** The Airflow version pinned in the lock, e.g. `3.3.2`. */
  airflowVersion: string;
  /** Which steps ran (true) or were already done (false). */
  ran: { venv: boolean; pip: boolean };
  /** Milliseconds the whole call took. */
  ms: number;
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** The Airflow version pinned in the lock (`apache-airflow==3.3.2` → `3.3.2`). */
export async function lockedAirflowVersion(lockFile = airflowPaths().lockFile): Promise<string> {
  const m = /^apache-airflow==([\w.]+)\s*$/m.exec(await readFile(lockFile, 'utf8'));
  if (!m?.[1]) throw new AirflowInfraError('SETUP_FAILED', `${lockFile} does not pin apache-airflow with ==.`);
  return m[1];
}

/** The first Python on PATH that Airflow 3.3 supports (3.10 to 3.14). @throws AirflowInfraError MISSING_TOOL. */
async function findSystemPython(): Promise<string> {
  for (const bin of PYTHONS) {
    const r = await probe(bin, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    const [major, minor] = r.stdout.trim().split('.').map(Number);
    if (r.code === 0 && major === 3 && minor !== undefined && minor >= 10 && minor <= 14) return bin;
  }
  throw new AirflowInfraError(
    'MISSING_TOOL',
    'python3 (3.10 to 3.14) was not found on PATH; Airflow needs it. Install it with ' +
      '`apt-get install python3 python3-venv` (Debian 12 ships 3.11, the version the lock was made on).',
  );
}

/**
 * Makes sure Airflow can run here, installing what is missing. A second call with the same lock only reads
 * a stamp (a few milliseconds):
 * 1. the venv `.local/airflow-venv`, made with the first supported python3 on PATH (3.11 preferred);
 * 2. `pip install -r orchestration/requirements-airflow.txt` into it, then `pip check`; the SHA-256 of the lock
 *    is stamped into the venv afterwards, so a changed lock reinstalls (pip keeps what already matches).
 * Long steps print a start line, a line every 20 s and a done line through `log`; their output goes to
 * `.local/logs/airflow-setup.log`. Measured here: about 1 minute on a fresh venv with a warm pip cache
 * (147 packages, about 740 MB on disk).
 * @throws AirflowInfraError MISSING_TOOL (python3 or python3-venv, naming the Debian package), SETUP_FAILED
 *   (a step exited non-zero; the message has the log's last lines).
 */
export async function ensureAirflowInstalled(
  log: AirflowLog = defaultAirflowLog,
  opts: { repoRoot?: string } = {},
): Promise<AirflowInstallation> {
  const started = Date.now();
  const p = airflowPaths(opts.repoRoot ?? REPO_ROOT);
  const airflowVersion = await lockedAirflowVersion(p.lockFile);
  const lockHash = await sha256(p.lockFile);
  const stampFile = path.join(p.venvDir, LOCK_STAMP);
  const stamp = existsSync(stampFile) ? (await readFile(stampFile, 'utf8')).trim() : undefined;
  const ran = { venv: false, pip: false };
  if (stamp === lockHash && existsSync(p.airflowBin)) {
    log(`Airflow ${airflowVersion} already installed in ${p.venvDir}`);
    return { python: p.python, airflowBin: p.airflowBin, airflowVersion, ran, ms: Date.now() - started };
  }

  await mkdir(p.logsDir, { recursive: true });
  const logFile = path.join(p.logsDir, 'airflow-setup.log');
  const error = (message: string, file: string) => new AirflowInfraError('SETUP_FAILED', message, file);
  const step = (cmd: string, args: string[], label: string) => runLogged(cmd, args, { logFile, log, label, error });

  if ((await probe(p.python, ['-c', 'import sys'])).code !== 0) {
    const sys = await findSystemPython();
    await rm(p.venvDir, { recursive: true, force: true });
    log(`creating the Airflow venv ${p.venvDir} with ${sys}`);
    try {
      await step(sys, ['-m', 'venv', p.venvDir], 'python -m venv');
    } catch (e) {
      if (!/ensurepip|No module named venv/.test(tailOf(logFile, 40))) throw e;
      throw new AirflowInfraError(
        'MISSING_TOOL',
        `${sys} has no working venv module. Install it with \`apt-get install python3-venv\` ` +
          `(the python3.X-venv matching ${sys}) and run \`npm run setup\` again.`,
        logFile,
      );
    }
    ran.venv = true;
  }

  log(`installing Airflow ${airflowVersion} from ${path.relative(p.repoRoot, p.lockFile)} (~740 MB)`);
  await step(
    p.python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', p.lockFile],
    'pip install (Airflow)',
  );
  await step(p.python, ['-m', 'pip', 'check', '--disable-pip-version-check'], 'pip check (Airflow)');
  await writeFile(stampFile, lockHash + '\n');
  ran.pip = true;
  const ms = Date.now() - started;
  log(`Airflow ${airflowVersion} installed in ${p.venvDir} (${(ms / 1000).toFixed(1)} s)`);
  return { python: p.python, airflowBin: p.airflowBin, airflowVersion, ran, ms };
}
