import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { tableFromIPC } from 'apache-arrow';
import { badUserInput, traceStatement } from '@datapilot/common';
import { appendRows, arrowTypeName, sparkTypeName, type ColumnInfo, type SparkDataType } from './arrow-values.ts';
import { SparkError, StatementAbortedError, toSparkError } from './spark-errors.ts';

export type { ColumnInfo } from './arrow-values.ts';

/** A DATE parameter (JS `Date` values are sent as TIMESTAMP). Build with {@link sqlDate}. */
export type SqlDate = Readonly<{ kind: 'date'; iso: string }>;

/**
 * A value bound to a named parameter marker (`:name`). Sent as a typed `Expression.Literal`, never as SQL text:
 * string → STRING; boolean → BOOLEAN; safe integer number or bigint → BIGINT; other finite number → DOUBLE;
 * null/undefined → NULL; `Date` → TIMESTAMP (microseconds, UTC); {@link sqlDate} → DATE.
 */
export type SqlParam = string | number | bigint | boolean | null | undefined | Date | SqlDate;

/** Named parameters: names match `^[A-Za-z_][A-Za-z0-9_]*$` and appear in the SQL as `:name`. */
export type NamedArgs = Readonly<Record<string, SqlParam>>;

/** A query result: the columns (Spark types) and the rows as arrays of JSON-safe values in column order. */
export type SqlResult = { columns: ColumnInfo[]; rows: unknown[][] };

/** `sqlDate('2024-02-29')`: a DATE parameter. @throws BAD_USER_INPUT when not a valid `YYYY-MM-DD` date. */
export function sqlDate(iso: string): SqlDate {
  const d = new Date(`${iso}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso)
    throw badUserInput(`Not a date (YYYY-MM-DD): ${JSON.stringify(iso)}`);
  return Object.freeze({ kind: 'date', iso });
}

/** The parts of a Spark Connect connection string. */
export type SparkRemote = { host: string; port: number; token?: string; userId?: string; useSsl: boolean };

/**
 * Parses a Spark Connect connection string `sc://host[:port][/;key=value;...]` (Spark's client connection
 * string spec; port defaults to 15002). Recognized keys: `token` (sent as `Authorization: Bearer <token>`),
 * `user_id`, `use_ssl` (`true`/`false`); others are ignored.
 * @throws Error naming what is wrong (this is configuration, checked at start).
 */
export function parseSparkRemote(remote: string): SparkRemote {
  const m = /^sc:\/\/(\[[^\]]+\]|[^:/;]+)(?::(\d+))?\/?(.*)$/.exec(remote.trim());
  if (!m) throw new Error(`SPARK_REMOTE must look like sc://host:port[/;token=...], got ${JSON.stringify(remote)}`);
  const port = m[2] ? Number(m[2]) : 15002;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Bad Spark Connect port in ${remote}`);
  const params: Record<string, string> = {};
  for (const part of (m[3] ?? '').split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`Bad Spark Connect parameter ${JSON.stringify(part)}`);
    params[part.slice(0, eq).toLowerCase()] = decodeURIComponent(part.slice(eq + 1));
  }
  return {
    host: m[1]!.replace(/^\[|\]$/g, ''),
    port,
    token: params.token || undefined,
    userId: params.user_id || undefined,
    useSsl: params.use_ssl === 'true',
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** A minimal Spark Connect client; see {@link createSparkConnectClient}. */
export interface SparkConnectClient {
  /**
   * Runs one SQL statement in session `sessionId` (a UUID; the server creates the session on first use)
   * and collects the whole result. Values go only through `namedArgs` (bound by Spark as literals).
   * Statements (DDL, SET) run eagerly and return their (often empty) result. With tracing on, each statement sent
   * (the session's first SETs included) is a span `spark <OPERATION>` of the active request, with its SQL text and
   * never `namedArgs` (`traceStatement`, @datapilot/common).
   * @throws SparkError (a DataPilotError): NOT_FOUND (unknown table/view), BAD_USER_INPUT (parse/analysis/
   *   data errors, bad parameter), UPSTREAM_TIMEOUT (over `timeoutMs`; the operation is interrupted),
   *   UPSTREAM_UNAVAILABLE (server down, or session reset: see `isSessionLost`), INTERNAL (anything else).
   * @throws StatementAbortedError when `opts.signal` fires first: before the statement is sent (nothing runs), or
   *   while it runs — then the operation is stopped on the server with Spark Connect's `Interrupt` RPC by its
   *   operation id (cancelling the gRPC stream alone leaves it running there), and the promise settles once Spark
   *   confirms (`interrupted` true) or after {@link ABORT_GRACE_MS} at most. A signal that fires before the promise
   *   settles always rejects it (even when the statement completed meanwhile); after, it changes nothing.
   */
  executeSql(
    sessionId: string,
    sql: string,
    namedArgs?: NamedArgs,
    opts?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<SqlResult>;
  /** Closes the session on the server (its temporary views and conf go); unknown sessions are ignored. */
  releaseSession(sessionId: string): Promise<void>;
  /** Closes the gRPC channel. Calls after this fail with UPSTREAM_UNAVAILABLE. */
  close(): void;
}

/** Options of {@link createSparkConnectClient}. */
export type SparkConnectOptions = {
  /** Connection string, e.g. `sc://127.0.0.1:15002` or `sc://host:15002/;token=...` (see {@link parseSparkRemote}). */
  remote: string;
  /** `UserContext.user_id` of every request (default: `user_id` of `remote`, else `datapilot`). */
  userId?: string;
  /** Deadline of each statement, in milliseconds (default 30000). */
  timeoutMs?: number;
  /**
   * SQL conf set once in every new session before its first statement (`SET key=value`). Defaults to
   * `spark.sql.legacy.parameterSubstitution.constantsOnly=true`, without which named parameters are lost
   * on this server (see the note in `executeSql`'s implementation); entries here are added to it.
   */
  sessionConf?: Readonly<Record<string, string>>;
};

