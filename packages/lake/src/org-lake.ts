import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { badUserInput, notFound, type Logger, type TenantContext } from '@datapilot/common';
import type { ColumnInfo, NamedArgs, SparkConnectClient, SqlResult } from './spark-connect.ts';
import { SparkError, isSessionLost } from './spark-errors.ts';
import { ORG_ID_PATTERN, checkLakeRoot, deltaVersion, isTableName, orgGoldDir, scanOrgTables } from './lake-layout.ts';

/** A gold table of the caller's org: name, Delta version (highest commit in `_delta_log`) and Spark columns. */
export type TableInfo = { name: string; version: number; columns: ColumnInfo[] };

/** A page of rows of one table, each row a JSON object keyed by column name. */
export type RowsPage = { columns: ColumnInfo[]; rows: Record<string, unknown>[] };

/** Largest `limit` of {@link OrgLake.rows}. */
export const MAX_ROWS_LIMIT = 10_000;
/** Largest `offset` of {@link OrgLake.rows} (Spark's OFFSET is a 32-bit integer). */
export const MAX_ROWS_OFFSET = 2_000_000_000;

/**
 * The lake as one organization sees it. Every method works in that org's own Spark Connect session, which
 * holds a temporary view per table of the org's gold folder and nothing else; paths of other orgs never
 * appear in it, and `spark.sql.runSQLOnFiles=false` stops `delta.\`/path\``-style reads of any path.
 * Build one per request ({@link Lake.forTenant}): it reads the org's folder once and reuses that listing.
 */
export interface OrgLake {
  /** The org (from the verified token). */
  readonly orgId: string;
  /** The org's tables, sorted by name. @throws SparkError UPSTREAM_* / INTERNAL when Spark fails. */
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
   * @throws SparkError NOT_FOUND / BAD_USER_INPUT / UPSTREAM_TIMEOUT / UPSTREAM_UNAVAILABLE / INTERNAL.
   */
  query(sql: string, namedArgs?: NamedArgs): Promise<SqlResult>;
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
  /** table → columns, for the Delta version they were read at. */
  columns: Map<string, { version: number; columns: ColumnInfo[] }>;
};

/**
 * Creates the org-scoped lake over a Spark Connect client.
 *
 * Each org gets one Spark Connect session per process (session id: a random UUID). Before each operation the
 * org's gold folder (`<lakeRoot>/gold/org=<orgId>/<table>/_delta_log`) is listed, and the session's temporary
 * views are brought in line with it: `CREATE OR REPLACE TEMPORARY VIEW <table> USING delta OPTIONS (path
 * '<lakeRoot>/gold/org=<orgId>/<table>')` for a new table or a new Delta version (so a changed schema shows),
 * `DROP VIEW` for a table gone from disk. Only validated org ids (UUID) and table names
 * (`^[a-z][a-z0-9_]{0,62}$`) reach the SQL text; values never do.
 *
 * `USING delta OPTIONS (path ...)` views are used because they keep resolving after the session sets
 * `spark.sql.runSQLOnFiles=false` (checked against Spark 4.1.4 + Delta 4.4.0), whereas
 * `AS SELECT * FROM delta.\`path\`` views are re-analyzed per query and then fail.
 *
 * If Spark loses the session (server restart: `INVALID_HANDLE.SESSION_CHANGED`; idle expiry or release:
 * `SESSION_CLOSED`), or a registered view is missing (`TABLE_OR_VIEW_NOT_FOUND` naming it), the org starts a
 * fresh session id, registers its views again and retries the operation once.
 *
 * @param deps.spark the client (owned by the caller: `lake.close()` does not close it).
 * @param deps.lakeRoot absolute path of the lake root (`LAKE_ROOT`), as the Spark server sees it.
 * @param deps.logger optional: session resets and registrations are logged at info/debug.
 * @throws Error when `lakeRoot` is not a usable absolute path.
 */
