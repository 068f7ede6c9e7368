import { columnTerms, normalizeValue, tableTerms, valueIndex, type ValueMatch } from './catalog.ts';
import {
  COMPARISONS,
  CUES,
  HIGH_WORDS,
  LOW_WORDS,
  NUMBER_WORDS,
  QUANTITY_ADJECTIVES,
  STOPWORDS,
  TIME_WORDS,
  UNITS,
  VALUE_DIRECTIONS,
  YEAR_WORDS,
  lemma,
  valueVariants,
  type Cue,
} from './lexicon.ts';
import { DAY_NAMES, MONTH_NAMES, type PlanFilter, type PlanJoin, type QueryPlan, type TimePart } from './query-plan.ts';
import type {
  Abstain,
  Catalog,
  CatalogColumn,
  CatalogMetric,
  CatalogRelationship,
  CatalogTable,
  PriorTurn,
} from './types.ts';

/**
 * Question → {@link QueryPlan}, deterministically, or {@link Abstain} when any part of the question cannot be placed.
 *
 * Steps: tokenize; find column, metric, table, time-word, grammar-cue, adjective, month and value phrases (longest
 * first, from the catalog — names, the semantic layer's synonyms, values and value aliases — and lexicon.ts); pick
 * the base table (named: 3, each column named: 1, each value found: 1, each metric: 2, plus what the tables it
 * references along declared relationships score: a fact table reaches its dimensions; a tie abstains); resolve every
 * phrase in the base table or a table it references (a join along the relationship, its foreign key chosen by an
 * adjacent column word or by direction words such as "from"/"to"); read numbers (top-N, comparisons, years,
 * ranges, percentiles); find the group (a column, a calendar part, or the table's label column for "which car") and
 * the aggregate. Every word must be explained by one of these or be a stopword, and every column named must be used,
 * otherwise the analyst abstains instead of guessing. A follow-up ("And in 2015?", "What about Gentoo?", "Show it by
 * month") changes the previous plan of the conversation. No I/O.
 */

type Token = { raw: string; word: string; lemma: string; num: number | null };
type Span = { start: number; end: number };
type Found<P> = Span & { payload: P };
/** A column phrase resolved in scope. `timePart`: the phrase means a calendar part of a date column. */
type Mention = Span & { column: CatalogColumn; timePart: TimePart | null; used: boolean; viaFk: boolean };
type Filter = PlanFilter & { at: number };

const abstain = (reason: string): Abstain => ({ abstain: true, reason });
class Refusal extends Error {}
const refuse = (reason: string): never => {
  throw new Refusal(reason);
};

/** The unit of a column's values: the semantic layer's `unit`, else a unit suffix of its name (`_mm`, `_lbs`). */
function unitOf(column: CatalogColumn): { dim: string; factor: number } | null {
  const suffix = column.name.toLowerCase().split('_').at(-1)!;
  return UNITS[lemma(column.unit ?? '')] ?? UNITS[column.unit ?? ''] ?? UNITS[suffix] ?? null;
}

/** `n` in `unit` expressed in the unit of `column`; `n` when no unit; null when the column's unit is unknown. */
function convert(n: number, unit: string | null, column: CatalogColumn): number | null {
  if (!unit) return n;
  const columnUnit = unitOf(column);
  const given = UNITS[unit]!;
  if (!columnUnit || columnUnit.dim !== given.dim) return null;
  return Number(((n * given.factor) / columnUnit.factor).toPrecision(12));
}
const isYear = (n: number) => Number.isInteger(n) && n >= 1000 && n <= 2999;

/** Splits a question into words and numbers ("1,000" → 1000, "-5" → -5, "three" after top/bottom/last → 3). */
export function tokenize(question: string): Token[] {
  const re =
    /(?<![\p{L}\p{N}_])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\p{L}\p{N}_])-?\d+(?:\.\d+)?|[\p{L}_][\p{L}\p{N}_'-]*/gu;
  const tokens: Token[] = [];
  for (const [raw] of question.slice(0, 2_000).matchAll(re)) {
    const word = raw.toLowerCase().replace(/'s$|'$/, '');
    const prev = tokens.at(-1)?.word;
    const num = /^-?[\d,.]+$/.test(raw)
      ? Number(raw.replace(/,/g, ''))
      : (prev === 'top' || prev === 'bottom' || prev === 'last' || prev === 'past') && word in NUMBER_WORDS
        ? NUMBER_WORDS[word]!
        : null;
    tokens.push({ raw, word, lemma: lemma(word), num });
  }
  return tokens;
}

/** Greedy longest-first phrase matching over the tokens for which `usable(i)` holds. */
function findPhrases<P>(
  tokens: Token[],
  index: Map<string, P>,
  key: (t: Token) => string,
  usable: (i: number) => boolean,
  maxLen = 5,
): Found<P>[] {
  const found: Found<P>[] = [];
  for (let i = 0; i < tokens.length;) {
    let hit: Found<P> | null = null;
    for (let n = Math.min(maxLen, tokens.length - i); n >= 1 && !hit; n--) {
      const span = tokens.slice(i, i + n);
      if (!span.every((_, k) => usable(i + k))) continue;
      const payload = index.get(span.map(key).join(' '));
      if (payload !== undefined) hit = { start: i, end: i + n, payload };
    }
    if (hit) {
      found.push(hit);
      i = hit.end;
    } else i++;
  }
  return found;
}

function group<K, V>(entries: [K, V][]): Map<K, V[]> {
  const m = new Map<K, V[]>();
  for (const [k, v] of entries) m.set(k, [...(m.get(k) ?? []), v]);
  return m;
}

const CUE_INDEX = new Map(Object.entries(CUES));
const TIME_INDEX = new Map(Object.entries(TIME_WORDS).map(([k, v]) => [k.split(' ').map(lemma).join(' '), v]));
const ADJ_INDEX = new Map(Object.entries(QUANTITY_ADJECTIVES));
const MONTH_INDEX = new Map(MONTH_NAMES.map((m, i) => [m.toLowerCase(), i + 1]));
/** Day names (lemmatized: "mondays" → "monday") and weekends → Spark `dayofweek` numbers (1 = Sunday). */
const DAY_INDEX = new Map<string, number[]>([
  ...DAY_NAMES.map((d, i) => [lemma(d.toLowerCase()), [i + 1]] as [string, number[]]),
  ['weekend', [1, 7]],
]);
const QUARTER_INDEX = new Map([1, 2, 3, 4].map((q) => [`q${q}`, q]));
const covers = (s: Span, i: number) => i >= s.start && i < s.end;
const phraseOf = (tokens: Token[], s: Span) =>
  tokens
    .slice(s.start, s.end)
    .map((t) => t.raw)
    .join(' ');
const GROUP_CUES: Cue[] = ['GROUP', 'WHICH', 'TOP', 'BOTTOM', 'MOST_COMMON', 'LEAST_COMMON'];
const FOLLOW_UP = /^\s*(and|what about|how about|now|same|also|then|instead|but|show (it|that|this|them)|only|just)\b/i;