/**
 * On Spark 4.1 with Delta's SQL extension, named parameters bound by the SQL parser are dropped
 * (Delta 4.4's `DeltaSqlParser` does not forward `parsePlanWithParameters`), both for a root `SQL`
 * relation and for PySpark's `sql_command`. The analyzer-side binding still works when the session has
 * `spark.sql.legacy.parameterSubstitution.constantsOnly=true` and the statement reaches
 * `SparkSession.sql(text, args)`, which the server does for a `WithRelations` root whose root is the
 * `SQL` relation. So parameterized statements are sent as `WithRelations` with one empty reference
 * (the server requires at least one; it is registered as the temporary view `__dp_noop` for the
 * duration of the statement). Parameter markers are then allowed only where a constant literal is.
 */
const DEFAULT_SESSION_CONF = {
  'spark.sql.legacy.parameterSubstitution.constantsOnly': 'true',
  // `ORDER BY … LIMIT n OFFSET m` plans a top-K that keeps n + m rows in the driver's heap; a page far into a table
  // (a row cursor is a position) then took the server down with OutOfMemoryError. Above this many rows Spark sorts
  // instead (spilling to disk) and takes the page from the sorted rows.
  'spark.sql.execution.topKSortFallbackThreshold': '10000',
} as const;
/**
 * After an abort, how long a statement waits for Spark to confirm the interrupt (its stream ending with
 * OPERATION_CANCELED) before the stream is cancelled and the promise rejected anyway, in milliseconds. The Interrupt
 * RPC is repeated every {@link INTERRUPT_RETRY_MS} meanwhile, until Spark lists the operation as interrupted (one
 * sent before the server registered the operation finds nothing to interrupt).
 */
export const ABORT_GRACE_MS = 2_000;
const INTERRUPT_RETRY_MS = 100;
const NOOP_REFERENCE = { subquery_alias: { alias: '__dp_noop', input: { range: { start: 0, end: 0, step: 1 } } } };
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONF_KEY = /^[A-Za-z0-9_.]+$/;
const CONF_VALUE = /^[A-Za-z0-9_.:/-]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const PROTO_PATH = fileURLToPath(new URL('./proto/spark_connect.proto', import.meta.url));

type Literal = Record<string, unknown>;

/** Encodes one parameter value as an `Expression.Literal` (proto-loader object form). */
export function toLiteral(name: string, v: SqlParam): Literal {
  if (v === null || v === undefined) return { null: { null: {} } };
  if (typeof v === 'string') return { string: v };
  if (typeof v === 'boolean') return { boolean: v };
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) throw badUserInput(`Parameter ${name} is out of the 64-bit range.`, name);
    return { long: v.toString() };
  }
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { long: String(v) } : { double: v };
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw badUserInput(`Parameter ${name} is an invalid date.`, name);
    return { timestamp: (BigInt(ms) * 1000n).toString() };
  }
  if (typeof v === 'object' && v.kind === 'date') {
    const days = Date.parse(`${v.iso}T00:00:00Z`) / 86_400_000;
    if (!Number.isInteger(days)) throw badUserInput(`Parameter ${name} is an invalid date.`, name);
    return { date: days };
  }
  throw badUserInput(`Parameter ${name} has an unsupported type.`, name);
}

type Unary = (
  req: object,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null) => void,
) => void;
type ConnectStub = grpc.Client & {
  ExecutePlan(req: object, md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientReadableStream<ExecuteResponse>;
  Interrupt: InterruptCall;
  ReleaseSession: Unary;
};

type InterruptCall = (
  req: object,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: { interrupted_ids?: string[] }) => void,
) => void;