export function createLake(deps: { spark: SparkConnectClient; lakeRoot: string; logger?: Logger }): Lake {
  const { spark, logger } = deps;
  const lakeRoot = checkLakeRoot(deps.lakeRoot);
  const orgs = new Map<string, OrgState>();
  const pingSession = randomUUID();

  const stateOf = (orgId: string): OrgState => {
    let s = orgs.get(orgId);
    if (!s) {
      s = { sessionId: randomUUID(), views: new Map(), configured: false, lock: Promise.resolve(), columns: new Map() };
      orgs.set(orgId, s);
    }
    return s;
  };

  /** Brings the session's views in line with `tables` (serialized per org). */
  const sync = (orgId: string, state: OrgState, tables: Map<string, number>): Promise<void> => {
    const run = state.lock.then(async () => {
      const sid = state.sessionId;
      const dir = orgGoldDir(lakeRoot, orgId);
      for (const [name, version] of tables) {
        if (state.views.get(name) === version) continue;
        const location = path.join(dir, name);
        await spark.executeSql(
          sid,
          `CREATE OR REPLACE TEMPORARY VIEW ${quoteIdent(name)} USING delta OPTIONS (path '${location}')`,
        );
        state.views.set(name, version);
        logger?.debug('lake view registered', { orgId, table: name, version });
      }
      for (const name of [...state.views.keys()]) {
        if (tables.has(name)) continue;
        // A concurrent request may have listed the folder later than this one: drop only what is gone now.
        if ((await deltaVersion(path.join(dir, name))) !== undefined) continue;
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
      let scan: Promise<Map<string, number>> | undefined;
      const tables = () => (scan ??= scanOrgTables(lakeRoot, orgId));

      /** Runs `fn` in the org's session with its views in place; on a lost session, once more in a new one. */
      const inSession = async <T>(fn: (sessionId: string) => Promise<T>): Promise<T> => {
        const onDisk = await tables();
        for (let attempt = 0; ; attempt++) {
          const sid = state.sessionId;
          let views: ReadonlySet<string> = new Set();
          try {
            await sync(orgId, state, onDisk);
            views = new Set(state.views.keys());
            return await fn(state.sessionId);
          } catch (e) {
            const lost = isSessionLost(e) || lostView(e, state, views);
            if (attempt > 0 || !lost) throw e;
            resetSession(orgId, state, sid, (e as SparkError).errorClass ?? 'unknown');
          }
        }
      };

      const columnsOf = async (name: string, version: number): Promise<ColumnInfo[]> => {
        const cached = state.columns.get(name);
        if (cached?.version === version) return cached.columns;
        const res = await inSession((sid) => spark.executeSql(sid, `SELECT * FROM ${quoteIdent(name)} LIMIT 0`));
        state.columns.set(name, { version, columns: res.columns });
        return res.columns;
      };

      const info = async (name: string): Promise<TableInfo | null> => {
        if (!isTableName(name)) return null;
        const version = (await tables()).get(name);
        if (version === undefined) return null;
        return { name, version, columns: await columnsOf(name, version) };
      };

      const rowCounts = async (names: readonly string[]): Promise<(number | Error)[]> => {
        const onDisk = await tables();
        const known = [...new Set(names.filter((n) => isTableName(n) && onDisk.has(n)))];
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
          const names = [...(await tables()).keys()];
          return (await Promise.all(names.map(info))).filter((t): t is TableInfo => t !== null);
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
        async query(sql, namedArgs = {}) {
          if (!/^(select|with)\b/i.test(stripLeadingComments(sql)))
            throw badUserInput('Only SELECT statements can be run on the lake.');
          return inSession((sid) => spark.executeSql(sid, sql, namedArgs));
        },
      };
    },
    async ping() {
      await spark.executeSql(pingSession, 'SELECT 1', {}, { timeoutMs: 5_000 });
    },
    async close() {
      const ids = [pingSession, ...[...orgs.values()].map((s) => s.sessionId)];
      orgs.clear();
      await Promise.all(ids.map((id) => spark.releaseSession(id).catch(() => undefined)));
    },
  };
}
