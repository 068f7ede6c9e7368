import { randomUUID } from 'node:crypto';
import { badUserInput, createOrgLimiter, notFound, type Logger, type TenantContext } from '@datapilot/common';
import type { ColumnInfo, NamedArgs, SparkConnectClient, SqlResult } from './spark-connect.ts';
import { SparkError, StatementAbortedError, isSessionLost } from './spark-errors.ts';
import { ORG_ID_PATTERN, goldOrgPrefix, goldTablePrefix, isTableName, s3aUri } from './lake-layout.ts';
import type { ObjectStore } from './object-store.ts';
import { createDeltaLogReader, type DeltaLogReader, type DeltaSnapshot } from './delta-log.ts';

/** A gold table of the caller's org: name, Delta version and columns, as its Delta log says. */
export type TableInfo = { name: string; version: number; columns: ColumnInfo[] };

/** A page of rows of one table, each row a JSON object keyed by column name. */
export type RowsPage = { columns: ColumnInfo[]; rows: Record<string, unknown>[] };

/** Largest `limit` of {@link OrgLake.rows}. */
export const MAX_ROWS_LIMIT = 10_000;
/** Largest `offset` of {@link OrgLake.rows} (Spark's OFFSET is a 32-bit integer). */
export const MAX_ROWS_OFFSET = 2_000_000_000;

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
  /** `COUNT(*)` of a table. @throws DataPilotError NOT_FOUND when the org has no such table. */
  rowCount(name: string): Promise<number>;
  /**
   * `COUNT(*)` of several tables in one Spark statement (a `UNION ALL` of counts), for a DataLoader.
   * @returns one entry per name, in order: the count, or a NOT_FOUND error for an unknown name.
   */
  rowCounts(names: readonly string[]): Promise<(number | Error)[]>;
  /**
   * A page of a table's rows in a stable order (`ORDER BY` every orderable column, ascending, nulls first):
   * rows `offset` .. `offset + limit - 1`. `limit` in [0, {@link MAX_ROWS_LIMIT}], `offset` in
   * [0, {@link MAX_ROWS_OFFSET}]; both go into the SQL text as validated integer literals (Spark takes no
   * parameter markers in LIMIT/OFFSET). Rows identical in every orderable column may swap between calls.
   * @throws DataPilotError NOT_FOUND (unknown table), BAD_USER_INPUT (limit/offset out of range).
   */
  rows(name: string, page: { limit: number; offset: number }): Promise<RowsPage>;
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
}

/** Spark SQL identifier quoting: backticks, inner backticks doubled. */
export const quoteIdent = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/** Types Spark cannot sort by (ORDER BY on them fails): maps and variants, also nested. */
const UNORDERABLE = /map<|variant/;

/** `sql` without leading whitespace and `--` / `/* *\/` comments. */
function stripLeadingComments(sql: string): string {
  let rest = sql;
  for (;;) {
    const next = rest.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)/, '');
    if (next === rest) return rest;
    rest = next;
  }
}