/** The phrases that name the catalog's columns, metrics and tables (lemmas joined by spaces) → what they name. */
type PhraseIndexes = {
  columnIndex: Map<string, CatalogColumn[]>;
  metricIndex: Map<string, CatalogMetric[]>;
  tableIndex: Map<string, CatalogTable[]>;
};
/** {@link phraseIndexes} per catalog object (catalogs are not modified once built; see catalog.ts valueIndex). */
const PHRASE_INDEXES = new WeakMap<Catalog, PhraseIndexes>();

/** The {@link PhraseIndexes} of `catalog`, built on its first question and kept as long as the catalog is. */
function phraseIndexes(catalog: Catalog): PhraseIndexes {
  const known = PHRASE_INDEXES.get(catalog);
  if (known) return known;
  const indexes: PhraseIndexes = {
    columnIndex: group(
      catalog.tables.flatMap((t) =>
        t.columns.flatMap((c) => columnTerms(c).map((p) => [p, c] as [string, CatalogColumn])),
      ),
    ),
    metricIndex: group(
      catalog.tables.flatMap((t) =>
        (t.metrics ?? []).flatMap((m) =>
          [m.name.replace(/_/g, ' '), ...m.synonyms]
            .map((p) => p.toLowerCase().split(/\s+/).map(lemma).join(' '))
            .map((p) => [p, m] as [string, CatalogMetric]),
        ),
      ),
    ),
    tableIndex: group(catalog.tables.flatMap((t) => tableTerms(t).map((p) => [p, t] as [string, CatalogTable]))),
  };
  PHRASE_INDEXES.set(catalog, indexes);
  return indexes;
}

