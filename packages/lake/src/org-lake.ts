import { randomUUID } from 'node:crypto';
import {
  badUserInput,
  createOrgLimiter,
  notFound,
  pageOf,
  type Logger,
  type Page,
  type PageRequest,
  type TenantContext,
} from '@datapilot/common';
import type { ColumnInfo, NamedArgs, SparkConnectClient, SqlParam, SqlResult } from './spark-connect.ts';
import { SparkError, StatementAbortedError, isSessionLost } from './spark-errors.ts';
import { ORG_ID_PATTERN, goldOrgPrefix, goldTablePrefix, isTableName, s3aUri } from './lake-layout.ts';
import type { ObjectStore } from './object-store.ts';
import { createDeltaLogReader, type DeltaLogReader, type DeltaSnapshot } from './delta-log.ts';

/** A gold table of the caller's org: name, Delta version and columns, as its Delta log says. */
export type TableInfo = { name: string; version: number; columns: ColumnInfo[] };

/** Largest page of {@link OrgLake.rowsPage}. */
export const MAX_ROWS_LIMIT = 10_000;
/**
 * Largest `nth` of a {@link RowPosition}: how far into a run of rows identical in every key column a position may
 * point. A page stops at a run's 100 000th row (the rest of such a run cannot be paged to), so that no request makes
 * Spark hold more than this many rows plus a page.
 */
export const MAX_ROW_TIES = 100_000;

/**
 * A row's position in a table's row order (keyset paging, {@link OrgLake.rowsPage}): its key — the values of the
 * table's key columns (scalar columns: numbers, strings, booleans, dates, timestamps, binary) as Spark prints them
 * (`CAST(c AS STRING)`, `hex(c)` for binary; null for null) — and which of the rows with that same key it is
 * (`nth`, 1-based: rows identical in every key column are told apart by their count, not by their order).
 */
export type RowPosition = { key: (string | null)[]; nth: number };

/** A page request of {@link OrgLake.rowsPage}: Relay's arguments with decoded {@link RowPosition} cursors. */
export type RowsRequest = PageRequest<RowPosition>;

/** A page of rows by keyset: the table's columns, and the rows (JSON objects by column name) with their positions. */
export type KeysetRowsPage = { columns: ColumnInfo[]; page: Page<Record<string, unknown>>; positions: RowPosition[] };

/**
 * The lake as one organization sees it. Tables, versions and columns come from the object store and each table's
 * Delta log (no Spark); rows and queries run in that org's own Spark Connect session, which holds a temporary view
 * per table under the org's gold prefix and nothing else: other orgs' paths never appear in it, and
 * `spark.sql.runSQLOnFiles=false` stops `delta.\`s3a://...\``-style reads of any path.
 * Build one per request ({@link Lake.forTenant}): it lists the org's prefix once and reuses that listing.
 */
export interface OrgLake {
  /** The org (from the verified token). */
  readonly orgId: string;
  /** The org's tables, sorted by name. @throws DataPilotError UPSTREAM_* when the object store fails. */
  listTables(): Promise<TableInfo[]>;
  /** One table, or null when the org has no table of that name (including malformed names). */
  getTable(name: string): Promise<TableInfo | null>;
  /**
   * The number of rows of a table's current version, from its Delta log (`numRecords` of its files' statistics, no
   * Spark job; {@link DeltaLogReader.rowCount}); `COUNT(*)` in Spark only when a file lacks statistics.
   * @throws DataPilotError NOT_FOUND when the org has no such table.
   */
  rowCount(name: string): Promise<number>;
  /**
   * {@link rowCount} of several tables, for a DataLoader; the tables whose log has no counts go to Spark in one
   * statement (a `UNION ALL` of counts).
   * @returns one entry per name, in order: the count, or a NOT_FOUND error for an unknown name.
   */
  rowCounts(names: readonly string[]): Promise<(number | Error)[]>;
  /**
   * A page of a table's rows by keyset, in the table's row order: ascending by its key columns (every scalar column,
   * in table order; nulls first). One Spark statement that filters on the cursor's key (the first key column's bound
   * also lets Delta skip files by their min/max statistics) and sorts only the page's rows (a top-K of
   * `nth + size + 1` rows, `nth` ≤ {@link MAX_ROW_TIES}), so page 1 000 costs what page 1 costs. Positions are the
   * page's rows' cursors (`page.items[i].cursor` is empty: the caller encodes `positions[i]`). Relay flags as
   * @datapilot/common keyset.ts says; a backward page whose first run of equal rows continues before it costs one more
   * statement (a count of that run).
   * @throws DataPilotError NOT_FOUND (unknown table), BAD_USER_INPUT (size outside 1..{@link MAX_ROWS_LIMIT}, a cursor
   *   whose key does not fit the table's key columns, or whose values Spark cannot read as their column's type).
   */
  rowsPage(name: string, req: RowsRequest): Promise<KeysetRowsPage>;
  /**
   * Opens the org's Spark session ahead of its statements: lists the org's tables, and when the session is missing
   * or behind them, applies its settings, registers its views and reads one row of each table (at most
   * {@link PREWARM_TABLES}: Spark loads their Delta snapshots), in one of the org's statement slots. A statement
   * issued meanwhile joins the same view registration (it waits for it rather than registering again). Resolves when
   * done; never rejects (a failure only means the statement does the work itself). No-op while the org has
   * statements in flight. With `LakeDeps.prewarm`, `listTables()` starts it without waiting.
   */
  warm(): Promise<void>;
  /**
   * Runs one read-only statement (must start with SELECT or WITH) in the org's session, where the org's
   * tables are temporary views named like the tables. For SQL built by DataPilot's own compilers ONLY:
   * raw user SQL must never be passed (Spark has functions such as `reflect` that call into the JVM, and
   * DDL such as `CREATE TEMPORARY VIEW ... USING parquet OPTIONS (path ...)` still reads arbitrary paths).
   * Values go only through `namedArgs` (`:name` markers).
   * `opts.signal` cancels it: before a statement slot is taken or the statement sent, nothing runs; while it runs,
   * Spark interrupts the operation (Spark Connect `Interrupt` by operation id, see `SparkConnectClient.executeSql`).
   * The org's shared session work (view registration) is never cut short by one caller's signal.
   * @throws SparkError NOT_FOUND / BAD_USER_INPUT / UPSTREAM_TIMEOUT / UPSTREAM_UNAVAILABLE / INTERNAL.
   * @throws StatementAbortedError when `opts.signal` fired first (a lost session is then not retried).
   */
  query(sql: string, namedArgs?: NamedArgs, opts?: { signal?: AbortSignal }): Promise<SqlResult>;
}