type OrgState = {
  sessionId: string;
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
};

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
  const orgs = new Map<string, OrgState>();
  const pingSession = randomUUID();

  const stateOf = (orgId: string): OrgState => {
    let s = orgs.get(orgId);
    if (!s) {
      s = { sessionId: randomUUID(), views: new Map(), configured: false, lock: Promise.resolve() };
      orgs.set(orgId, s);
    }
    return s;
  };

  /** The org's Delta tables on the store: name → snapshot, sorted by name. */
  const listOrgTables = async (orgId: string): Promise<Map<string, DeltaSnapshot>> => {
    const prefix = goldOrgPrefix(orgId);
    const names = (await store.listPrefixes(prefix))
      .map((p) => p.slice(prefix.length, -1))
      .filter(isTableName)
      .sort();
    const snapshots = await Promise.all(names.map((n) => deltaLog.snapshot(goldTablePrefix(orgId, n))));
    const out = new Map<string, DeltaSnapshot>();
    names.forEach((n, i) => {
      if (snapshots[i]) out.set(n, snapshots[i]);
    });
    return out;
  };

  /** Brings the session's views in line with `tables` (serialized per org). */
  const sync = (orgId: string, state: OrgState, tables: Map<string, DeltaSnapshot>): Promise<void> => {
    const run = state.lock.then(async () => {
      const sid = state.sessionId;
      for (const [name, { version }] of tables) {
        if (state.views.get(name) === version) continue;
        const location = s3aUri(store.bucket, goldTablePrefix(orgId, name));
        await spark.executeSql(
          sid,
          `CREATE OR REPLACE TEMPORARY VIEW ${quoteIdent(name)} USING delta OPTIONS (path '${location}')`,
        );
        state.views.set(name, version);
        logger?.debug('lake view registered', { orgId, table: name, version });
      }
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

  return {
    forTenant(tenant) {
      const orgId = tenant.orgId;
      if (!ORG_ID_PATTERN.test(orgId)) throw new Error('forTenant: the org id is not a UUID');
      const state = stateOf(orgId);
      let listing: Promise<Map<string, DeltaSnapshot>> | undefined;
      const tables = () => (listing ??= listOrgTables(orgId));

      /**
       * Runs `fn` in the org's session with its views in place, in one of the org's statement slots; on a lost
       * session, once more in a new one (same slot).
       */
      const inSession = async <T>(fn: (sessionId: string) => Promise<T>): Promise<T> => {
        const onStore = await tables();
        return statements.run(orgId, () => inSessionWith(onStore, fn));
      };
      const inSessionWith = async <T>(
        onStore: Map<string, DeltaSnapshot>,
        fn: (sessionId: string) => Promise<T>,
      ): Promise<T> => {
        for (let attempt = 0; ; attempt++) {
          const sid = state.sessionId;
          let views: ReadonlySet<string> = new Set();
          try {
            await sync(orgId, state, onStore);
            views = new Set(state.views.keys());
            return await fn(state.sessionId);
          } catch (e) {
            const lost = isSessionLost(e) || lostView(e, state, views);
            if (attempt > 0 || !lost) throw e;
            resetSession(orgId, state, sid, (e as SparkError).errorClass ?? 'unknown');
          }
        }
      };

      const info = async (name: string): Promise<TableInfo | null> => {
        if (!isTableName(name)) return null;
        const snap = (await tables()).get(name);
        return snap ? { name, version: snap.version, columns: snap.columns } : null;
      };

      const rowCounts = async (names: readonly string[]): Promise<(number | Error)[]> => {
        const onStore = await tables();
        const known = [...new Set(names.filter((n) => isTableName(n) && onStore.has(n)))];
        const counts = new Map<string, number>();
        if (known.length) {
          const sql = known.map((n, i) => `SELECT ${i} AS i, COUNT(*) AS n FROM ${quoteIdent(n)}`).join(' UNION ALL ');
          const res = await inSession((sid) => spark.executeSql(sid, sql));
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
          return [...(await tables())].map(([name, s]) => ({ name, version: s.version, columns: s.columns }));
        },
        getTable: info,
        async rowCount(name) {
          const [n] = await rowCounts([name]);
          if (n instanceof Error) throw n;
          return n!;
        },
        rowCounts,
        async rows(name, { limit, offset }) {
          if (!Number.isInteger(limit) || limit < 0 || limit > MAX_ROWS_LIMIT)
            throw badUserInput(`limit must be an integer in [0, ${MAX_ROWS_LIMIT}].`, 'limit');
          if (!Number.isInteger(offset) || offset < 0 || offset > MAX_ROWS_OFFSET)
            throw badUserInput(`offset must be an integer in [0, ${MAX_ROWS_OFFSET}].`, 'offset');
          const table = await requireTable(name);
          const order = table.columns.filter((c) => !UNORDERABLE.test(c.type)).map((c) => quoteIdent(c.name));
          const sql =
            `SELECT * FROM ${quoteIdent(name)}` +
            (order.length ? ` ORDER BY ${order.join(', ')}` : '') +
            ` LIMIT ${limit} OFFSET ${offset}`;
          const res = await inSession((sid) => spark.executeSql(sid, sql));
          return {
            columns: res.columns,
            rows: res.rows.map((r) => Object.fromEntries(res.columns.map((c, i) => [c.name, r[i]]))),
          };
        },
        async query(sql, namedArgs = {}, opts = {}) {
          if (!/^(select|with)\b/i.test(stripLeadingComments(sql)))
            throw badUserInput('Only SELECT statements can be run on the lake.');
          const { signal } = opts;
          const aborted = () => new StatementAbortedError(signal?.reason, null, false);
          if (signal?.aborted) throw aborted();
          return inSession((sid) => {
            // The slot may have come after the caller gave up: then nothing is sent.
            if (signal?.aborted) throw aborted();
            return spark.executeSql(sid, sql, namedArgs, { signal });
          });
        },
      };
    },
    async ping() {
      await spark.executeSql(pingSession, 'SELECT 1', {}, { timeoutMs: 5_000 });
    },
    statementsInFlight: (orgId) => statements.inFlight(orgId),
    async close() {
      const ids = [pingSession, ...[...orgs.values()].map((s) => s.sessionId)];
      orgs.clear();
      await Promise.all(ids.map((id) => spark.releaseSession(id).catch(() => undefined)));
    },
  };
}
