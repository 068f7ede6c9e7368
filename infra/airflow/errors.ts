/**
 * Why an Airflow infrastructure step failed. Callers branch on `code`, never on the message:
 * - `MISSING_TOOL`: python3 ≥ 3.10 or its venv module is not installed (the message names the Debian package).
 * - `NOT_INSTALLED`: setup has not run (no `.local/airflow-venv`, or it was made from another lock file).
 * - `SETUP_FAILED`: `python -m venv`, `pip install` or `pip check` failed (`logFile` has the output).
 * - `DATABASE_FAILED`: the role, the database or `airflow db migrate` could not be made.
 * - `PORT_IN_USE`: something already accepts connections on the api-server's port.
 * - `START_FAILED`: a component exited before Airflow was ready (`logFile` is its log).
 * - `START_TIMEOUT`: Airflow was not healthy in time; every component has been stopped.
 */
export type AirflowInfraErrorCode =
  | 'MISSING_TOOL'
  | 'NOT_INSTALLED'
  | 'SETUP_FAILED'
  | 'DATABASE_FAILED'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'START_TIMEOUT';

/** The one error type of `infra/airflow`; see {@link AirflowInfraErrorCode}. */
export class AirflowInfraError extends Error {
  override readonly name = 'AirflowInfraError';
  constructor(
    readonly code: AirflowInfraErrorCode,
    message: string,
    /** The log file with the failing process's output, when there is one. */
    readonly logFile?: string,
  ) {
    super(message);
  }
}

/** Receives progress lines (one call a line, no trailing newline). */
export type AirflowLog = (line: string) => void;

/** The default {@link AirflowLog}: stderr with an `[airflow]` prefix. */
export const defaultAirflowLog: AirflowLog = (line) => process.stderr.write(`[airflow] ${line}\n`);
