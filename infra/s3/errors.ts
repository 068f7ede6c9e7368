/**
 * Why an object-store infrastructure step failed. Callers branch on `code`, never on the message:
 * - `MISSING_TOOL`: Java ≥ 17 or Maven is not installed (the message names the Debian package).
 * - `NOT_INSTALLED`: setup has not fetched the S3Proxy jar (run `npx tsx infra/s3/cli.ts setup`).
 * - `SETUP_FAILED`: `mvn` exited non-zero (`logFile` has its output).
 * - `BAD_CREDENTIALS_FILE`: the credentials file exists but is not `{ accessKeyId, secretAccessKey }` of the
 *   accepted characters and lengths (see `readOrCreateCredentials`).
 * - `PORT_IN_USE`: something already accepts connections on the port.
 * - `START_FAILED`: S3Proxy exited before it was ready (`logFile` has its log).
 * - `START_TIMEOUT`: it was not ready in time; it has been stopped.
 */
export type S3InfraErrorCode =
  | 'MISSING_TOOL'
  | 'NOT_INSTALLED'
  | 'SETUP_FAILED'
  | 'BAD_CREDENTIALS_FILE'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'START_TIMEOUT';

/** The one error type of `infra/s3`; see {@link S3InfraErrorCode}. */
export class S3InfraError extends Error {
  override readonly name = 'S3InfraError';
  constructor(
    readonly code: S3InfraErrorCode,
    message: string,
    /** The log file with the failing process's output, when there is one. */
    readonly logFile?: string,
  ) {
    super(message);
  }
}

/** Receives progress lines (one call a line, no trailing newline). */
export type S3Log = (line: string) => void;

/** The default {@link S3Log}: stderr with an `[s3]` prefix. */
export const defaultS3Log: S3Log = (line) => process.stderr.write(`[s3] ${line}\n`);
