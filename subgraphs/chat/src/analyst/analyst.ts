import { buildCatalog, type TableSamples } from './catalog.ts';
import { abstainText, describe } from './describe.ts';
import { planQuestion } from './plan.ts';
import { quoteIdent, toSql } from './sql.ts';
import type { AnalystAnswer, AnalystLake, LakeResult, LakeTable, SqlParam } from './types.ts';

/** Hooks called while answering, in this order, each awaited: to store and stream progress. */
export type AnalystHooks = {
  /** The SQL is known (before it runs). */
  onSql?(sql: string, params: Record<string, SqlParam>): Promise<void> | void;
  /** The result is known (normalized to JSON values). */
  onResult?(result: LakeResult): Promise<void> | void;
};

/** Answers questions over one org's lake; see {@link createAnalyst}. */
export interface Analyst {
  /**
   * Answers `question` from the tables of `lake`, which belongs to organization `orgId` (the key of the value-sample
   * cache). Abstains (text only, nulls elsewhere) when the question cannot be mapped confidently.
   * @throws whatever `lake` throws (DataPilotError UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, ...).
   */
  answer(question: string, scope: { lake: AnalystLake; orgId: string }, hooks?: AnalystHooks): Promise<AnalystAnswer>;
}

/**
 * Turns a JSON-incompatible cell into a JSON value: bigint → number (string beyond 2^53), Date → ISO-8601
 * (date-only for a `date` column), NaN/Infinity → null, bytes → base64.
 */
export function jsonCell(v: unknown, type = ''): unknown {
  if (typeof v === 'bigint')
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v instanceof Date) return /^date$/i.test(type) ? v.toISOString().slice(0, 10) : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map((x) => jsonCell(x));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonCell(x)]));
  return v ?? null;
}

/** {@link jsonCell} over a whole result. */
export function normalizeResult(r: LakeResult): LakeResult {
  return {
    columns: r.columns.map((c) => ({ name: c.name, type: c.type })),
    rows: r.rows.map((row) => row.map((v, i) => jsonCell(v, r.columns[i]?.type))),
  };
}

/**
 * Creates the deterministic analyst (no LLM).
 *
 * Per question: `listTables()`, value samples of string columns (one statement for all tables not sampled yet;
 * cached per org, table and table version), {@link planQuestion}, {@link toSql}, one `query()`, {@link describe}.
 * @param opts.sampleLimit distinct values sampled per string column (default 1000); a column with more is matched
 *   only on the values sampled.
 * @param opts.maxCachedTables table samples kept in memory across orgs (default 2000; oldest dropped first).
 * @param opts.onSampleError called when the sample statement fails (with the table names); the question is then
 *   answered without those tables' values, and the next question samples them again.
 */
export function createAnalyst(
  opts: { sampleLimit?: number; maxCachedTables?: number; onSampleError?: (table: string, e: unknown) => void } = {},
): Analyst {
  const sampleLimit = opts.sampleLimit ?? 1000;
  const maxCached = opts.maxCachedTables ?? 2000;
  const cache = new Map<string, Promise<TableSamples>>();

  /**
   * Samples the string columns of `tables` in ONE statement: a UNION ALL of per-column
   * `SELECT DISTINCT ... LIMIT sampleLimit + 1` subqueries (bounded work per column; a column reaching the limit is
   * marked incomplete), rows tagged with the column's index as a parameter.
   */
  async function sampleTables(lake: AnalystLake, tables: LakeTable[]): Promise<Map<string, TableSamples>> {
    const out = new Map<string, TableSamples>(tables.map((t) => [t.name, new Map()]));
    const args: Record<string, SqlParam> = {};
    const targets: { table: string; column: string }[] = [];
    const parts: string[] = [];
    for (const t of tables)
      for (const c of t.columns.filter((c) => /^(string|varchar|char)/i.test(c.type))) {
        const k = targets.push({ table: t.name, column: c.name }) - 1;
        args[`k${k}`] = k;
        const col = quoteIdent(c.name);
        parts.push(
          `SELECT :k${k} AS \`k\`, \`v\` FROM (SELECT DISTINCT CAST(${col} AS STRING) AS \`v\` ` +
            `FROM ${quoteIdent(t.name)} WHERE ${col} IS NOT NULL LIMIT ${sampleLimit + 1})`,
        );
      }
    if (!parts.length) return out;
    const result = await lake.query(parts.join(' UNION ALL '), args);
    const byTarget = new Map<number, string[]>();
    for (const [k, v] of result.rows) byTarget.set(Number(k), [...(byTarget.get(Number(k)) ?? []), String(v)]);
    targets.forEach(({ table, column }, k) => {
      const values = byTarget.get(k) ?? [];
      out.get(table)!.set(column, { values: values.slice(0, sampleLimit), complete: values.length <= sampleLimit });
    });
    return out;
  }

  /** The samples of every table, from the cache or from one {@link sampleTables} call for the missing ones. */
  async function samplesOf(lake: AnalystLake, orgId: string, tables: LakeTable[]): Promise<Map<string, TableSamples>> {
    const key = (t: LakeTable) => JSON.stringify([orgId, t.name, String(t.version)]);
    const missing = tables.filter((t) => !cache.has(key(t)));
    if (missing.length) {
      const batch = sampleTables(lake, missing).catch((e) => {
        opts.onSampleError?.(missing.map((t) => t.name).join(', '), e);
        for (const t of missing) cache.delete(key(t));
        return new Map<string, TableSamples>();
      });
      for (const t of missing)
        cache.set(
          key(t),
          batch.then((m) => m.get(t.name) ?? new Map()),
        );
      while (cache.size > maxCached) cache.delete(cache.keys().next().value!);
    }
    return new Map(
      await Promise.all(tables.map(async (t) => [t.name, (await cache.get(key(t))) ?? new Map()] as const)),
    );
  }

  return {
    async answer(question, { lake, orgId }, hooks = {}) {
      const tables = await lake.listTables();
      const samples = await samplesOf(lake, orgId, tables);
      const plan = planQuestion(question, buildCatalog(tables, samples));
      if ('abstain' in plan)
        return {
          text: abstainText(
            tables.map((t) => t.name),
            plan.reason,
          ),
          sql: null,
          params: null,
          result: null,
        };
      const { sql, params } = toSql(plan);
      await hooks.onSql?.(sql, params);
      const result = normalizeResult(await lake.query(sql, params));
      await hooks.onResult?.(result);
      return { text: describe(plan, result), sql, params, result };
    },
  };
}