/** The org-scoped lake; see {@link createLake}. */
export interface Lake {
  /** The lake as `tenant.orgId` sees it (the org comes only from the verified token). */
  forTenant(tenant: Pick<TenantContext, 'orgId'>): OrgLake;
  /**
   * Health check: `SELECT 1` in a session of its own (no org data), with a 5 s deadline.
   * @throws SparkError UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT when Spark does not answer.
   */
  ping(): Promise<void>;
  /** Releases every org session on the Spark Connect server (the client itself stays open). */
  close(): Promise<void>;
  /** Spark statements of `orgId` in flight in this process now (each holds a slot; see {@link createLake}). */
  statementsInFlight(orgId: string): number;
  /** Org sessions this lake holds open on the Spark Connect server now (bounded by {@link SessionLimits}). */
  sessionsOpen(): number;
  /** The result cache's entries and their estimated size in bytes (see {@link ResultCacheOptions}). */
  cachedResults(): { entries: number; bytes: number };
}

/** Spark SQL identifier quoting: backticks, inner backticks doubled. */
export const quoteIdent = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/** Types of key columns: printed by `CAST(c AS STRING)` (or hex) and read back exactly. */
const KEY_TYPE =
  /^(tinyint|smallint|int|bigint|float|double|decimal\(\d+,\d+\)|string|boolean|date|timestamp|timestamp_ntz|binary)$/;
/** Most characters of a cursor key (all its values); longer keys make the page stop before that row. */
export const MAX_ROW_KEY_CHARS = 16_384;

/** The SQL pieces of a table's keyset order: its key columns, their text and the text read back as a value. */
function keyColumns(columns: readonly ColumnInfo[]) {
  const cols = columns.filter((c) => KEY_TYPE.test(c.type));
  return {
    count: cols.length,
    /** `struct(<key columns>)`, or a constant when the table has none. */
    struct: cols.length ? `struct(${cols.map((c) => quoteIdent(c.name)).join(', ')})` : 'struct(0)',
    /** The key columns' text, `array(...)`. */
    text: `array(${cols.map((c) => (c.type === 'binary' ? `hex(${quoteIdent(c.name)})` : `CAST(${quoteIdent(c.name)} AS STRING)`)).join(', ')})`,
    /** `struct(...)` of parameters `:<prefix>0..` read back as the key columns' types. */
    bound: (prefix: string) =>
      cols.length
        ? `struct(${cols.map((c, i) => (c.type === 'binary' ? `unhex(:${prefix}${i})` : `CAST(:${prefix}${i} AS ${c.type})`)).join(', ')})`
        : 'struct(0)',
    /** ORDER BY list of the key columns, ascending (nulls first) or descending (nulls last). */
    order: (desc: boolean) =>
      cols.length ? cols.map((c) => `${quoteIdent(c.name)}${desc ? ' DESC' : ''}`).join(', ') : '1',
    /** The first key column and its type, for a bound Delta can skip files with. */
    first: cols[0],
  };
}

/** `sql` without leading whitespace and `--` / `/* *\/` comments. */
function stripLeadingComments(sql: string): string {
  let rest = sql;
  for (;;) {
    const next = rest.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)/, '');
    if (next === rest) return rest;
    rest = next;
  }
}

/** Functions whose result changes from one call to the next: statements naming one are never cached. */
const NON_DETERMINISTIC =
  /\b(rand|randn|random|uniform|randstr|uuid|shuffle|now|curdate|current_date|current_timestamp|current_time|localtimestamp|current_timezone|unix_timestamp|monotonically_increasing_id|spark_partition_id|input_file_name|input_file_block_start|input_file_block_length|reflect|java_method|try_reflect)\b/i;

/** A named argument as cache-key text: its type and value (a Date and a string of the same text differ). */
function argKey(v: SqlParam): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return ['n', v.toString()];
  if (typeof v === 'number') return ['n', Number.isSafeInteger(v) ? String(v) : v];
  if (v instanceof Date) return ['t', v.getTime()];
  if (typeof v === 'object') return ['d', v.iso];
  return [typeof v, v];
}

/** The result cache's key: organization, statement text and the named arguments, sorted by name. */
function cacheKey(orgId: string, sql: string, args: NamedArgs): string {
  const entries = Object.keys(args)
    .sort()
    .map((k) => [k, argKey(args[k])]);
  return JSON.stringify([orgId, sql, entries]);
}

