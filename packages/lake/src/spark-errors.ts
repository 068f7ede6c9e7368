import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { DataPilotError, type ErrorCode } from '@datapilot/common';

/**
 * A failure of a Spark Connect call, as a {@link DataPilotError} with a safe message (first line of
 * Spark's message, paths removed, no plan or JVM stack). `errorClass`, `sqlState` and
 * `messageParameters` are Spark's structured error (read from the `google.rpc.ErrorInfo` detail
 * of the gRPC status); they are plain properties, never sent to GraphQL clients.
 * Branch on `code` and `errorClass`, never on the message.
 */
export class SparkError extends DataPilotError {
  readonly errorClass: string | undefined;
  readonly sqlState: string | undefined;
  readonly messageParameters: Readonly<Record<string, string>>;
  constructor(
    code: ErrorCode,
    message: string,
    spark: { errorClass?: string; sqlState?: string; messageParameters?: Record<string, string> } = {},
  ) {
    super(code, message);
    this.errorClass = spark.errorClass;
    this.sqlState = spark.sqlState;
    this.messageParameters = Object.freeze({ ...spark.messageParameters });
  }
}

/**
 * A statement stopped because its caller's `AbortSignal` fired (`executeSql` / `OrgLake.query` with `{ signal }`):
 * the DOM/Node convention (`name` 'AbortError', `cause` the signal's reason), NOT a DataPilotError — a cancellation
 * is the caller's own decision, which it reports in its own terms (the chat stores errorCode CANCELLED).
 * `interrupted` tells whether Spark confirmed that it stopped the operation: it listed `operationId` among the
 * `interrupted_ids` of its Interrupt response, or ended the statement's stream with `OPERATION_CANCELED`; false when
 * the signal fired before the statement was sent or the server never confirmed within the grace period.
 */
export class StatementAbortedError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ABORT_ERR';
  readonly operationId: string | null;
  readonly interrupted: boolean;
  constructor(reason: unknown, operationId: string | null, interrupted: boolean) {
    super('The lake statement was cancelled.', { cause: reason });
    this.operationId = operationId;
    this.interrupted = interrupted;
  }
}

/** Spark's structured error, as the server puts it in `grpc-status-details-bin`. */
export type SparkErrorInfo = {
  /** Exception class name, e.g. `org.apache.spark.sql.AnalysisException`. */
  reason?: string;
  errorClass?: string;
  sqlState?: string;
  messageParameters: Record<string, string>;
};

// --- a minimal protobuf reader for google.rpc.Status { code=1, message=2, details=3 (Any) },
// --- google.protobuf.Any { type_url=1, value=2 } and google.rpc.ErrorInfo { reason=1, domain=2, metadata=3 (map) }.

type Field = { no: number; wire: number; int?: number; bytes?: Buffer };

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos];
    mul *= 128;
    if (mul > 2 ** 63) throw new Error('varint too long');
  }
}

