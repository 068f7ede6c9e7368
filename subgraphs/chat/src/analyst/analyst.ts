import { buildCatalog } from './catalog.ts';
import { chartSpec } from './chart.ts';
import { abstainText, describe, planSummary } from './describe.ts';
import { catalogPromptOf, type LlmClient } from './llm.ts';
import { planQuestion } from './plan.ts';
import type { QueryPlan } from './query-plan.ts';
import { EMPTY_SEMANTIC_SOURCE, type SemanticLayer, type SemanticSource } from './semantic.ts';
import { PlanError, toSql, validatePlan } from './sql.ts';
import type { AnalystAnswer, AnalystLake, Catalog, LakeResult, PriorTurn, SqlParam } from './types.ts';

/** Hooks called while answering, in this order, each awaited: to store and stream progress. */
export type AnalystHooks = {
  /** A short line on what the analyst is doing ("Reading your tables"). */
  onStatus?(text: string): Promise<void> | void;
  /** The plan is known and valid (before its SQL exists): the plan and the plan in words. */
  onPlan?(plan: QueryPlan, summary: string): Promise<void> | void;
  /** The SQL is known (before it runs). */
  onSql?(sql: string, params: Record<string, SqlParam>): Promise<void> | void;
  /** The result is known (normalized to JSON values). */
  onResult?(result: LakeResult): Promise<void> | void;
  /** The chart of the result (a Vega-Lite v5 spec), when the answer has a category or time dimension. */
  onChart?(chart: Record<string, unknown>): Promise<void> | void;
  /**
   * A piece of the answer text as a language model writes it. Called only when an LLM writes the text; the answer
   * then has `streamed: true` and its text is the concatenation of the pieces.
   */
  onTextDelta?(delta: string): Promise<void> | void;
};

/** What one question is answered against. */
export type AnalystScope = {
  /** The lake of the organization (its tables only). */
  lake: AnalystLake;
  /** The organization's id, from the verified token: the scope of the semantic layer read. */
  orgId: string;
  /** The conversation's earlier questions and their plans, newest last (follow-ups change the newest plan). */
  history?: PriorTurn[];
  /** Aborts the answer: the running statement is interrupted, the promise rejects with the signal's reason. */
  signal?: AbortSignal;
};

/** Answers questions over one org's lake; see {@link createAnalyst}. */
export interface Analyst {
  /**
   * Answers `question` from the tables of `scope.lake` and the organization's semantic layer. Abstains (text only,
   * nulls elsewhere) when the question cannot be mapped confidently, or when a model's plan is refused.
   * @throws whatever `lake` throws (DataPilotError UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, ...), and the signal's
   *   reason when aborted.
   */
  answer(question: string, scope: AnalystScope, hooks?: AnalystHooks): Promise<AnalystAnswer & { streamed: boolean }>;
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
 * Creates the analyst.
 *
 * Per question: `listTables()` (what the organization's lake holds now), its semantic layer (`semantic.load`, cached
 * by the source), the catalog of both; the plan — from the LLM plug when `llm` is set (its tool-call plan, refused
 * with the reason when {@link validatePlan} refuses it: a table or column the organization does not have, a join
 * that is not a declared relationship; when the model is unreachable the deterministic planner answers), otherwise
 * from {@link planQuestion} with the conversation's history; {@link toSql}; one `query()`; the chart; the text (the
 * model's streamed words, or {@link describe}).
 * @param opts.semantic where organizations' semantic layers are read (default: none; the analyst then knows the lake's
 *   column names and types only).
 * @param opts.llm the LLM plug (optional).
 * @param opts.onWarning called when the semantic layer cannot be read or the model fails (the answer goes on without).
 */
export function createAnalyst(
  opts: { semantic?: SemanticSource; llm?: LlmClient | null; onWarning?: (what: string, e: unknown) => void } = {},
): Analyst {
  const semantic = opts.semantic ?? EMPTY_SEMANTIC_SOURCE;
  const warn = opts.onWarning ?? (() => {});

  async function planWithLlm(
    llm: LlmClient,
    question: string,
    catalog: Catalog,
    scope: AnalystScope,
  ): Promise<QueryPlan | { abstain: string } | null> {
    let reply;
    try {
      reply = await llm.plan({
        question,
        catalog: catalogPromptOf(catalog),
        history: scope.history ?? [],
        signal: scope.signal,
      });
    } catch (e) {
      if (scope.signal?.aborted) throw e;
      warn('the language model did not answer; the deterministic analyst answers', e);
      return null;
    }
    if ('abstain' in reply) return { abstain: reply.abstain };
    try {
      return validatePlan(reply.plan, catalog);
    } catch (e) {
      if (e instanceof PlanError) return { abstain: `the model's plan was refused: ${e.message}` };
      throw e;
    }
  }

  return {
    async answer(question, scope, hooks = {}) {
      const { lake, orgId, signal } = scope;
      await hooks.onStatus?.('Reading your tables');
      const [tables, layer] = await Promise.all([
        lake.listTables(),
        semantic.load(orgId).catch((e): SemanticLayer => {
          warn('the semantic layer could not be read; answering from the lake alone', e);
          return { datasets: [], relationships: [] };
        }),
      ]);
      signal?.throwIfAborted();
      const catalog = buildCatalog(tables, layer);
      const abstained = (reason: string) => ({
        text: abstainText(catalog, reason),
        plan: null,
        planSummary: null,
        sql: null,
        params: null,
        result: null,
        chart: null,
        streamed: false,
      });

      let plan: QueryPlan | null = null;
      if (opts.llm) {
        const r = await planWithLlm(opts.llm, question, catalog, scope);
        if (r && 'abstain' in r) return abstained(r.abstain);
        plan = r;
      }
      if (!plan) {
        const p = planQuestion(question, catalog, scope.history ?? []);
        if ('abstain' in p) return abstained(p.reason);
        try {
          plan = validatePlan(p, catalog);
        } catch (e) {
          if (e instanceof PlanError) return abstained(e.message);
          throw e;
        }
      }
      const summary = planSummary(plan);
      await hooks.onPlan?.(plan, summary);
      const { sql, params } = toSql(plan, catalog);
      await hooks.onSql?.(sql, params);
      signal?.throwIfAborted();
      const result = normalizeResult(await lake.query(sql, params, signal ? { signal } : undefined));
      await hooks.onResult?.(result);
      const chart = chartSpec(plan, result);
      if (chart) await hooks.onChart?.(chart);

      let text = describe(plan, result);
      let streamed = false;
      if (opts.llm && hooks.onTextDelta) {
        // What the user saw is what is stored: pieces already streamed stay the text, even if the model stops.
        let seen = '';
        let chain = Promise.resolve();
        try {
          await opts.llm.write({ question, plan, summary, result, signal }, (d) => {
            seen += d;
            chain = chain.then(() => hooks.onTextDelta!(d));
          });
        } catch (e) {
          if (signal?.aborted) throw e;
          warn('the language model could not write the answer; the analyst wrote it', e);
          // Cut off mid-answer: the analyst's own sentence follows what was streamed, so the numbers are stated.
          if (seen) {
            const rest = `\n\n${text}`;
            seen += rest;
            chain = chain.then(() => hooks.onTextDelta!(rest));
          }
        }
        await chain;
        if (seen) {
          text = seen;
          streamed = true;
        }
      }
      return { text, plan, planSummary: summary, sql, params, result, chart, streamed };
    },
  };
}
