/**
 * Why a Spark infrastructure step failed. Callers branch on `code`, never on the message:
 * - `MISSING_TOOL`: python3 ≥ 3.10, Java ≥ 17 or Maven is not installed (the message names the Debian package).
 * - `NOT_INSTALLED`: setup has not run (no venv / pyspark / Delta jars / hadoop-aws).
 * - `VERSION_MISMATCH`: the resolved hadoop-aws is not the version of the Hadoop inside pyspark (fix the pom).
 * - `SETUP_FAILED`: `python -m venv`, `pip install` or `mvn` exited non-zero (`logFile` has the output).
 * - `PORT_IN_USE`: something already accepts connections on the Spark Connect port.
 * - `START_FAILED`: the Spark Connect server exited before it was ready (`logFile` has its log).
 * - `START_TIMEOUT`: it was not ready in time; it has been stopped.
 * - `BAD_INPUT`: the pipeline rejected its arguments (org, table, lake root); exit code 2.
 * - `PIPELINE_FAILED`: the pipeline exited non-zero, timed out or printed a malformed result.
 */
export type SparkInfraErrorCode =
  | 'MISSING_TOOL'
  | 'NOT_INSTALLED'
  | 'VERSION_MISMATCH'
  | 'SETUP_FAILED'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'START_TIMEOUT'
  | 'BAD_INPUT'
  | 'PIPELINE_FAILED';

/** The one error type of `infra/spark`; see {@link SparkInfraErrorCode}. */
export class SparkInfraError extends Error {
  override readonly name = 'SparkInfraError';
  constructor(
    readonly code: SparkInfraErrorCode,
    message: string,
    /** The log file with the failing process's output, when there is one. */
    readonly logFile?: string,
  ) {
    super(message);
  }
}

/** Receives progress lines (one call a line, no trailing newline). */
export type SparkLog = (line: string) => void;

/** The default {@link SparkLog}: stderr with a `[spark]` prefix. */
export const defaultSparkLog: SparkLog = (line) => process.stderr.write(`[spark] ${line}\n`);