/**
 * The org's tables that `sql` may read: every identifier of the text (plain or backticked, compared
 * case-insensitively as Spark resolves them) that names one of `tables`. A superset is harmless (a cached result
 * then also waits for that table's version), and a table missing from the listing cannot have been read.
 */
function referencedTables(sql: string, tables: ReadonlyMap<string, unknown>): string[] {
  const out = new Set<string>();
  for (const m of sql.matchAll(/`((?:[^`]|``)+)`|([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const name = (m[1] ?? m[2]!).replace(/``/g, '`').toLowerCase();
    if (tables.has(name)) out.add(name);
  }
  return [...out].sort();
}

/** A result the caller may change without changing the cached one (rows and columns copied one level deep). */
const copyResult = (r: SqlResult): SqlResult => ({
  columns: r.columns.map((c) => ({ ...c })),
  rows: r.rows.map((row) => row.slice()),
});

/** True when two listings hold the same tables at the same versions. */
function sameListing(a: ReadonlyMap<string, { version: number }>, b: ReadonlyMap<string, { version: number }>) {
  if (a.size !== b.size) return false;
  for (const [n, s] of a) if (b.get(n)?.version !== s.version) return false;
  return true;
}

type CachedResult = { versions: readonly (readonly [string, number])[]; result: SqlResult };

