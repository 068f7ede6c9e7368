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
 * Per question: `listTables()`, value samples of string columns (one query per table, cached per org, table and
 * table version), {@link planQuestion}, {@link toSql}, one `query()`, {@link describe}.
 * @param opts.sampleLimit distinct values sampled per string column (default 1000); a column with more is matched
 *   only on the values sampled.
 * @param opts.maxCachedTables table samples kept in memory across orgs (default 2000; oldest dropped first).
 * @param opts.onSampleError called when a sample query fails; the question is then answered without that table's values.
 */
export function createAnalyst(
  opts: { sampleLimit?: number; maxCachedTables?: number; onSampleError?: (table: string, e: unknown) => void } = {},
): Analyst {
  const sampleLimit = opts.sampleLimit ?? 1000;
  const maxCached = opts.maxCachedTables ?? 2000;
  const cache = new Map<string, Promise<TableSamples>>();

  async function sampleTable(lake: AnalystLake, table: LakeTable): Promise<TableSamples> {
    const strings = table.columns.filter((c) => /^(string|varchar|char)/i.test(c.type));
    const samples: TableSamples = new Map();
    if (!strings.length) return samples;
    // One statement for all string columns of the table: (column index, value) rows, LIMIT per column.
    const args: Record<string, SqlParam> = {};
    const parts = strings.map((c, i) => {
      args[`c${i}`] = i;
      const col = quoteIdent(c.name);
      return (
        `SELECT :c${i} AS ${quoteIdent('column_index')}, ${quoteIdent('value')} FROM (SELECT DISTINCT CAST(${col} AS STRING) AS ${quoteIdent('value')} ` +
        `FROM ${quoteIdent(table.name)} WHERE ${col} IS NOT NULL LIMIT ${sampleLimit + 1})`
      );
    });
    const result = await lake.query(parts.join(' UNION ALL '), args);
    strings.forEach((c, i) => {
      const values = result.rows.filter((r) => Number(r[0]) === i).map((r) => String(r[1]));
      samples.set(c.name, { values: values.slice(0, sampleLimit), complete: values.length <= sampleLimit });
    });
    return samples;
  }

  function samplesOf(lake: AnalystLake, orgId: string, table: LakeTable): Promise<TableSamples> {
    const key = JSON.stringify([orgId, table.name, String(table.version)]);
    let p = cache.get(key);
    if (!p) {
      p = sampleTable(lake, table).catch((e) => {
        cache.delete(key);
        opts.onSampleError?.(table.name, e);
        return new Map();
      });
      cache.set(key, p);
      while (cache.size > maxCached) cache.delete(cache.keys().next().value!);
    }
    return p;
  }

  return {
    async answer(question, { lake, orgId }, hooks = {}) {
      const tables = await lake.listTables();
      const samples = new Map(
        await Promise.all(tables.map(async (t) => [t.name, await samplesOf(lake, orgId, t)] as const)),
      );
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