function readFields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      out.push({ no, wire, int: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new Error('truncated field');
      out.push({ no, wire, bytes: buf.subarray(p2, p2 + len) });
      pos = p2 + len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

/**
 * Decodes the `grpc-status-details-bin` trailer of a Spark Connect error into Spark's ErrorInfo.
 * Returns undefined when absent or not decodable (the caller then falls back to the gRPC code).
 */
export function decodeSparkErrorInfo(details: Buffer | undefined): SparkErrorInfo | undefined {
  if (!details) return undefined;
  try {
    for (const any of readFields(details).filter((f) => f.no === 3 && f.bytes)) {
      const anyFields = readFields(any.bytes!);
      const typeUrl = anyFields.find((f) => f.no === 1)?.bytes?.toString('utf8');
      const value = anyFields.find((f) => f.no === 2)?.bytes;
      if (typeUrl !== 'type.googleapis.com/google.rpc.ErrorInfo' || !value) continue;
      const info = readFields(value);
      const metadata: Record<string, string> = {};
      for (const entry of info.filter((f) => f.no === 3 && f.bytes)) {
        const kv = readFields(entry.bytes!);
        const k = kv.find((f) => f.no === 1)?.bytes?.toString('utf8');
        const v = kv.find((f) => f.no === 2)?.bytes?.toString('utf8') ?? '';
        if (k !== undefined) metadata[k] = v;
      }
      let messageParameters: Record<string, string> = {};
      try {
        const parsed = JSON.parse(metadata.messageParameters ?? '{}');
        if (parsed && typeof parsed === 'object') messageParameters = parsed as Record<string, string>;
      } catch {
        // keep empty
      }
      return {
        reason: info.find((f) => f.no === 1)?.bytes?.toString('utf8'),
        errorClass: metadata.errorClass || undefined,
        sqlState: metadata.sqlState || undefined,
        messageParameters,
      };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Makes Spark's message safe to show: its first non-empty line, without the `SQLSTATE` tail,
 * with anything that looks like a file system path or URI replaced by `<path>`, at most 300 chars.
 */
export function safeSparkMessage(raw: string | undefined): string {
  const line =
    (raw ?? '')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? '';
  const cleaned = line
    .replace(/\s*SQLSTATE:.*$/, '')
    .replace(/`[^`]*\/[^`]*`/g, '`<path>`')
    .replace(/(?:\b[a-z][a-z0-9+.-]*:)?\/[^\s`'",;)]+/gi, '<path>')
    .trim();
  return cleaned.length > 300 ? `${cleaned.slice(0, 297)}...` : cleaned;
}

/** True for the errors that mean "this session id is no longer the server's session": start a new one. */
export function isSessionLost(e: unknown): boolean {
  return e instanceof SparkError && (e.errorClass ?? '').startsWith('INVALID_HANDLE.SESSION_');
}

/**
 * Maps a failed Spark Connect call to a {@link SparkError}:
 * - `UNAVAILABLE` (server down, connection refused) → UPSTREAM_UNAVAILABLE;
 * - `DEADLINE_EXCEEDED` (our deadline passed) → UPSTREAM_TIMEOUT;
 * - `TABLE_OR_VIEW_NOT_FOUND` → NOT_FOUND;
 * - other analysis, parse and data errors (SQLSTATE classes 42, 22, 21, 23, 07: syntax, unresolved
 *   column, type mismatch, unbound parameter, division by zero, ...) → BAD_USER_INPUT;
 * - `INVALID_HANDLE.SESSION_*` (session closed, or server restarted) → UPSTREAM_UNAVAILABLE, with
 *   `errorClass` kept so that the caller can start a new session ({@link isSessionLost});
 * - anything else → INTERNAL with a generic message.
 */
export function toSparkError(err: ServiceError, opts: { timeoutMs: number }): SparkError {
  if (err.code === GrpcStatus.DEADLINE_EXCEEDED)
    return new SparkError('UPSTREAM_TIMEOUT', `The lake query did not finish within ${opts.timeoutMs} ms.`);
  if (err.code === GrpcStatus.UNAVAILABLE)
    return new SparkError('UPSTREAM_UNAVAILABLE', 'The lake engine (Spark Connect) is unavailable; try again.');
  const raw = err.metadata?.get('grpc-status-details-bin')?.[0];
  const info = decodeSparkErrorInfo(Buffer.isBuffer(raw) ? raw : undefined);
  const errorClass = info?.errorClass ?? /^\s*\[([A-Z0-9_.]+)\]/.exec(err.details ?? '')?.[1];
  const sqlState = info?.sqlState ?? /SQLSTATE: ([0-9A-Z]{5})/.exec(err.details ?? '')?.[1];
  const spark = { errorClass, sqlState, messageParameters: info?.messageParameters ?? {} };
  if (errorClass?.startsWith('INVALID_HANDLE.SESSION_'))
    return new SparkError('UPSTREAM_UNAVAILABLE', 'The lake session was reset; try again.', spark);
  if (errorClass === 'TABLE_OR_VIEW_NOT_FOUND') {
    const name = spark.messageParameters.relationName;
    const shown = name && !name.includes('/') ? name : 'The table';
    return new SparkError('NOT_FOUND', `${shown} was not found.`, spark);
  }
  const sqlClass = sqlState?.slice(0, 2);
  if (
    (sqlClass && ['42', '22', '21', '23', '07'].includes(sqlClass)) ||
    errorClass?.startsWith('PARSE_') ||
    err.code === GrpcStatus.INVALID_ARGUMENT
  ) {
    return new SparkError('BAD_USER_INPUT', safeSparkMessage(err.details) || 'The lake query is invalid.', spark);
  }
  return new SparkError('INTERNAL', 'The lake query failed.', spark);
}
