/**
 * Where DataPilot's Airflow pieces live on disk. Everything machine-local sits under `<repo>/.local/`
 * (git-ignored): the Airflow venv (`.local/airflow-venv`, separate from Spark's `.local/venv`) and the logs
 * (`.local/logs`). Nothing here starts a process or writes a file.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is `<repo>/infra/airflow/paths.ts`). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Absolute paths of the Airflow pieces for one checkout. */
export interface AirflowPaths {
  repoRoot: string;
  /** `.local/airflow-venv`: the venv made from the lock file. */
  venvDir: string;
  /** `.local/airflow-venv/bin/python`. */
  python: string;
  /** `.local/airflow-venv/bin/airflow`: the CLI that runs every component. */
  airflowBin: string;
  /** `orchestration/requirements-airflow.txt`: the lock (every package pinned with `==`). */
  lockFile: string;
  /** `.local/logs`: setup and component logs (`airflow-<component>.log`). */
  logsDir: string;
  /** `orchestration/dags`: the default DAGs folder. */
  dagsFolder: string;
}

/** The {@link AirflowPaths} of the checkout at `repoRoot` (default: this one). */
export function airflowPaths(repoRoot: string = REPO_ROOT): AirflowPaths {
  const venvDir = path.join(repoRoot, '.local', 'airflow-venv');
  return {
    repoRoot,
    venvDir,
    python: path.join(venvDir, 'bin', 'python'),
    airflowBin: path.join(venvDir, 'bin', 'airflow'),
    lockFile: path.join(repoRoot, 'orchestration', 'requirements-airflow.txt'),
    logsDir: path.join(repoRoot, '.local', 'logs'),
    dagsFolder: path.join(repoRoot, 'orchestration', 'dags'),
  };
}