/** The bytes a result holds, estimated as its JSON text in UTF-16 (two bytes a character) plus 256 of overhead. */
function sizeOf(r: CachedResult, key: string): number {
  const text = JSON.stringify(r.result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return 2 * (text.length + key.length) + 256;
}

/** An LRU map of results bounded by their estimated size; an entry above a quarter of the bound is not kept. */
function createResultCache(maxBytes: number) {
  const entries = new Map<string, CachedResult & { bytes: number }>();
  let bytes = 0;
  const drop = (key: string) => {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    bytes -= e.bytes;
  };
  return {
    get(key: string): CachedResult | undefined {
      const e = entries.get(key);
      if (!e) return undefined;
      entries.delete(key);
      entries.set(key, e); // most recently used last
      return e;
    },
    set(key: string, value: CachedResult) {
      drop(key);
      const size = sizeOf(value, key);
      if (size > maxBytes / 4) return;
      entries.set(key, { ...value, bytes: size });
      bytes += size;
      for (const k of entries.keys()) {
        if (bytes <= maxBytes) break;
        drop(k);
      }
    },
    delete: drop,
    clear() {
      entries.clear();
      bytes = 0;
    },
    stats: () => ({ entries: entries.size, bytes }),
  };
}

type OrgState = {
  sessionId: string;
  /** When the org last used its session (deps.now()). */
  lastUsed: number;
  /** table → Delta version of the view registered in `sessionId`. */
  views: Map<string, number>;
  /** True once the session's own settings (runSQLOnFiles) are applied. */
  configured: boolean;
  /** Serializes (re-)registration of views. */
  lock: Promise<unknown>;
};

/** Options of {@link createLake}. */
export type LakeDeps = {
  /** The Spark Connect client (owned by the caller: `lake.close()` does not close it). */
  spark: SparkConnectClient;
  /** The lake's bucket (owned by the caller). Spark must reach the same bucket through s3a. */
  store: ObjectStore;
  /** Optional: session resets and registrations are logged at info/debug. */
  logger?: Logger;
  /** Per-organization limit on Spark statements (default {@link DEFAULT_STATEMENT_LIMITS}). */
  statementLimits?: StatementLimits;
  /** The result cache of `query()` (default {@link DEFAULT_RESULT_CACHE}). */
  resultCache?: ResultCacheOptions;
  /** How many org sessions stay open on Spark, and for how long unused (default {@link DEFAULT_SESSION_LIMITS}). */
  sessions?: SessionLimits;
  /** The clock (milliseconds), for tests; default `Date.now`. */
  now?: () => number;
  /**
   * Warm an org's session in the background when `listTables()` finds it missing or behind the store (default false):
   * the session's settings, its views and a one-row read of each table (at most {@link PREWARM_TABLES}), so that
   * Spark has loaded each table's Delta snapshot before the org's first statement. Only when the org has no
   * statement in flight; failures are logged at debug and otherwise ignored.
   */
  prewarm?: boolean;
};

/** Most tables of an org read by a background warm-up (see {@link LakeDeps.prewarm}). */
export const PREWARM_TABLES = 8;

/**
 * The result cache of {@link OrgLake.query}: results keyed by (organization, statement text, named arguments, the
 * Delta version of every table of the org the statement names), least recently used first out once their estimated
 * size passes `maxBytes`. An entry is served only while each of its tables is still at its version: a table's version
 * was confirmed (by a listing of the org, or a probe of its log) at most `freshMs` ago, else it is probed (one
 * listing of the table's `_delta_log` from that version on: ~6-10 ms on S3Proxy). So a new Delta version is seen by
 * the cache at most `freshMs` after its commit (0: always probed, never stale). Statements naming non-deterministic
 * functions (rand, uuid, current_timestamp, ...) are not cached.
 */
export type ResultCacheOptions = {
  /** Bound on the cached results' estimated size (UTF-16 JSON text), in bytes; 0 turns the cache off. */
  maxBytes: number;
  /** How long a confirmed Delta version is trusted without a probe, in milliseconds. */
  freshMs: number;
};

/** Default {@link ResultCacheOptions}: 64 MiB, versions trusted for 1 000 ms. */
export const DEFAULT_RESULT_CACHE: ResultCacheOptions = { maxBytes: 64 << 20, freshMs: 1_000 };

/**
 * Bounds on the org sessions a lake keeps on the Spark Connect server: at most `max` (the least recently used idle
 * one is released — Spark Connect `ReleaseSession` — when another org needs one), and each released once unused for
 * `idleMs`. A released org starts a new session on its next statement (its views registered again).
 */
export type SessionLimits = { max: number; idleMs: number };

/** Default {@link SessionLimits}: 32 sessions, released after 10 minutes unused. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = { max: 32, idleMs: 10 * 60_000 };

/**
 * How many Spark statements one organization may have in flight in this process (LAKE_MAX_CONCURRENT_STATEMENTS_PER_ORG)
 * and how long one more waits for a slot before RATE_LIMITED (LAKE_STATEMENT_WAIT_MS).
 */
export type StatementLimits = {
  /** Statements in flight per organization (integer ≥ 1). */
  perOrg: number;
  /** Longest wait for a slot, in milliseconds (0: refused at once). */
  waitMs: number;
};

/** Default {@link StatementLimits}: 4 statements per organization, a wait of at most 5 000 ms. */
export const DEFAULT_STATEMENT_LIMITS: StatementLimits = { perOrg: 4, waitMs: 5_000 };

/** Most statements of one organization waiting for a slot at once, per allowed statement; more are refused at once. */
const WAITING_PER_SLOT = 8;

/**
 * Creates the org-scoped lake over a Spark Connect client and the lake's object store.
 *
 * Listing: the org's tables are the prefixes `gold/org=<orgId>/<table>/` (valid table names only) whose
 * `_delta_log/` holds a commit; version and columns are read from the Delta log ({@link createDeltaLogReader}).
 *
 * Each org gets one Spark Connect session per process (session id: a random UUID). Before each Spark operation the
 * session's temporary views are brought in line with the listing: `CREATE OR REPLACE TEMPORARY VIEW <table> USING
 * delta OPTIONS (path 's3a://<bucket>/gold/org=<orgId>/<table>')` for a new table or a new Delta version (so a changed
 * schema shows), `DROP VIEW` for a table gone from the store. Only validated org ids (UUID), bucket names and table
 * names (`^[a-z][a-z0-9_]{0,62}$`) reach the SQL text; values never do.
 *
 * `USING delta OPTIONS (path ...)` views are used because they keep resolving after the session sets
 * `spark.sql.runSQLOnFiles=false` (checked against Spark 4.1.4 + Delta 4.4.0), whereas
 * `AS SELECT * FROM delta.\`path\`` views are re-analyzed per query and then fail.
 *
 * If Spark loses the session (server restart: `INVALID_HANDLE.SESSION_CHANGED`; idle expiry or release:
 * `SESSION_CLOSED`), or a registered view is missing (`TABLE_OR_VIEW_NOT_FOUND` naming it), the org starts a
 * fresh session id, registers its views again and retries the operation once.
 *
 * Each Spark operation of an org (`rows`, `rowCount(s)`, `query`: one statement, with the view registrations it
 * needs and its one retry) holds one of the org's `statementLimits.perOrg` slots (packages/common org-limits.ts)
 * until it succeeds, fails or times out. At the limit, a statement waits for a slot in arrival order, at most
 * `statementLimits.waitMs`, then fails with RATE_LIMITED and `retryAfterSeconds`; so do statements beyond
 * 8 × `perOrg` waiting. Waiting rather than refusing at once because one GraphQL request may issue several
 * statements at once (aliased `rows`, a page of tables with row counts) that a short queue serves in turn, while
 * a flood still cannot hold more than `perOrg` of Spark's workers. The slots count in this process only: every
 * replica (and the chat and lake services, each with its own lake) admits `perOrg` of its own.
 */
export function createLake(deps: LakeDeps): Lake {
  const { spark, store, logger } = deps;
  const limits = deps.statementLimits ?? DEFAULT_STATEMENT_LIMITS;
  const statements = createOrgLimiter({
    what: 'Spark statements running',
    limit: limits.perOrg,
    maxWaitMs: limits.waitMs,
    maxWaiting: WAITING_PER_SLOT * limits.perOrg,
    typicalHoldMs: 1_000,
  });
  const deltaLog: DeltaLogReader = createDeltaLogReader(store);
  const now = deps.now ?? Date.now;
  const cacheOpts = deps.resultCache ?? DEFAULT_RESULT_CACHE;
  const sessionLimits = deps.sessions ?? DEFAULT_SESSION_LIMITS;
  /** Org → its session state, least recently used first (a use re-inserts it). */
  const orgs = new Map<string, OrgState>();
  const pingSession = randomUUID();
  const results = createResultCache(cacheOpts.maxBytes);
  /** `<orgId>/<table>` → the table's Delta version and when it was confirmed (deps.now()). */
  const confirmed = new Map<string, { version: number; at: number }>();
  const confirmKey = (orgId: string, table: string) => `${orgId}/${table}`;
  /** Org → its latest listing and when it started: `query()` reuses one younger than `freshMs`. */
  const listings = new Map<string, { at: number; tables: Map<string, DeltaSnapshot> }>();

  /** Releases the session of `orgId` on the server (its views go with it); the org starts afresh when it returns. */
  const release = (orgId: string, state: OrgState, why: string) => {
    if (orgs.get(orgId) !== state) return;
    orgs.delete(orgId);
    logger?.info('lake session released', { orgId, reason: why });
    void spark.releaseSession(state.sessionId).catch(() => undefined);
  };

  const stateOf = (orgId: string): OrgState => {
    let s = orgs.get(orgId);
    if (s) {
      orgs.delete(orgId); // re-inserted below: the map runs from least to most recently used
    } else {
      s = { sessionId: randomUUID(), lastUsed: 0, views: new Map(), configured: false, lock: Promise.resolve() };
      // At the bound, the least recently used org without a statement in flight gives its session back.
      if (orgs.size >= sessionLimits.max) {
        for (const [id, other] of orgs)
          if (statements.inFlight(id) === 0) {
            release(id, other, 'evicted');
            break;
          }
      }
    }
    s.lastUsed = now();
    orgs.set(orgId, s);
    return s;
  };

  const sweep = setInterval(
    () => {
      const cutoff = now() - sessionLimits.idleMs;
      for (const [id, s] of [...orgs]) if (s.lastUsed < cutoff && statements.inFlight(id) === 0) release(id, s, 'idle');
    },
    Math.max(1_000, Math.min(60_000, sessionLimits.idleMs / 4)),
  );
  sweep.unref();

  /** The org's Delta tables on the store: name → snapshot, sorted by name. */
  const listOrgTables = async (orgId: string): Promise<Map<string, DeltaSnapshot>> => {
    const started = now();
    const prefix = goldOrgPrefix(orgId);
    const names = (await store.listPrefixes(prefix))
      .map((p) => p.slice(prefix.length, -1))
      .filter(isTableName)
      .sort();
    const snapshots = await Promise.all(names.map((n) => deltaLog.snapshot(goldTablePrefix(orgId, n))));
    const out = new Map<string, DeltaSnapshot>();
    names.forEach((n, i) => {
      if (snapshots[i]) {
        out.set(n, snapshots[i]);
        confirmed.set(confirmKey(orgId, n), { version: snapshots[i].version, at: started });
      } else confirmed.delete(confirmKey(orgId, n));
    });
    listings.delete(orgId); // most recently listed last: the map stays bounded by the sessions' bound
    listings.set(orgId, { at: started, tables: out });
    while (listings.size > sessionLimits.max) listings.delete(listings.keys().next().value!);
    return out;
  };

  /** Brings the session's views in line with `tables` (serialized per org). */
  const sync = (
    orgId: string,
    state: OrgState,
    tables: Map<string, DeltaSnapshot>,
    only?: readonly string[],
  ): Promise<void> => {
    const run = state.lock.then(async () => {
      const sid = state.sessionId;
      // The views the statement needs (all the org's tables without `only`), registered at once.
      const wanted = only ? only.filter((n) => tables.has(n)) : [...tables.keys()];
      await Promise.all(
        wanted.map(async (name) => {
          const { version } = tables.get(name)!;
          if (state.views.get(name) === version) return;
          const location = s3aUri(store.bucket, goldTablePrefix(orgId, name));
          await spark.executeSql(
            sid,
            `CREATE OR REPLACE TEMPORARY VIEW ${quoteIdent(name)} USING delta OPTIONS (path '${location}')`,
          );
          state.views.set(name, version);
          logger?.debug('lake view registered', { orgId, table: name, version });
        }),
      );
      for (const name of [...state.views.keys()]) {
        if (tables.has(name)) continue;
        // A concurrent request may have listed the store later than this one: drop only what is gone now.
        if ((await deltaLog.version(goldTablePrefix(orgId, name))) !== undefined) continue;
        await spark.executeSql(sid, `DROP VIEW IF EXISTS ${quoteIdent(name)}`);
        state.views.delete(name);
      }
      if (!state.configured) {
        // After the views: they are data source views, which resolve without runSQLOnFiles.
        await spark.executeSql(sid, 'SET spark.sql.runSQLOnFiles=false');
        state.configured = true;
      }
    });
    state.lock = run.catch(() => undefined);
    return run;
  };

  const resetSession = (orgId: string, state: OrgState, failedSessionId: string, why: string) => {
    if (state.sessionId !== failedSessionId) return; // another request reset it already
    if (orgs.get(orgId) !== state) return; // released meanwhile: the next use starts a new state
    state.sessionId = randomUUID();
    state.views.clear();
    state.configured = false;
    logger?.info('lake session reset', { orgId, reason: why });
    void spark.releaseSession(failedSessionId).catch(() => undefined);
  };

  /** True when `e` says that a view we registered is gone: Spark forgot the session's state. */
  const lostView = (e: unknown, state: OrgState, sessionViews: ReadonlySet<string>) => {
    if (!(e instanceof SparkError) || e.errorClass !== 'TABLE_OR_VIEW_NOT_FOUND') return false;
    const rel = (e.messageParameters.relationName ?? '').replace(/`/g, '').toLowerCase();
    return sessionViews.has(rel) && state.views.has(rel);
  };

  /**
   * True when every `[table, version]` of `versions` is still the org's table's version: confirmed within
   * `freshMs`, else probed now (in parallel), which confirms it again.
   */
  const stillAt = async (orgId: string, versions: readonly (readonly [string, number])[]): Promise<boolean> => {
    const t = now();
    const checks = await Promise.all(
      versions.map(async ([table, version]) => {
        const c = confirmed.get(confirmKey(orgId, table));
        if (c && c.version === version && t - c.at <= cacheOpts.freshMs) return true;
        if (c && c.version !== version) return false;
        if (await deltaLog.changedSince(goldTablePrefix(orgId, table), version)) return false;
        confirmed.set(confirmKey(orgId, table), { version, at: t });
        return true;
      }),
    );
    return checks.every(Boolean);
  };

  /**
   * Runs `fn` in the org's session with its views in line with `onStore` (call it inside one of the org's statement
   * slots); on a lost session, once more in a new one.
   */
  const runInSession = async <T>(
    orgId: string,
    onStore: Map<string, DeltaSnapshot>,
    fn: (sessionId: string) => Promise<T>,
    only?: readonly string[],
  ): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      // Looked up per attempt: an idle or evicted session is gone from `orgs`, and this starts a new one.
      const state = stateOf(orgId);
      const sid = state.sessionId;
      let views: ReadonlySet<string> = new Set();
      try {
        await sync(orgId, state, onStore, only);
        views = new Set(state.views.keys());
        return await fn(state.sessionId);
      } catch (e) {
        const lost = isSessionLost(e) || lostView(e, state, views);
        if (attempt > 0 || !lost) throw e;
        resetSession(orgId, state, sid, (e as SparkError).errorClass ?? 'unknown');
      } finally {
        state.lastUsed = now();
      }
    }
  };

  /** Orgs being warmed now → the warm-up (one at a time per org). */
  const warming = new Map<string, Promise<void>>();
  /**
   * Warms the org's session when it is missing or behind `listed`: its settings and views, then a one-row read of
   * each table (at most {@link PREWARM_TABLES}) so that Spark loads the Delta snapshots. Resolves when done; never
   * rejects (failures are logged at debug). Skipped when the org has statements in flight.
   */
  const prewarm = (orgId: string, listed: Map<string, DeltaSnapshot>): Promise<void> => {
    const pending = warming.get(orgId);
    if (pending) return pending;
    const state = orgs.get(orgId);
    const behind = !state || [...listed].some(([n, snap]) => state.views.get(n) !== snap.version);
    if (!behind || statements.inFlight(orgId) > 0) return Promise.resolve();
    const started = now();
    const names = [...listed.keys()].slice(0, PREWARM_TABLES);
    const run = statements
      .run(orgId, () =>
        runInSession(
          orgId,
          listed,
          async (sid) => {
            await Promise.all(names.map((n) => spark.executeSql(sid, `SELECT * FROM ${quoteIdent(n)} LIMIT 1`)));
          },
          names,
        ),
      )
      .then(
        () => logger?.debug('lake session warmed', { orgId, ms: now() - started }),
        (e: unknown) => logger?.debug('lake warm-up failed', { orgId, error: (e as Error).message }),
      )
      .finally(() => warming.delete(orgId));
    warming.set(orgId, run);
    return run;
  };

  return {
    forTenant(tenant) {
      const orgId = tenant.orgId;
      if (!ORG_ID_PATTERN.test(orgId)) throw new Error('forTenant: the org id is not a UUID');
      let listing: Promise<Map<string, DeltaSnapshot>> | undefined;
      const tables = () => (listing ??= listOrgTables(orgId));

      /**
       * Runs `fn` in the org's session with its views in place, in one of the org's statement slots; on a lost
       * session, once more in a new one (same slot).
       */
      const inSession = async <T>(fn: (sessionId: string) => Promise<T>, only?: readonly string[]): Promise<T> => {
        const onStore = await tables();
        return statements.run(orgId, () => inSessionWith(onStore, fn, only));
      };
      const inSessionWith = <T>(
        onStore: Map<string, DeltaSnapshot>,
        fn: (sessionId: string) => Promise<T>,
        only?: readonly string[],
      ) => runInSession(orgId, onStore, fn, only);

      const info = async (name: string): Promise<TableInfo | null> => {
        if (!isTableName(name)) return null;
        const snap = (await tables()).get(name);
        return snap ? { name, version: snap.version, columns: snap.columns } : null;
      };

      const rowCounts = async (names: readonly string[]): Promise<(number | Error)[]> => {
        const onStore = await tables();
        const counts = new Map<string, number>();
        const inLog = await Promise.all(
          [...new Set(names.filter((n) => isTableName(n) && onStore.has(n)))].map(
            async (n) =>
              [
                n,
                (await deltaLog.rowCount(goldTablePrefix(orgId, n), onStore.get(n)!.version))?.numRecords ?? null,
              ] as const,
          ),
        );
        for (const [n, c] of inLog) if (c !== null) counts.set(n, c);
        // Tables without statistics in their log (or gone since the listing) are counted by Spark.
        const known = inLog.filter(([, c]) => c === null).map(([n]) => n);
        if (known.length) {
          const sql = known.map((n, i) => `SELECT ${i} AS i, COUNT(*) AS n FROM ${quoteIdent(n)}`).join(' UNION ALL ');
          const res = await inSession((sid) => spark.executeSql(sid, sql), known);
          for (const [i, n] of res.rows as [number, number | string][]) counts.set(known[i]!, Number(n));
        }
        return names.map((n) => counts.get(n) ?? notFound(`Table ${JSON.stringify(n)}`));
      };

      const requireTable = async (name: string): Promise<TableInfo> => {
        const t = await info(name);
        if (!t) throw notFound(`Table ${JSON.stringify(name)}`);
        return t;
      };

      return {
        orgId,
        async listTables() {
          const listed = await tables();
          if (deps.prewarm) void prewarm(orgId, listed);
          return [...listed].map(([name, s]) => ({ name, version: s.version, columns: s.columns }));
        },
        getTable: info,
        async warm() {
          await prewarm(orgId, await tables());
        },
        async rowCount(name) {
          const [n] = await rowCounts([name]);
          if (n instanceof Error) throw n;
          return n!;
        },
        rowCounts,
        async rowsPage(name, req) {
          if (!Number.isInteger(req.size) || req.size < 1 || req.size > MAX_ROWS_LIMIT)
            throw badUserInput(`The page size must be an integer in [1, ${MAX_ROWS_LIMIT}].`, 'first');
          const table = await requireTable(name);
          const k = keyColumns(table.columns);
          for (const [arg, p] of [
            ['after', req.after],
            ['before', req.before],
          ] as const)
            if (p && (p.key.length !== k.count || !Number.isInteger(p.nth) || p.nth < 1 || p.nth > MAX_ROW_TIES))
              throw badUserInput(`${arg} is not a cursor of this table's rows.`, arg);
          const args: Record<string, string | null> = {};
          const bind = (prefix: string, p: RowPosition) => p.key.forEach((v, i) => (args[`${prefix}${i}`] = v));
          if (req.after) bind('a', req.after);
          if (req.before) bind('b', req.before);
          const cols = table.columns.map((c) => quoteIdent(c.name)).join(', ');
          const select = `SELECT ${cols}, ${k.text} AS __dp_key`;
          const from = ` FROM ${quoteIdent(name)}`;
          // A bound on the first key column alone: Delta skips the files whose statistics lie wholly before it.
          const skip = (p: RowPosition | null, prefix: string, op: string) =>
            p && k.first && p.key[0] !== null && k.first.type !== 'binary'
              ? ` AND ${quoteIdent(k.first.name)} ${op} CAST(:${prefix}0 AS ${k.first.type})`
              : '';
          const where = (conds: string[]) => (conds.length ? ` WHERE ${conds.join(' AND ')}` : ' WHERE true');
          /**
           * The first `limit` rows in `order` of those `filter` keeps, with their key text (and `extra` columns): the
           * top-K runs on the bare columns in a subquery, so that Spark computes the key text of those rows only
           * (with the projection below the sort, TakeOrderedAndProject casts every column of every row of the
           * table to text: 2.5-3× the time on 3 million rows). The outer ORDER BY keeps the order (a subquery's is
           * not guaranteed) and costs a sort of `limit` rows.
           */
          const topK = (filter: string, order: string, limit: number, extra = '') =>
            `${select}${extra} FROM (SELECT ${cols}${from}${filter} ORDER BY ${order} LIMIT ${limit}) ORDER BY ${order}`;
          const run = (sql: string) =>
            inSession((sid) => spark.executeSql(sid, sql, args), [name]).then((r) => r.rows as unknown[][]);
          const keyOf = (row: unknown[]) => row[row.length - 1] as (string | null)[];
          const same = (a: readonly (string | null)[], b: readonly (string | null)[]) =>
            a.length === b.length && a.every((v, i) => v === b[i]);
          const toNode = (row: unknown[]) => Object.fromEntries(table.columns.map((c, i) => [c.name, row[i]]));
          /** Positions of rows in list order, the first run starting at `firstNth`. */
          const number = (rows: unknown[][], firstNth: number): RowPosition[] => {
            const out: RowPosition[] = [];
            rows.forEach((r, i) => {
              const key = keyOf(r);
              const prev = out[i - 1];
              out.push({ key, nth: prev && same(prev.key, key) ? prev.nth + 1 : i === 0 ? firstNth : 1 });
            });
            return out;
          };
          const fits = (p: RowPosition) =>
            p.nth <= MAX_ROW_TIES && p.key.reduce((n, v) => n + (v?.length ?? 0), 0) <= MAX_ROW_KEY_CHARS;
          const finish = (rows: unknown[][], positions: RowPosition[], more: boolean, nearFound: boolean) => {
            // Rows whose position cannot be a cursor (a huge key, a run too long) end the page there.
            const cut = positions.findIndex((p) => !fits(p));
            if (cut >= 0) {
              rows = rows.slice(0, cut);
              positions = positions.slice(0, cut);
              more = false;
            }
            const items = rows.map((r) => ({ node: toNode(r), cursor: '' }));
            return { columns: table.columns, page: pageOf(items, req.backward, more, nearFound), positions };
          };

          if (!req.backward) {
            const conds: string[] = [];
            if (req.after) conds.push(`${k.struct} >= ${k.bound('a')}`);
            if (req.before) conds.push(`${k.struct} <= ${k.bound('b')}`);
            const limit = (req.after?.nth ?? 0) + req.size + 1;
            const sql = topK(`${where(conds)}${skip(req.after, 'a', '>=')}`, k.order(false), limit);
            let rows = await run(sql);
            let firstNth = 1;
            let nearFound = false;
            if (req.after) {
              const a = req.after;
              let eq = 0;
              while (eq < rows.length && same(keyOf(rows[eq]!), a.key)) eq++;
              nearFound = eq >= a.nth;
              rows = rows.slice(Math.min(eq, a.nth));
              firstNth = a.nth + 1;
            }
            let positions = number(
              rows,
              rows.length && req.after && same(keyOf(rows[0]!), req.after.key) ? firstNth : 1,
            );
            if (req.before) {
              const b = req.before;
              const stop = positions.findIndex((p) => same(p.key, b.key) && p.nth >= b.nth);
              if (stop >= 0) {
                rows = rows.slice(0, stop);
                positions = positions.slice(0, stop);
              }
            }
            return finish(rows.slice(0, req.size), positions.slice(0, req.size), rows.length > req.size, nearFound);
          }

          // Backward: the rows before `before` (those of its own key first: its nth - 1 predecessors), the last
          // `size` of them in list order.
          const b = req.before;
          const lower: string[] = [];
          if (req.after) lower.push(`${k.struct} >= ${k.bound('a')}`);
          const limit = req.size + 1 + (req.after?.nth ?? 0);
          const earlier = topK(
            `${where([...(b ? [`${k.struct} < ${k.bound('b')}`] : []), ...lower])}${skip(req.after, 'a', '>=')}`,
            k.order(true),
            limit,
            ', 1 AS __dp_part',
          );
          const sql = b
            ? `(${select}, 0 AS __dp_part${from} WHERE ${k.struct} <=> ${k.bound('b')} LIMIT ${b.nth}) UNION ALL (${earlier})`
            : earlier;
          const all = await run(sql);
          const strip = (r: unknown[]) => r.slice(0, -1);
          const own = all.filter((r) => r[r.length - 1] === 0).map(strip);
          const before = all
            .filter((r) => r[r.length - 1] === 1)
            .map(strip)
            .reverse();
          const nearFound = b !== null && own.length >= b.nth;
          // The first run of `before` may continue before the rows read. Its first row read is beyond the page; only
          // when the run reaches into the page does its nth start matter, and then it comes from a count.
          let firstNth = 1;
          const firstKey = before.length === limit ? keyOf(before[0]!) : null;
          let run0 = 0;
          while (firstKey && run0 < before.length && same(keyOf(before[run0]!), firstKey)) run0++;
          if (firstKey && run0 >= 2) {
            firstKey.forEach((v, i) => (args[`c${i}`] = v));
            const [[total]] = (await run(
              `SELECT count(*) FROM ${quoteIdent(name)} WHERE ${k.struct} <=> ${k.bound('c')}`,
            )) as [[number]];
            firstNth = Number(total) - run0 + 1;
          }
          let rows = [...before, ...(b ? own.slice(0, b.nth - 1) : [])];
          let positions = [...number(before, firstNth), ...number(b ? own.slice(0, b.nth - 1) : [], 1)];
          if (req.after) {
            const a = req.after;
            const keep = positions.map((p) => !(same(p.key, a.key) && p.nth <= a.nth));
            rows = rows.filter((_, i) => keep[i]);
            positions = positions.filter((_, i) => keep[i]);
          }
          const more = rows.length > req.size;
          return finish(rows.slice(-req.size), positions.slice(-req.size), more, nearFound);
        },
        async query(sql, namedArgs = {}, opts = {}) {
          if (!/^(select|with)\b/i.test(stripLeadingComments(sql)))
            throw badUserInput('Only SELECT statements can be run on the lake.');
          const { signal } = opts;
          const aborted = () => new StatementAbortedError(signal?.reason, null, false);
          if (signal?.aborted) throw aborted();
          const key = cacheOpts.maxBytes > 0 && !NON_DETERMINISTIC.test(sql) ? cacheKey(orgId, sql, namedArgs) : null;
          if (key !== null) {
            const hit = results.get(key);
            if (hit && (await stillAt(orgId, hit.versions))) return copyResult(hit.result);
            if (hit) results.delete(key);
          }
          // A listing younger than freshMs saves ~30-50 ms of store requests (the cache's staleness bound).
          const recent = listings.get(orgId);
          const onStore = recent && now() - recent.at <= cacheOpts.freshMs ? recent.tables : await tables();
          const versionsOf = (listed: Map<string, DeltaSnapshot>) =>
            referencedTables(sql, listed).map((n) => [n, listed.get(n)!.version] as const);
          // Only the views the statement names are registered (the org's other tables wait for a statement of theirs).
          const run = (listed: Map<string, DeltaSnapshot>) =>
            statements.run(orgId, () =>
              inSessionWith(
                listed,
                (sid) => {
                  // The slot may have come after the caller gave up: then nothing is sent.
                  if (signal?.aborted) throw aborted();
                  return spark.executeSql(sid, sql, namedArgs, { signal });
                },
                referencedTables(sql, listed),
              ),
            );
          let result: SqlResult;
          let versions = versionsOf(onStore);
          try {
            result = await run(onStore);
          } catch (e) {
            // With a reused listing, a table or column new since may be what failed: list afresh and retry once.
            if (onStore === (await tables()) || !(e instanceof SparkError) || sameListing(onStore, await tables()))
              throw e;
            versions = versionsOf(await tables());
            result = await run(await tables());
          }
          if (key !== null) results.set(key, { versions, result: copyResult(result) });
          return result;
        },
      };
    },
    async ping() {
      await spark.executeSql(pingSession, 'SELECT 1', {}, { timeoutMs: 5_000 });
    },
    statementsInFlight: (orgId) => statements.inFlight(orgId),
    sessionsOpen: () => orgs.size,
    cachedResults: () => results.stats(),
    async close() {
      clearInterval(sweep);
      results.clear();
      const ids = [pingSession, ...[...orgs.values()].map((s) => s.sessionId)];
      orgs.clear();
      await Promise.all(ids.map((id) => spark.releaseSession(id).catch(() => undefined)));
    },
  };
}