/** Values of the catalog (and their aliases) named in the question, on tokens no other phrase explains. */
function findValues(tokens: Token[], catalog: Catalog, free: (i: number) => boolean) {
  const index = valueIndex(catalog);
  const found: Found<ValueMatch[]>[] = [];
  const edge = (i: number) => !STOPWORDS.has(tokens[i]!.word);
  for (let i = 0; i < tokens.length;) {
    let hit: (typeof found)[number] | null = null;
    for (let n = Math.min(5, tokens.length - i); n >= 1 && !hit; n--) {
      const span = tokens.slice(i, i + n);
      if (!span.every((_, k) => free(i + k)) || !edge(i) || !edge(i + n - 1)) continue;
      // Two-letter codes (AK, TX) only when written in capitals, so that ordinary words do not match.
      if (n === 1 && span[0]!.word.length <= 2 && span[0]!.raw !== span[0]!.raw.toUpperCase()) continue;
      const matches = [...(index.get(normalizeValue(span.map((t) => t.raw.replace(/'s$/i, '')).join(' '))) ?? [])];
      for (const key of n === 1 ? valueVariants(span[0]!.word) : [])
        for (const m of index.get(key) ?? []) if (!matches.some((x) => x.column === m.column)) matches.push(m);
      if (matches.length) hit = { start: i, end: i + n, payload: matches };
    }
    if (hit) {
      found.push(hit);
      i = hit.end;
    } else i++;
  }
  return found;
}

/** The date column of a table (preferably `date`), else an integer `year` column (YEAR only). */
function timeColumn(table: CatalogTable, part: TimePart): CatalogColumn | null {
  const temporal = table.columns.filter((c) => c.kind === 'temporal');
  const dated = temporal.find((c) => c.name.toLowerCase() === 'date') ?? temporal[0];
  if (dated) return dated;
  if (part === 'YEAR') return table.columns.find((c) => c.kind === 'number' && /^(year|yr)$/i.test(c.name)) ?? null;
  if (part === 'MONTH') return table.columns.find((c) => c.kind === 'number' && /^month$/i.test(c.name)) ?? null;
  return null;
}

/**
 * The column that names a table's rows ("which car" → `name`): its IDENTIFIER string column with the most distinct
 * values, else its only CATEGORY/string column; null when there is no such single column.
 */
function labelColumn(table: CatalogTable): CatalogColumn | null {
  const strings = table.columns.filter((c) => c.kind === 'string' && c.semanticType !== 'TEXT');
  const ids = strings
    .filter((c) => c.semanticType === 'IDENTIFIER' || /^(name|title|label)$/i.test(c.name))
    .sort((a, b) => (b.distinctCount ?? 0) - (a.distinctCount ?? 0));
  if (ids.length && !(ids.length > 1 && ids[0]!.distinctCount === ids[1]!.distinctCount)) return ids[0]!;
  return strings.length === 1 ? strings[0]! : null;
}

/** The words of a column's name and synonyms, lemmatized (for quantity adjectives and high/low variants). */
const nameWords = (c: CatalogColumn) =>
  new Set(
    [c.name.replace(/_/g, ' '), ...(c.synonyms ?? []), c.unit ?? '']
      .flatMap((p) => p.toLowerCase().split(/[\s_]+/))
      .filter(Boolean)
      .map(lemma),
  );

/** Of several columns a phrase names, the one a direction picks (`temp_max` for HIGH); null if not exactly one. */
function byDirection(cols: CatalogColumn[], dir: 'HIGH' | 'LOW' | null): CatalogColumn | null {
  if (!dir) return null;
  const words = dir === 'HIGH' ? HIGH_WORDS : LOW_WORDS;
  const hits = cols.filter((c) =>
    c.name
      .toLowerCase()
      .split('_')
      .some((w) => words.has(w)),
  );
  return hits.length === 1 ? hits[0]! : null;
}

/** A plan under construction: what the question (or a follow-up) says. */
type Draft = {
  table: CatalogTable;
  joins: PlanJoin[];
  filters: Filter[];
  group: { column: CatalogColumn; timePart: TimePart | null } | null;
  aggregate: QueryPlan['aggregate'] | null;
  measure: CatalogColumn | null;
  percentile: number | null;
  metric: string | null;
  order: 'DESC' | 'ASC' | null;
  limit: number | null;
};

/**
 * Plans `question` over `catalog`; see the module comment. `history` holds the conversation's earlier questions
 * with their plans (newest last): a follow-up changes the newest plan. Pure.
 */
export function planQuestion(question: string, catalog: Catalog, history: PriorTurn[] = []): QueryPlan | Abstain {
  const previous = [...history].reverse().find((t) => t.plan)?.plan ?? null;
  const prevTable = previous && catalog.tables.find((t) => t.name === previous.table);
  const followUpWords = FOLLOW_UP.test(question) || refersBack(tokenize(question));
  // "And in 2015?" changes the previous plan; if it cannot ("And how many cars are there?"), it is a question of its
  // own. A question that cannot stand alone may still continue the conversation ("What about Gentoo?").
  let followUpRefusal: Refusal | null = null;
  if (previous && prevTable && followUpWords) {
    try {
      return followUp(question, catalog, previous, prevTable);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      followUpRefusal = e;
    }
  }
  try {
    return finish(analyze(question, catalog, null));
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    if (previous && prevTable && !followUpWords) {
      try {
        return followUp(question, catalog, previous, prevTable);
      } catch (f) {
        if (!(f instanceof Refusal)) throw f;
      }
    }
    return abstain((followUpRefusal ?? e).message);
  }
}

/**
 * Whether a question points back at the previous answer: "those", "these", "them", or a "there" that is not the
 * existential one ("which city there" — not "how many days were there").
 */
function refersBack(tokens: Token[]): boolean {
  return tokens.some(
    (t, i) =>
      ['those', 'these', 'them'].includes(t.word) ||
      (t.word === 'there' && !['is', 'are', 'was', 'were', 'be', 'been', 'being'].includes(tokens[i - 1]?.word ?? '')),
  );
}

/** The previous plan changed by what the follow-up says. */
function followUp(question: string, catalog: Catalog, previous: QueryPlan, table: CatalogTable): QueryPlan | Abstain {
  const d = analyze(question, catalog, { table, joins: previous.joins });
  const sameColumn = (a: PlanFilter, b: PlanFilter) =>
    a.column.table === b.column.table &&
    (a.column.column === b.column.column || (a.timePart !== null && b.timePart !== null)) &&
    (a.timePart === null) === (b.timePart === null) &&
    (a.timePart === null || a.timePart === b.timePart || isYearLike(a) || isYearLike(b));
  const kept = previous.filters.filter((f) => !d.filters.some((n) => sameColumn(f, n)));
  const joins = [...previous.joins];
  for (const j of d.joins) if (!joins.some((x) => x.table === j.table)) joins.push(j);
  const ref = (c: CatalogColumn) => ({ table: c.table, column: c.name });
  const plan: QueryPlan = {
    ...previous,
    joins,
    filters: [...kept, ...d.filters.map(({ at: _at, ...f }) => f)],
    group: d.group ? { column: ref(d.group.column), timePart: d.group.timePart } : previous.group,
    aggregate: d.aggregate ?? previous.aggregate,
    measure: d.aggregate
      ? d.measure
        ? ref(d.measure)
        : d.aggregate === 'COUNT'
          ? null
          : previous.measure
      : previous.measure,
    percentile: d.aggregate ? d.percentile : previous.percentile,
    metric: d.aggregate ? d.metric : previous.metric,
    order: d.order ?? previous.order,
    limit: d.group && !d.limit && previous.limit && !d.order ? null : (d.limit ?? previous.limit),
  };
  if (plan.group === null) plan.limit = null;
  if (plan.aggregate === 'VALUES' && plan.group) plan.aggregate = 'COUNT';
  if (!d.filters.length && !d.group && !d.aggregate && !d.order && !d.limit)
    refuse('I could not tell what to change in the previous question');
  return plan;
}
const isYearLike = (f: PlanFilter) => f.timePart === 'YEAR' || f.timePart === 'DATE' || f.timePart === 'YEAR_MONTH';

/** Turns a complete draft into a plan, or refuses when something it needs is missing. */
function finish(d: Draft): QueryPlan {
  const ref = (c: CatalogColumn) => ({ table: c.table, column: c.name });
  if (!d.aggregate) refuse('I could not tell what to compute (an average, a total, a count, the highest or lowest)');
  return {
    table: d.table.name,
    joins: d.joins,
    aggregate: d.aggregate!,
    measure: d.measure ? ref(d.measure) : null,
    percentile: d.percentile,
    metric: d.metric,
    group: d.group ? { column: ref(d.group.column), timePart: d.group.timePart } : null,
    filters: d.filters.sort((a, b) => a.at - b.at).map(({ at: _at, ...f }) => f),
    order: d.order ?? 'DESC',
    limit: d.limit,
  };
}

/**
 * Reads the question into a {@link Draft}. With `context` (a follow-up), the base table and its joins are the
 * previous plan's and nothing in the question is required; without it, the aggregate is determined or refused.
 */
function analyze(
  question: string,
  catalog: Catalog,
  context: { table: CatalogTable; joins: PlanJoin[] } | null,
): Draft {
  const tokens = tokenize(question);
  if (tokens.length === 0) refuse('the question has no words');
  const rels = catalog.relationships ?? [];

  // 1. Phrases. Columns and tables may overlap ("weather" is both); time words, cues and adjectives skip column
  // words; values take the rest.
  const { columnIndex, metricIndex, tableIndex } = phraseIndexes(catalog);
  const metrics = findPhrases(
    tokens,
    metricIndex,
    (t) => t.lemma,
    () => true,
  );
  const inMetric = (i: number) => metrics.some((m) => covers(m, i));
  const times = findPhrases(
    tokens,
    TIME_INDEX,
    (t) => t.lemma,
    (i) => !inMetric(i) && tokens[i]!.num === null,
  );
  const inTime = (i: number) => times.some((m) => covers(m, i));
  const columns = findPhrases(
    tokens,
    columnIndex,
    (t) => t.lemma,
    (i) => !inMetric(i),
  );
  const tables = findPhrases(
    tokens,
    tableIndex,
    (t) => t.lemma,
    () => true,
  );
  const inColumn = (i: number) => columns.some((m) => covers(m, i));
  const adjectives = findPhrases(
    tokens,
    ADJ_INDEX,
    (t) => t.word,
    (i) => !inColumn(i) && !inMetric(i),
    2,
  );
  const cues = findPhrases(
    tokens,
    CUE_INDEX,
    (t) => t.word,
    (i) => !inColumn(i) && tokens[i]!.num === null && !inMetric(i) && !adjectives.some((c) => covers(c, i)),
    3,
  );
  const inCue = (i: number) => cues.some((c) => covers(c, i));
  const inAdjective = (i: number) => adjectives.some((c) => covers(c, i));
  const inTable = (i: number) => tables.some((m) => covers(m, i));
  const months = findPhrases(
    tokens,
    MONTH_INDEX,
    (t) => t.word,
    (i) => !inColumn(i) && !inCue(i) && (tokens[i]!.word !== 'may' || tokens[i]!.raw === 'May'),
    1,
  );
  const inMonth = (i: number) => months.some((m) => covers(m, i));
  const days = findPhrases(
    tokens,
    DAY_INDEX,
    (t) => t.lemma,
    (i) => !inColumn(i) && !inCue(i) && !inMonth(i),
    1,
  );
  const quarters = findPhrases(
    tokens,
    QUARTER_INDEX,
    (t) => t.word,
    (i) => !inColumn(i) && !inCue(i),
    1,
  );
  const inDay = (i: number) => days.some((m) => covers(m, i)) || quarters.some((m) => covers(m, i));
  const values = findValues(
    tokens,
    catalog,
    (i) =>
      !inColumn(i) &&
      !inTable(i) &&
      !inCue(i) &&
      !inMetric(i) &&
      !inMonth(i) &&
      !inDay(i) &&
      !inAdjective(i) &&
      !inTime(i) &&
      tokens[i]!.num === null,
  );

  // 2. The base table.
  let table: CatalogTable;
  if (context) {
    table = context.table;
    // "And how many cars are there?" after a weather question is a new question, not a change of the old one.
    const inPlan = (t: CatalogTable) => t.name === table.name || context.joins.some((j) => j.table === t.name);
    const named = tables.filter((m) => !m.payload.some(inPlan));
    if (named.length && !named.every((m) => columns.some((c) => c.start <= m.start && c.end >= m.end)))
      refuse('the follow-up names another table');
  } else {
    const own = new Map<string, number>(catalog.tables.map((t) => [t.name, 0]));
    const add = (names: Iterable<string>, n: number) => {
      for (const name of new Set(names)) own.set(name, own.get(name)! + n);
    };
    add(
      tables.flatMap((m) => m.payload.map((t) => t.name)),
      3,
    );
    // A calendar word ("month") names the date of any dated table: it does not pick one.
    for (const m of columns)
      if (!times.some((t) => t.start === m.start && t.end === m.end))
        add(
          m.payload.map((c) => c.table),
          1,
        );
    for (const m of metrics)
      add(
        m.payload.map((x) => x.table),
        2,
      );
    // "the wettest month": the tables with a column of the adjective's quantity.
    for (const a of adjectives)
      add(
        catalog.tables
          .filter((t) =>
            t.columns.some((c) => c.kind === 'number' && a.payload.quantity.some((q) => nameWords(c).has(lemma(q)))),
          )
          .map((t) => t.name),
        1,
      );
    for (const v of values) {
      const categorical = v.payload.filter((m) => m.column.values?.complete && m.column.values.values.length <= 100);
      add(
        categorical.map((m) => m.column.table),
        1,
      );
      add(
        v.payload.filter((m) => !categorical.includes(m)).map((m) => m.column.table),
        0.5,
      );
    }
    const reach = (name: string) => [...new Set(rels.filter((r) => r.from.table === name).map((r) => r.to.table))];
    const total = (name: string) => own.get(name)! + reach(name).reduce((s, r) => s + (own.get(r) ?? 0), 0);
    const ranked = catalog.tables
      .map((t) => ({ name: t.name, total: total(t.name), own: own.get(t.name)! }))
      .sort((a, b) => b.total - a.total || b.own - a.own);
    if (!ranked.length || ranked[0]!.own === 0) refuse('no table, column or value of yours is named in the question');
    if (ranked[1] && ranked[1].total === ranked[0]!.total && ranked[1].own === ranked[0]!.own)
      refuse(`the question could be about ${ranked[0]!.name} or ${ranked[1].name}`);
    table = catalog.tables.find((t) => t.name === ranked[0]!.name)!;
  }

  // 3. Scope: the base table and the tables it references. A phrase resolves in the base table first.
  const joins: PlanJoin[] = [...(context?.joins ?? [])];
  const fks = (target: string) => rels.filter((r) => r.from.table === table.name && r.to.table === target);
  const directionHints = new Set(tokens.flatMap((t) => VALUE_DIRECTIONS[t.word] ?? VALUE_DIRECTIONS[t.lemma] ?? []));
  const adjectiveDir = adjectives[0]?.payload.dir ?? null;
  const cueDir: 'HIGH' | 'LOW' | null = cues.some((c) => ['HIGH', 'MOST', 'TOP'].includes(c.payload))
    ? 'HIGH'
    : cues.some((c) => ['LOW', 'LEAST', 'BOTTOM'].includes(c.payload))
      ? 'LOW'
      : null;
  // "the warmest temperature" picks temp_max; "the highest average temperature" ranks an average, and which
  // temperature it averages is not said (no pick, the analyst asks instead).
  const explicitAggregate = cues.some((c) => ['AVG', 'SUM', 'MEDIAN', 'PERCENTILE'].includes(c.payload));
  const direction = explicitAggregate ? null : (adjectiveDir ?? cueDir);
  const mentions: Mention[] = [];
  const tableOf = (name: string) => catalog.tables.find((t) => t.name === name)!;

  /** Joins `target` along the one foreign key the question points at; returns false when it cannot tell which. */
  function join(target: string, at: number): boolean {
    if (target === table.name || joins.some((j) => j.table === target)) return true;
    const options = fks(target);
    let pick: CatalogRelationship | undefined;
    // The foreign key's column named right before the phrase ("destination city", "origin state").
    const before = mentions.find((m) => m.end === at && m.column.table === table.name);
    if (before) pick = options.find((r) => r.from.column === before.column.name);
    if (before && pick) before.viaFk = true;
    if (!pick && options.length === 1) pick = options[0];
    if (!pick) {
      const hinted = options.filter((r) =>
        [...directionHints].some(
          (h) => r.from.column.toLowerCase().split('_').includes(h) || r.from.column.toLowerCase().startsWith(h),
        ),
      );
      if (hinted.length === 1) pick = hinted[0];
    }
    if (!pick) {
      if (options.length > 1)
        refuse(
          `I can't tell which way to reach ${target}: ${options.map((r) => `${r.from.column} → ${target}.${r.to.column}`).join(' or ')}`,
        );
      return false;
    }
    joins.push({ column: pick.from.column, table: target, references: pick.to.column });
    return true;
  }
  const inScope = (c: CatalogColumn) =>
    c.table === table.name || joins.some((j) => j.table === c.table) || fks(c.table).length > 0;

  for (const m of columns) {
    const phrase = phraseOf(tokens, m);
    let here = m.payload.filter((c) => c.table === table.name);
    if (here.length === 0) here = m.payload.filter((c) => c.table !== table.name && inScope(c));
    // "temperature" names temp_max and temp_min: a direction ("warmest", "highest") picks one.
    if (here.length > 1) {
      const tables = new Set(here.map((c) => c.table));
      const picked = tables.size === 1 ? byDirection(here, direction) : null;
      if (!picked) {
        if (tables.size > 1 && here.some((c) => c.table === table.name))
          here = here.filter((c) => c.table === table.name);
        else refuse(`"${phrase}" could be ${here.map((c) => c.name).join(' or ')}`);
      } else here = [picked];
      if (here.length > 1) refuse(`"${phrase}" could be ${here.map((c) => c.name).join(' or ')}`);
    }
    // "month" that is a column of another table only: a calendar part of this one (below).
    if (here.length === 0 && times.some((t) => t.start === m.start && t.end === m.end)) continue;
    if (here.length === 1) {
      const col = here[0]!;
      if (col.table !== table.name && !join(col.table, m.start)) refuse(`"${phrase}" is not a column of ${table.name}`);
      // A calendar word that is also a numeric column's name (gapminder's `year`) is that column as a time part.
      const t = times.find((x) => x.start === m.start && x.end === m.end);
      // A date column named by a calendar word (cars' `year`, a date) is that part of it.
      const part =
        t && col.kind === 'number' && (t.payload === 'YEAR' || t.payload === 'MONTH')
          ? t.payload
          : t && col.kind === 'temporal' && t.payload !== 'DATE'
            ? t.payload
            : null;
      mentions.push({ start: m.start, end: m.end, column: col, timePart: part, used: false, viaFk: false });
    } else if (!tables.some((t) => t.start <= m.start && t.end >= m.end)) {
      refuse(`"${phrase}" is not a column of ${table.name}`);
    }
  }
  // Calendar words ("month", "year", "weekday") that are not a column: a part of the base table's date column.
  for (const t of times) {
    if (mentions.some((c) => c.start <= t.start && c.end >= t.end)) continue;
    const col = timeColumn(table, t.payload);
    if (!col) {
      if (t.payload === 'DATE') continue; // "days" in "how many days" counts rows
      refuse(`${table.name} has no date column for "${phraseOf(tokens, t)}"`);
    }
    mentions.push({ start: t.start, end: t.end, column: col!, timePart: t.payload, used: false, viaFk: false });
  }
  mentions.sort((a, b) => a.start - b.start);
  const mentionAt = (i: number) => mentions.find((m) => m.start === i);

  // 4. Values: each becomes `column = value`; a value found in several columns needs a column word or a direction.
  const filters: Filter[] = [];
  // "no rain", "not from SEA", "excluding Adelie": a negation up to two small words before the value.
  const negations = cues.filter((c) => c.payload === 'NONE' || c.payload === 'NOT');
  const negatedBy = (i: number) =>
    negations.find((c) => c.end <= i && i - c.end <= 2 && tokens.slice(c.end, i).every((t) => STOPWORDS.has(t.word)));
  const usedNegations = new Set<number>();
  const negatedAt = (i: number) => {
    const c = negatedBy(i);
    if (c) usedNegations.add(c.start);
    return !!c;
  };
  for (const v of values) {
    let here = v.payload.filter((m) => m.column.table === table.name);
    if (here.length === 0) here = v.payload.filter((m) => inScope(m.column));
    const phrase = phraseOf(tokens, v);
    if (here.length === 0) refuse(`"${phrase}" is not a value in ${table.name}`);
    const adjacent = mentions.filter(
      (m) => (m.end === v.start || m.start === v.end) && here.some((h) => h.column === m.column),
    );
    const direction = VALUE_DIRECTIONS[tokens[v.start - 1]?.word ?? ''] ?? [];
    const directed = here.filter((h) => direction.some((d) => h.column.name.toLowerCase().includes(d)));
    const pick =
      here.length === 1
        ? here[0]
        : adjacent.length === 1
          ? here.find((h) => h.column === adjacent[0]!.column)
          : directed.length === 1
            ? directed[0]
            : undefined;
    if (!pick) refuse(`"${phrase}" is in several columns: ${here.map((h) => h.column.name).join(', ')}`);
    if (pick!.column.table !== table.name && !join(pick!.column.table, v.start))
      refuse(`"${phrase}" is not a value in ${table.name}`);
    for (const m of adjacent) if (m.column === pick!.column) m.used = true;
    filters.push({
      column: { table: pick!.column.table, column: pick!.column.name },
      timePart: null,
      op: negatedAt(v.start) ? '!=' : '=',
      values: [pick!.value],
      at: v.start,
    });
  }

  // 5. Months ("in January", "March 2014"), days of the week ("on Mondays", "weekends"), quarters ("in Q1").
  const numbersUsed = new Set<number>();
  for (const d of days) {
    const col = timeColumn(table, 'DAY_OF_WEEK');
    if (!col || col.kind !== 'temporal') refuse(`${table.name} has no date column for "${phraseOf(tokens, d)}"`);
    filters.push({
      column: { table: table.name, column: col!.name },
      timePart: 'DAY_OF_WEEK',
      op: d.payload.length === 1 ? '=' : 'IN',
      values: d.payload,
      at: d.start,
    });
  }
  for (const q of quarters) {
    const col = timeColumn(table, 'QUARTER');
    if (!col || col.kind !== 'temporal') refuse(`${table.name} has no date column for "${phraseOf(tokens, q)}"`);
    filters.push({
      column: { table: table.name, column: col!.name },
      timePart: 'QUARTER',
      op: '=',
      values: [q.payload],
      at: q.start,
    });
  }
  for (const m of months) {
    const col = timeColumn(table, 'MONTH');
    if (!col) refuse(`${table.name} has no date column for "${phraseOf(tokens, m)}"`);
    filters.push({
      column: { table: table.name, column: col!.name },
      timePart: 'MONTH',
      op: '=',
      values: [m.payload],
      at: m.start,
    });
  }

  // 6. Numbers: top-N, percentiles, ranges, "last N years", comparisons, years, "<n> <column>".
  let top: { n: number; order: 'DESC' | 'ASC'; at: number } | null = null;
  let percentile: number | null = null;
  const yearFilter = (op: PlanFilter['op'], vals: number[], at: number) => {
    const col = timeColumn(table, 'YEAR');
    if (!col) refuse(`${table.name} has no date column for the year ${vals.join(' to ')}`);
    filters.push({ column: { table: table.name, column: col!.name }, timePart: 'YEAR', op, values: vals, at });
  };
  /** "the last N years/months/days of data": back from the table's latest date (the profile's maximum). */
  const lastFilter = (n: number, unitWord: Found<TimePart>, at: number) => {
    const col = timeColumn(table, unitWord.payload);
    const max = col?.max ?? null;
    if (!col || !max) refuse(`I don't know the latest date of ${table.name}`);
    if (unitWord.payload === 'DAY_OF_WEEK') refuse(`I can't count back in days of the week`);
    const m = mentions.find((x) => x.start === unitWord.start);
    if (m) m.used = true;
    if (col!.kind === 'number' || unitWord.payload === 'YEAR') {
      const y = Number(String(max).slice(0, 4));
      if (n === 1) yearFilter('=', [y], at);
      else yearFilter('BETWEEN', [y - n + 1, y], at);
      return;
    }
    const end = new Date(String(max).slice(0, 10) + 'T00:00:00Z');
    const start = new Date(end);
    if (unitWord.payload === 'MONTH' || unitWord.payload === 'YEAR_MONTH')
      start.setUTCMonth(start.getUTCMonth() - n + 1, 1);
    else if (unitWord.payload === 'QUARTER') start.setUTCMonth(start.getUTCMonth() - 3 * n + 1, 1);
    else start.setUTCDate(start.getUTCDate() - n + 1);
    filters.push({
      column: { table: table.name, column: col!.name },
      timePart: 'DATE',
      op: 'BETWEEN',
      values: [start.toISOString().slice(0, 10), end.toISOString().slice(0, 10)],
      at,
    });
  };
  // "in the last year", "over the past month": one of them.
  for (const c of cues) {
    if (c.payload !== 'LAST') continue;
    const unitWord = times.find((x) => x.start === c.end);
    if (unitWord) lastFilter(1, unitWord, c.start);
  }
  for (const [i, t] of tokens.entries()) {
    if (t.num === null || numbersUsed.has(i)) continue;
    const cue = cues.find((c) => c.end === i);
    const unit = UNITS[tokens[i + 1]?.lemma ?? ''] ? tokens[i + 1]! : null;
    let k = i + 1;
    while (
      k < tokens.length &&
      k <= i + 3 &&
      !mentionAt(k) &&
      (['of', 'the', 'a', 'an', 'in'].includes(tokens[k]!.word) || UNITS[tokens[k]!.lemma])
    )
      k++;
    const next = mentionAt(k);
    const ordinalSuffix = /^(th|st|nd|rd)$/.test(tokens[i + 1]?.word ?? '');
    const pctCue = cues.find((c) => c.payload === 'PERCENTILE' && c.start === i + (ordinalSuffix ? 2 : 1));
    if (pctCue) {
      if (!(t.num > 0 && t.num < 100)) refuse('a percentile is between 0 and 100');
      percentile = t.num / 100;
      if (ordinalSuffix) numbersUsed.add(i + 1);
    } else if (cue && cue.payload === 'WHICH' && Number.isInteger(t.num) && t.num >= 1 && t.num <= 100) {
      // "which 3 countries": the top three, in the order the question asks.
      top = { n: t.num, order: 'DESC', at: cue.start };
    } else if (cue && (cue.payload === 'TOP' || cue.payload === 'BOTTOM')) {
      if (!Number.isInteger(t.num) || t.num < 1 || t.num > 100) refuse('top-N takes a whole number from 1 to 100');
      top = { n: t.num, order: cue.payload === 'TOP' ? 'DESC' : 'ASC', at: cue.start };
    } else if (cue && cue.payload === 'LAST') {
      const unitWord = times.find((x) => x.start === i + 1);
      if (!unitWord || !Number.isInteger(t.num) || t.num < 1 || t.num > 1000)
        refuse(`I can't tell what "${phraseOf(tokens, cue)} ${t.raw}" means`);
      lastFilter(t.num, unitWord!, cue.start);
    } else if (
      isYear(t.num) &&
      ((cue && cue.payload === 'BETWEEN') || tokens[i - 1]?.word === 'from') &&
      ['and', 'to', 'through', 'until'].includes(tokens[i + 1]?.word ?? '') &&
      tokens[i + 2]?.num != null &&
      isYear(tokens[i + 2]!.num!)
    ) {
      const a = t.num;
      const b = tokens[i + 2]!.num!;
      yearFilter('BETWEEN', [Math.min(a, b), Math.max(a, b)], i);
      numbersUsed.add(i + 2);
      numbersUsed.add(i + 1);
    } else if (cue && COMPARISONS[cue.payload]) {
      const before = mentions.filter((m) => m.end <= cue.start && m.column.kind === 'number' && !m.timePart).at(-1);
      const dim = unit ? UNITS[unit.lemma]!.dim : null;
      const fits = (m: Mention | undefined) =>
        m && m.column.kind === 'number' && !m.timePart && (!dim || unitOf(m.column)?.dim === dim) ? m : undefined;
      // The column after the number, else the one before the comparison; with a unit, only a column of its
      // dimension ("the delay of flights longer than 1000 miles" compares the distance, not the delay).
      let target = fits(next) ?? fits(before) ?? (dim ? undefined : (fits(next) ?? before));
      // "weigh more than 5 kg": the one column of the table measured in that unit's dimension.
      if (!target && dim) {
        const same = table.columns.filter((c) => c.kind === 'number' && unitOf(c)?.dim === dim);
        if (same.length === 1) {
          target = mentions.find((m) => m.column === same[0]) ?? {
            start: i,
            end: i,
            column: same[0]!,
            timePart: null,
            used: false,
            viaFk: false,
          };
          if (!mentions.includes(target)) mentions.push(target);
        } else if (fits(next) === undefined && before) target = before; // the unit error below names it
      }
      if (!target) refuse(`I can't tell what "${phraseOf(tokens, cue)} ${t.raw}" compares`);
      const value = convert(t.num, unit?.lemma ?? null, target!.column);
      if (value === null)
        refuse(`I don't know the unit of ${target!.column.name} to compare with ${t.raw} ${unit!.raw}`);
      target!.used = true;
      if (unit) numbersUsed.add(i + 1);
      filters.push({
        column: { table: target!.column.table, column: target!.column.name },
        timePart: null,
        op: COMPARISONS[cue.payload]!,
        values: [value!],
        at: cue.start,
      });
    } else if (
      isYear(t.num) &&
      (YEAR_WORDS[tokens[i - 1]?.word ?? ''] || inMonth(i - 1) || !(next && next.column.kind === 'number'))
    ) {
      yearFilter(YEAR_WORDS[tokens[i - 1]?.word ?? ''] ?? '=', [t.num], i);
      if (YEAR_WORDS[tokens[i - 1]?.word ?? '']) numbersUsed.add(i - 1); // "since", "before": read with the year
    } else if (
      !(next && next.column.kind === 'number' && next.start === i + 1) &&
      mentions.some((m) => m.end === i && m.column.kind === 'number' && !m.timePart && !m.used) &&
      !isYear(t.num)
    ) {
      // "cluster 3": the number right after a numeric column is its value.
      const m = mentions.find((x) => x.end === i && x.column.kind === 'number' && !x.timePart)!;
      m.used = true;
      filters.push({
        column: { table: m.column.table, column: m.column.name },
        timePart: null,
        op: '=',
        values: [t.num],
        at: i,
      });
    } else if (next && next.column.kind === 'number' && !next.timePart && next.start === i + 1) {
      next.used = true;
      filters.push({
        column: { table: next.column.table, column: next.column.name },
        timePart: null,
        op: '=',
        values: [t.num],
        at: i,
      });
    } else refuse(`I don't know what the number ${t.raw} refers to`);
    numbersUsed.add(i);
  }
  // A comparison or range that no number completed ("more than an hour") is not read: refuse rather than drop it.
  const beforeLast = (c: Span) =>
    cues.some(
      (l) => l.payload === 'LAST' && (l.start === c.end || (l.start === c.end + 1 && tokens[c.end]!.word === 'the')),
    );
  for (const c of cues)
    if (
      (COMPARISONS[c.payload] || c.payload === 'BETWEEN') &&
      !beforeLast(c) && // "over the past 3 months": a time span, read by LAST
      !filters.some((f) => f.at === c.start || f.at === c.end)
    )
      if (!(c.payload === 'BETWEEN' && filters.some((f) => f.op === 'BETWEEN')))
        refuse(`I can't read "${phraseOf(tokens, c)}" here: give a number after it`);
  for (const c of cues.filter((x) => x.payload === 'NOT'))
    if (!usedNegations.has(c.start)) refuse(`I can't tell what "${phraseOf(tokens, c)}" excludes`);
  // "no precipitation": the measure is 0.
  for (const c of cues.filter((x) => x.payload === 'NONE' && !usedNegations.has(x.start))) {
    const m = mentionAt(c.end);
    if (m && m.column.kind === 'number' && !m.timePart) {
      m.used = true;
      filters.push({
        column: { table: m.column.table, column: m.column.name },
        timePart: null,
        op: '=',
        values: [0],
        at: c.start,
      });
    } else refuse(`I can't tell what "${phraseOf(tokens, c)}" negates`);
  }

  const equal = filters.filter((f) => f.op === '=').map((f) => `${f.column.table}.${f.column.column}/${f.timePart}`);
  if (new Set(equal).size < equal.length) refuse('I can match one value per column (an "or" is not supported yet)');

  // 7. The group: the column, calendar part or table noun right after per/by/each/which/what/top/most common.
  const has = (...c: Cue[]) => cues.some((x) => c.includes(x.payload));
  type Grouped = { column: CatalogColumn; timePart: TimePart | null; mention: Mention | null; rowLevel: boolean };
  const box: { g: Grouped | null } = { g: null };
  const grouped = new Set<number>(); // the ends of the cues that set the group
  const setGroup = (g: Grouped, by?: { end: number }) => {
    if (box.g && (box.g.column !== g.column || box.g.timePart !== g.timePart))
      refuse(`I can group by one column only (${box.g.column.name}, ${g.column.name})`);
    box.g = g;
    if (by) grouped.add(by.end);
  };
  // "the coldest day", "the cheapest stock": a superlative before a calendar word or the table's noun asks which.
  const groupStarts = [
    ...cues.filter((c) => GROUP_CUES.includes(c.payload)).map((c) => ({ payload: c.payload, end: c.end })),
    ...adjectives.map((a) => ({ payload: 'WHICH' as Cue, end: a.end, adjective: true })),
  ];
  for (const c of groupStarts) {
    let j = c.end;
    while (
      j < tokens.length &&
      (['the', 'a', 'an', 'each', 'every', 'of'].includes(tokens[j]!.word) || numbersUsed.has(j))
    )
      j++;
    // "which penguin species": the table's noun before the column.
    if (!mentionAt(j) && tables.some((t) => t.start === j) && mentionAt(tables.find((t) => t.start === j)!.end))
      j = tables.find((t) => t.start === j)!.end;
    let m = mentionAt(j);
    // "destination city": the foreign key leads to the grouped column of the referenced table.
    if (m && m.viaFk) {
      const after = mentionAt(m.end);
      if (after && after.column.table !== table.name) {
        m.used = true;
        m = after;
      }
    }
    // After a superlative, only a calendar word, a date or a named thing groups ("the heaviest penguin species").
    if ('adjective' in c && m && !m.timePart && m.column.kind === 'number') continue;
    if (m) {
      if (c.payload !== 'GROUP' && m.column.kind === 'number' && !m.timePart) continue;
      if (m.timePart === null && m.column.kind === 'temporal' && c.payload !== 'GROUP') {
        setGroup({ column: m.column, timePart: 'DATE', mention: m, rowLevel: false }, c);
        continue;
      }
      setGroup(
        {
          column: m.column,
          timePart: m.timePart,
          mention: m,
          rowLevel: m.column.semanticType === 'IDENTIFIER',
        },
        c,
      );
      continue;
    }
    // "which car", "which stock": the table's label column.
    const named = tables.find((t) => t.start === j && t.payload.some((x) => x.name === table.name));
    if (named && (c.payload === 'WHICH' || c.payload === 'TOP' || c.payload === 'BOTTOM')) {
      const label = labelColumn(table);
      if (!label && 'adjective' in c) continue; // "the longest flight": its distance, when no column names flights
      if (!label) refuse(`I don't know which column names the rows of ${table.name}`);
      setGroup({ column: label!, timePart: null, mention: null, rowLevel: label!.semanticType === 'IDENTIFIER' }, c);
    }
  }
  // "monthly", "yearly", "daily" alone group by that part.
  for (const t of times) {
    if (!/ly$/.test(tokens[t.start]!.word)) continue;
    const m = mentions.find((x) => x.start === t.start);
    if (m) setGroup({ column: m.column, timePart: m.timePart, mention: m, rowLevel: false });
  }
  // "when was the price highest": which day (the table's date), ranked by the question's direction.
  const when = cues.find((c) => c.payload === 'WHEN');
  if (when && !box.g) {
    const col = timeColumn(table, 'DATE');
    if (!col || col.kind !== 'temporal') refuse(`${table.name} has no date to say when`);
    setGroup({ column: col!, timePart: 'DATE', mention: null, rowLevel: false }, when);
  }
  const g = box.g;
  if (g?.mention) g.mention.used = true;
  for (const m of mentions) if (g && m.column === g.column && m.timePart === g.timePart) m.used = true;
  // "by hour", "per minute": a grouping word that grouped nothing is not dropped silently. ("delayed by more than
  // 60 minutes" is a comparison, not a group.)
  for (const c of cues) {
    if (c.payload !== 'GROUP' || grouped.has(c.end)) continue;
    let j = c.end;
    while (j < tokens.length && ['the', 'a', 'an'].includes(tokens[j]!.word)) j++;
    const next = tokens[j];
    // "by more than 60 minutes" (a comparison), "top 3 states by number of airports" / "by average delay" (what ranks).
    if (!next || next.num !== null || cues.some((x) => x.start === j && !['GROUP', 'WHICH'].includes(x.payload)))
      continue;
    if (mentions.some((m) => m.start === j && m.column.kind === 'number' && !m.timePart)) continue;
    if (box.g && (box.g.mention?.start === j || tables.some((t) => t.start === j))) continue;
    refuse(`I can't group by "${next.raw}" here`);
  }
  // Calendar words that do not group are explained by a filter of that part ("in the year 2012", "the month of
  // March"), by "the last N years", or count rows ("how many days"); any other ("by weather and month") is not read.
  for (const m of mentions) {
    if (!m.timePart || m.used || m.timePart === 'DATE') continue;
    const filtered = filters.some(
      (f) =>
        f.column.column === m.column.name &&
        (f.timePart === m.timePart || (f.timePart === 'DATE' && f.op === 'BETWEEN')),
    );
    if (!filtered) refuse(`I can't tell what "${phraseOf(tokens, m)}" means here`);
  }
  for (const m of mentions) if (m.timePart) m.used = true;
  for (const m of mentions) if (m.viaFk) m.used = true;

  if (top && cues.some((c) => c.start === top!.at && c.payload === 'WHICH'))
    top = { ...top, order: has('LOW', 'LEAST', 'LEAST_COMMON') || adjectiveDir === 'LOW' ? 'ASC' : 'DESC' };
  const topCue = cues.find((c) => c.payload === 'TOP' || c.payload === 'BOTTOM');
  if (topCue && !top) {
    const end = g?.mention?.end;
    const plural = end !== undefined && tokens[end - 1]!.word !== tokens[end - 1]!.lemma;
    top = { n: plural ? 10 : 1, order: topCue.payload === 'TOP' ? 'DESC' : 'ASC', at: topCue.start };
  }

  // 8. The aggregate.
  let aggregate: QueryPlan['aggregate'] | null = null;
  let measure: CatalogColumn | null = null;
  let metric: string | null = null;
  let order: 'DESC' | 'ASC' | null = null;
  let limit: number | null = null;
  const high = has('HIGH', 'MOST', 'MOST_COMMON') || adjectiveDir === 'HIGH';
  const low = has('LOW', 'LEAST', 'LEAST_COMMON') || adjectiveDir === 'LOW';
  if (high && low) refuse('the question asks for both highest and lowest');
  if (metrics.length) {
    const ms = [...new Set(metrics.flatMap((m) => m.payload.filter((x) => x.table === table.name)))];
    if (ms.length !== 1) refuse(`I can compute one metric at a time`);
    const mt = ms[0]!;
    metric = mt.name;
    aggregate = mt.aggregate;
    measure = mt.column ? (table.columns.find((c) => c.name === mt.column) ?? null) : null;
  }
  if (has('DISTINCT')) {
    const c = cues.find((x) => x.payload === 'DISTINCT')!;
    let j = c.end;
    while (j < tokens.length && (STOPWORDS.has(tokens[j]!.word) || tables.some((t) => t.start === j)) && !mentionAt(j))
      j++;
    const m = mentionAt(j);
    if (!has('COUNT') || !m) refuse('I can only count distinct values of one column');
    m!.used = true;
    aggregate = 'COUNT_DISTINCT';
    measure = m!.column;
  } else if (!metric) {
    const measures = mentions.filter((m) => !m.used && m.column.kind === 'number' && !m.timePart);
    const countCue = cues.find((c) => c.payload === 'COUNT');
    const unusedBeforeCount = mentions.filter((m) => !m.used && !(m.column.kind === 'number' && !m.timePart));
    // The column counted by "how many <names>" is used by the count (below).
    const unused = unusedBeforeCount.filter(
      (m) => !(countCue && m.start === countCue.end && m.column.kind === 'string' && !box.g),
    );
    if (unused.length) refuse(`I don't know what to do with ${unused.map((m) => m.column.name).join(', ')}`);
    if (new Set(measures.map((m) => m.column)).size > 1)
      refuse(`I can compute one measure at a time (${measures.map((m) => m.column.name).join(', ')})`);
    measure = measures[0]?.column ?? null;
    for (const m of measures) m.used = true;
    // "the warmest day": the adjective's quantity names the measure.
    if (!measure && adjectives.length) {
      const adj = adjectives[0]!.payload;
      const scope = [table, ...joins.map((j) => tableOf(j.table))];
      const candidates = scope.flatMap((t) =>
        t.columns.filter((c) => c.kind === 'number' && adj.quantity.some((q) => nameWords(c).has(lemma(q)))),
      );
      measure = candidates.length === 1 ? candidates[0]! : byDirection(candidates, adj.dir);
      if (!measure) refuse(`I can't tell which column "${phraseOf(tokens, adjectives[0]!)}" is about`);
      if (measure!.table !== table.name) join(measure!.table, adjectives[0]!.start);
    }
    const explicit: QueryPlan['aggregate'][] = (['AVG', 'SUM', 'COUNT', 'MEDIAN'] as const).filter((c) => has(c));
    if (percentile !== null) explicit.push('PERCENTILE');
    if (explicit.length > 1) refuse(`the question asks for several aggregates (${explicit.join(', ')})`);
    const word = explicit[0];
    if (g) {
      if (has('MOST_COMMON', 'LEAST_COMMON') || word === 'COUNT') aggregate = 'COUNT';
      else if (word) aggregate = word;
      else if (adjectives.length && g.timePart && g.timePart !== 'DATE')
        // "the wettest month": the month's total of an amount (mm of rain), the month's average of a level (°C).
        aggregate = measure && unitOf(measure)?.dim === 'length' ? 'SUM' : 'AVG';
      else if (has('HIGH', 'LOW') || adjectives.length) aggregate = high ? 'MAX' : 'MIN';
      else if (has('MOST', 'LEAST'))
        aggregate = measure ? (g.rowLevel || g.timePart === 'DATE' ? (high ? 'MAX' : 'MIN') : 'SUM') : 'COUNT';
      else if (top && !measure) aggregate = 'COUNT';
      else if (top) aggregate = top.order === 'DESC' ? 'MAX' : 'MIN';
      else if (!context) refuse(`I could not tell what to compute per ${g.column.name}`);
      order = low || top?.order === 'ASC' ? 'ASC' : high || top ? 'DESC' : null;
      limit = top ? top.n : high || low ? 1 : null;
    } else {
      if (top) refuse('top-N needs something to rank, such as "top 3 states by number of airports"');
      if (word === 'COUNT') aggregate = 'COUNT';
      else if (word && (high || low)) refuse('"highest/lowest" together with an average or total needs a group');
      else if (word) aggregate = word;
      else if (high) aggregate = 'MAX';
      else if (low) aggregate = 'MIN';
      else if (measure && filters.length) aggregate = 'VALUES';
      else if (!context)
        refuse('I could not tell what to compute (an average, a total, a count, the highest or lowest)');
    }
    // "how many countries ...": a column of names or categories right after "how many" counts its distinct values.
    const counted =
      countCue && mentions.find((m) => m.start === countCue.end && !m.timePart && m.column.kind === 'string');
    if (counted && unusedBeforeCount.includes(counted) && aggregate === 'COUNT' && !g) {
      aggregate = 'COUNT_DISTINCT';
      measure = counted.column;
    }
    // "how many unemployed": a numeric column named right after "how many" is a quantity to add up.

    if (
      aggregate === 'COUNT' &&
      measure &&
      countCue &&
      mentions.some((m) => m.column === measure && m.start === countCue.end)
    )
      aggregate = 'SUM';
    if (aggregate === 'COUNT' && measure) refuse(`I can't tell how ${measure.name} should limit the count`);
    // "average distance of flights longer than 1000 miles": the compared column is the measure too.
    const compared = [
      ...new Set(
        filters.filter((f) => f.op !== '=' && f.timePart === null).map((f) => `${f.column.table}.${f.column.column}`),
      ),
    ];
    if (aggregate && aggregate !== 'COUNT' && !measure && compared.length === 1) {
      const [t, c] = compared[0]!.split('.');
      measure = catalog.tables.find((x) => x.name === t)!.columns.find((x) => x.name === c)!;
      if (measure.kind !== 'number') measure = null;
    }
    // A follow-up ("and the lowest?") keeps the previous plan's measure.
    if (aggregate && aggregate !== 'COUNT' && !measure && !context)
      refuse('the question does not name a numeric column to compute it on');
  }

  // "the longest delay in hours": the answer's unit must be the column's; converting results is not supported yet.
  for (const [i, t] of tokens.entries()) {
    const asked = UNITS[t.lemma];
    if (!asked || numbersUsed.has(i) || tokens[i - 1]?.word !== 'in' || tokens[i - 2]?.num != null) continue;
    const m = measure;
    if (!m) continue;
    const stored = unitOf(m);
    if (!stored) refuse(`I don't know the unit of ${m.name}, so I can't give it in ${t.raw}`);
    if (stored!.dim !== asked.dim) refuse(`${m.name} is not measured in ${t.raw}`);
    if (stored!.factor !== asked.factor)
      refuse(`${m.name} is stored in ${m.unit ?? 'another unit'}; I can't convert it to ${t.raw} yet`);
  }

  // 9. Every word must be explained.
  for (const [i, t] of tokens.entries()) {
    const explained =
      STOPWORDS.has(t.word) ||
      numbersUsed.has(i) ||
      inColumn(i) ||
      inTable(i) ||
      inCue(i) ||
      inMetric(i) ||
      inMonth(i) ||
      inDay(i) ||
      inTime(i) ||
      inAdjective(i) ||
      values.some((v) => covers(v, i)) ||
      mentions.some((m) => covers(m, i));
    if (!explained) refuse(`I don't know what "${t.raw}" refers to`);
  }

  return {
    table,
    joins,
    filters,
    group: g ? { column: g.column, timePart: g.timePart } : null,
    aggregate,
    measure,
    percentile: aggregate === 'PERCENTILE' ? percentile : null,
    metric,
    order,
    limit,
  };
}
