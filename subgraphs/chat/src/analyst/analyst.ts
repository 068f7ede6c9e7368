import { buildCatalog } from './catalog.ts';
import { chartSpec } from './chart.ts';
import { abstainText, describe, planSummary } from './describe.ts';
import { catalogPromptOf, type LlmClient } from './llm.ts';
import { planQuestion } from './plan.ts';
import type { QueryPlan } from './query-plan.ts';
import { EMPTY_SEMANTIC_SOURCE, type SemanticLayer, type SemanticSource } from './semantic.ts';
import { PlanError, toSql, validatePlan } from './sql.ts';
import type { AnalystAnswer, AnalystLake, Catalog, LakeResult, LakeTable, PriorTurn, SqlParam } from './types.ts';

/**
 * Hooks called while answering, in this order, each awaited before the next is called: to store and stream
 * progress. Slow steps run while a hook works: the lake listing and the semantic layer are read during `onStatus`,
 * and the statement runs during `onPlan` and `onSql`.
 */
export type AnalystHooks = {
  /** A short line on what the analyst is doing ("Reading your tables"). */
  onStatus?(text: string): Promise<void> | void;
  /** The plan is known and valid (before its SQL exists): the plan and the plan in words. */
  onPlan?(plan: QueryPlan, summary: string): Promise<void> | void;
  /** The SQL is known (its statement has just been started; its result is not known yet). */
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

/**
 * Where the time of one answer went, in milliseconds (wall clock, `performance.now()`), for the log and the
 * benchmark (bench/chat.ts). `tables` and `semantic` run at once; `read` is both together. Steps not reached (an
 * abstention stops after `plan`) are absent.
 */
export type AnalystTimings = {
  /** `onStatus('Reading your tables')`: the status line stored and published (during `read`). */
  status?: number;
  /** `lake.listTables()`: the object-store listing and Delta logs. */
  tables?: number;
  /** `semantic.load(orgId)`: the semantic layer (Neo4j, or the source's cache). */
  semantic?: number;
  /** Both reads, from start to the later one's end. */
  read?: number;
  /** {@link buildCatalog} (or the catalog cache). */
  catalog?: number;
  /** Planning and validation (the model's plan when an LLM is plugged in). */
  plan?: number;
  /** `onPlan` + `onSql`: the plan and SQL stored and published (the statement already runs meanwhile). */
  publish?: number;
  /**
   * The rest of `lake.query()` after `publish`: the Spark statement (with the session's view registration when
   * needed), or the result cache's answer.
   */
  query?: number;
  /** `onResult` + chart + `onChart`. */
  result?: number;
  /** The answer text (describe, or the model's streamed words). */
  text?: number;
  /** The whole `answer()`. */
  total?: number;
};

/** Default of `maxCachedCatalogs` ({@link createAnalyst}): catalogs of this many organizations are kept. */
export const DEFAULT_MAX_CACHED_CATALOGS = 100;

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
 * @param opts.onTimings called once per answer that returns (answered or abstained) with where its time went.
 * @param opts.maxCachedCatalogs organizations whose catalog is kept between questions (default
 *   {@link DEFAULT_MAX_CACHED_CATALOGS}; least recently asked out). A catalog is reused while the organization's
 *   listing and semantic layer are unchanged; with it go the planner's indexes of its values and phrases, which are
 *   most of the time of planning (catalog.ts `valueIndex`).
 */
export function createAnalyst(
  opts: {
    semantic?: SemanticSource;
    llm?: LlmClient | null;
    onWarning?: (what: string, e: unknown) => void;
    onTimings?: (t: AnalystTimings, orgId: string) => void;
    maxCachedCatalogs?: number;
  } = {},
): Analyst {
  const semantic = opts.semantic ?? EMPTY_SEMANTIC_SOURCE;
  const warn = opts.onWarning ?? (() => {});
  const maxCatalogs = opts.maxCachedCatalogs ?? DEFAULT_MAX_CACHED_CATALOGS;
  /** Per organization: its last catalog and what it was built from; least recently used first. */
  const catalogs = new Map<string, { layer: SemanticLayer; tables: string; catalog: Catalog }>();

  /**
   * The catalog of `orgId` from `tables` and `layer`: the one built for that organization before when both are the
   * same — the same layer object (the semantic source returns the same object while the layer is unchanged) and
   * the same listing (names, Delta versions, columns) — else a new one. Keyed by organization: an entry is only
   * ever read for the organization it was built for.
   */
  function catalogOf(orgId: string, tables: LakeTable[], layer: SemanticLayer): Catalog {
    const listing = JSON.stringify(tables);
    const hit = catalogs.get(orgId);
    catalogs.delete(orgId);
    const entry =
      hit && hit.layer === layer && hit.tables === listing
        ? hit
        : { layer, tables: listing, catalog: buildCatalog(tables, layer) };
    catalogs.set(orgId, entry);
    while (catalogs.size > maxCatalogs) catalogs.delete(catalogs.keys().next().value!);
    return entry.catalog;
  }

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
      const t: AnalystTimings = {};
      const began = performance.now();
      let mark = began;
      /** Records the time since the previous mark as step `k`. */
      const lap = (k: keyof AnalystTimings) => {
        const now = performance.now();
        t[k] = now - mark;
        mark = now;
      };
      const timed = <T>(k: 'tables' | 'semantic', p: Promise<T>) =>
        p.finally(() => void (t[k] = performance.now() - mark));
      const done = <T>(answer: T): T => {
        t.total = performance.now() - began;
        opts.onTimings?.(t, orgId);
        return answer;
      };
      // The status line is stored and published while the lake and the layer are read (the hooks keep their order).
      const [, tables, layer] = await Promise.all([
        Promise.resolve(hooks.onStatus?.('Reading your tables')).then(() => void (t.status = performance.now() - mark)),
        timed('tables', lake.listTables()),
        timed(
          'semantic',
          semantic.load(orgId).catch((e): SemanticLayer => {
            warn('the semantic layer could not be read; answering from the lake alone', e);
            return { datasets: [], relationships: [] };
          }),
        ),
      ]);
      lap('read');
      signal?.throwIfAborted();
      const catalog = catalogOf(orgId, tables, layer);
      lap('catalog');
      const abstained = (reason: string) =>
        done({
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
      lap('plan');
      const summary = planSummary(plan);
      const { sql, params } = toSql(plan, catalog);
      signal?.throwIfAborted();
      // The statement starts now; the plan and the SQL are stored and published while it runs.
      const running = lake.query(sql, params, signal ? { signal } : undefined);
      running.catch(() => undefined); // awaited below; a failing hook must not leave it unhandled
      await hooks.onPlan?.(plan, summary);
      await hooks.onSql?.(sql, params);
      lap('publish');
      const result = normalizeResult(await running);
      lap('query');
      await hooks.onResult?.(result);
      const chart = chartSpec(plan, result);
      if (chart) await hooks.onChart?.(chart);
      lap('result');

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
      lap('text');
      return done({ text, plan, planSummary: summary, sql, params, result, chart, streamed });
    },
  };
}