type ExecuteResponse = {
  server_side_session_id?: string;
  schema?: SparkDataType;
  arrow_batch?: { data: Buffer };
};

/**
 * Creates a Spark Connect client over gRPC (`spark.connect.SparkConnectService`, trimmed protocol in
 * `proto/spark_connect.proto`): plaintext unless `use_ssl=true`; a token is sent as bearer metadata and
 * refused over plaintext to a non-loopback host. The client remembers each session's server-side id
 * and sends it back (`client_observed_server_side_session_id`), so a restarted server answers
 * `INVALID_HANDLE.SESSION_CHANGED` instead of silently handing out an empty session.
 * @throws Error when `remote` is malformed (configuration).
 */
export function createSparkConnectClient(opts: SparkConnectOptions): SparkConnectClient {
  const remote = parseSparkRemote(opts.remote);
  if (remote.token && !remote.useSsl && !LOOPBACK.test(remote.host))
    throw new Error('A Spark Connect token is only sent over TLS (use_ssl=true) or to a loopback host.');
  const userId = opts.userId ?? remote.userId ?? 'datapilot';
  const defaultTimeoutMs = opts.timeoutMs ?? 30_000;
  const sessionConf = { ...DEFAULT_SESSION_CONF, ...opts.sessionConf };
  for (const [k, v] of Object.entries(sessionConf))
    if (!CONF_KEY.test(k) || !CONF_VALUE.test(v)) throw new Error(`Bad Spark session conf ${k}=${v}`);

  const def = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: String, enums: String, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    spark: { connect: { SparkConnectService: grpc.ServiceClientConstructor } };
  };
  const creds = remote.useSsl ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const host = remote.host.includes(':') ? `[${remote.host}]` : remote.host;
  const stub = new pkg.spark.connect.SparkConnectService(`${host}:${remote.port}`, creds, {
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
  }) as unknown as ConnectStub;

  /** Per session id: the server-side session id last seen, and the one-time SET of `sessionConf`. */
  const sessions = new Map<string, { serverSideId?: string; ready?: Promise<void> }>();
  let closed = false;

  const metadata = () => {
    const md = new grpc.Metadata();
    if (remote.token) md.set('authorization', `Bearer ${remote.token}`);
    return md;
  };

  /** Interrupts one operation; resolves with the ids Spark reports interrupted ([] when none, or on any error). */
  const interrupt = (sessionId: string, operationId: string) =>
    new Promise<string[]>((resolve) => {
      stub.Interrupt(
        {
          session_id: sessionId,
          user_context: { user_id: userId },
          client_type: 'datapilot-lake',
          interrupt_type: 'INTERRUPT_TYPE_OPERATION_ID',
          operation_id: operationId,
        },
        metadata(),
        { deadline: Date.now() + 5_000 },
        (err, res) => resolve(err ? [] : (res?.interrupted_ids ?? [])),
      );
    });

  function run(sessionId: string, root: unknown, timeoutMs: number, signal?: AbortSignal): Promise<SqlResult> {
    if (closed) return Promise.reject(new SparkError('UPSTREAM_UNAVAILABLE', 'The lake client is closed.'));
    if (signal?.aborted) return Promise.reject(new StatementAbortedError(signal.reason, null, false));
    const state = sessions.get(sessionId) ?? {};
    sessions.set(sessionId, state);
    const operationId = randomUUID();
    const request = {
      session_id: sessionId,
      user_context: { user_id: userId },
      client_type: 'datapilot-lake',
      operation_id: operationId,
      plan: { root },
      ...(state.serverSideId ? { client_observed_server_side_session_id: state.serverSideId } : {}),
    };
    return new Promise<SqlResult>((resolve, reject) => {
      let columns: ColumnInfo[] | undefined;
      const rows: unknown[][] = [];
      let settled = false;
      /** The caller's signal fired, and whether Spark confirmed the interrupt since. */
      let aborted = false;
      let confirmed = false;
      let graceTimer: NodeJS.Timeout | undefined;
      const deadline = Date.now() + timeoutMs;
      const call = stub.ExecutePlan(request, metadata(), { deadline });
      const settle = () => {
        settled = true;
        clearTimeout(graceTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      const rejectAborted = () => {
        settle();
        reject(new StatementAbortedError(signal?.reason, operationId, confirmed));
      };
      function onAbort() {
        if (settled) return;
        aborted = true;
        void (async () => {
          const until = Date.now() + ABORT_GRACE_MS;
          while (!settled && Date.now() < until) {
            if ((await interrupt(sessionId, operationId)).includes(operationId)) {
              confirmed = true;
              return;
            }
            await new Promise((r) => setTimeout(r, INTERRUPT_RETRY_MS));
          }
        })();
        graceTimer = setTimeout(() => {
          if (settled) return;
          call.cancel();
          rejectAborted();
        }, ABORT_GRACE_MS);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      call.on('data', (r: ExecuteResponse) => {
        try {
          if (r.server_side_session_id) state.serverSideId = r.server_side_session_id;
          if (r.schema?.kind === 'struct' && !columns) {
            columns = (r.schema.struct?.fields ?? []).map((f) => ({
              name: f.name,
              type: sparkTypeName(f.data_type),
              nullable: Boolean(f.nullable),
            }));
          }
          if (r.arrow_batch?.data?.length) {
            const table = tableFromIPC(r.arrow_batch.data);
            columns ??= table.schema.fields.map((f) => ({
              name: f.name,
              type: arrowTypeName(f.type),
              nullable: f.nullable,
            }));
            appendRows(table, rows);
          }
        } catch (e) {
          settle();
          call.cancel();
          reject(new SparkError('INTERNAL', `The lake result could not be decoded (${(e as Error).message}).`));
        }
      });
      call.on('error', (e: grpc.ServiceError) => {
        if (aborted) {
          if (settled) return;
          // Spark ends an interrupted operation's stream with OPERATION_CANCELED: its confirmation.
          if (toSparkError(e, { timeoutMs }).errorClass === 'OPERATION_CANCELED') confirmed = true;
          rejectAborted();
          return;
        }
        // The deadline travels to the server (grpc-timeout), which may reset the stream when it passes before our own
        // timer fires: grpc-js then reports CANCELLED, not DEADLINE_EXCEEDED (seen on Spark 4.1.4). Past the
        // deadline both are our timeout; we cancel a call ourselves only after settling it.
        const timedOut =
          e.code === grpc.status.DEADLINE_EXCEEDED || (e.code === grpc.status.CANCELLED && Date.now() >= deadline);
        // Past the deadline the server still runs the operation: stop it there too.
        if (timedOut) void interrupt(sessionId, operationId);
        if (settled) return;
        settle();
        const err = toSparkError(timedOut ? { ...e, code: grpc.status.DEADLINE_EXCEEDED } : e, { timeoutMs });
        if ((err.errorClass ?? '').startsWith('INVALID_HANDLE.SESSION_')) sessions.delete(sessionId);
        reject(err);
      });
      call.on('end', () => {
        if (settled) return;
        // Finished before the interrupt took effect: the caller gave up on it all the same.
        if (aborted) return rejectAborted();
        settle();
        resolve({ columns: columns ?? [], rows });
      });
    });
  }

  async function prepare(sessionId: string, timeoutMs: number): Promise<void> {
    const state = sessions.get(sessionId) ?? {};
    sessions.set(sessionId, state);
    // The settings go at once (one round trip instead of one per setting; the first creates the session).
    state.ready ??= Promise.all(
      Object.entries(sessionConf).map(([k, v]) => {
        const query = `SET ${k}=${v}`;
        return traceStatement('spark', query, () => run(sessionId, { sql: { query } }, timeoutMs));
      }),
    )
      .then(() => undefined)
      .catch((e) => {
        state.ready = undefined;
        throw e;
      });
    return state.ready;
  }

  return {
    async executeSql(sessionId, sql, namedArgs = {}, callOpts = {}) {
      const timeoutMs = callOpts.timeoutMs ?? defaultTimeoutMs;
      const signal = callOpts.signal;
      const entries = Object.entries(namedArgs);
      const named: Record<string, unknown> = {};
      for (const [name, value] of entries) {
        if (!PARAM_NAME.test(name)) throw badUserInput(`Bad parameter name ${JSON.stringify(name)}.`);
        named[name] = { literal: toLiteral(name, value) };
      }
      await prepare(sessionId, timeoutMs);
      const sqlRel = { sql: { query: sql, named_arguments: named } };
      const root = entries.length ? { with_relations: { root: sqlRel, references: [NOOP_REFERENCE] } } : sqlRel;
      // A span per statement when tracing is on (tracing.ts): the SQL text, never the bound values.
      return traceStatement('spark', sql, () => run(sessionId, root, timeoutMs, signal));
    },
    releaseSession(sessionId) {
      sessions.delete(sessionId);
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        stub.ReleaseSession(
          { session_id: sessionId, user_context: { user_id: userId }, client_type: 'datapilot-lake' },
          metadata(),
          { deadline: Date.now() + 5_000 },
          () => resolve(),
        );
      });
    },
    close() {
      closed = true;
      sessions.clear();
      stub.close();
    },
  };
}
