import { columnTerms, normalizeValue, tableTerms, valueIndex } from './catalog.ts';
import {
  COMPARISONS,
  CUES,
  NUMBER_WORDS,
  STOPWORDS,
  COLUMN_UNITS,
  TIME_BUCKETS,
  UNITS,
  VALUE_DIRECTIONS,
  YEAR_WORDS,
  lemma,
  valueVariants,
  type Cue,
} from './lexicon.ts';
import type { Abstain, Aggregate, Catalog, CatalogColumn, CatalogTable, Filter, Plan } from './types.ts';

/**
 * Question → {@link Plan}, deterministically, or {@link Abstain} when any part of the question cannot be placed.
 *
 * Steps: tokenize; find column, table, grammar-cue and value phrases (longest first, from the catalog and
 * lexicon.ts); pick the table with the highest score (named: 3, each column named: 1, each value found: 1; a tie
 * abstains); resolve every phrase inside that table; read numbers (top-N, comparisons, years, "8 cylinders");
 * find the group column and the aggregate. Every word must be explained by one of these or be a stopword, and
 * every column named must be used, otherwise the analyst abstains instead of guessing. No I/O.
 */

type Token = { raw: string; word: string; lemma: string; num: number | null };
type Span = { start: number; end: number };
type Found<P> = Span & { payload: P };
/** A column phrase resolved in the chosen table. `year`: the phrase means the calendar year of a date column. */
type Mention = Span & { column: CatalogColumn; year: boolean; used: boolean };

const abstain = (reason: string): Abstain => ({ abstain: true, reason });

/** `n` in `unit` expressed in the unit of `column` (see UNITS, COLUMN_UNITS); `n` when no unit; null when unknown. */
function convert(n: number, unit: string | null, column: CatalogColumn): number | null {
  if (!unit) return n;
  const suffix = column.name.toLowerCase().split('_').at(-1)!;
  const columnUnit = UNITS[COLUMN_UNITS[column.name.toLowerCase()] ?? suffix];
  const given = UNITS[unit]!;
  if (!columnUnit || columnUnit.dim !== given.dim) return null;
  return Number(((n * given.factor) / columnUnit.factor).toPrecision(12));
}
const isYear = (n: number) => Number.isInteger(n) && n >= 1000 && n <= 2999;

/** Splits a question into words and numbers ("1,000" → 1000, "-5" → -5, "three" after top/bottom → 3). */
export function tokenize(question: string): Token[] {
  const re =
    /(?<![\p{L}\p{N}_])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\p{L}\p{N}_])-?\d+(?:\.\d+)?|[\p{L}_][\p{L}\p{N}_'-]*/gu;
  const tokens: Token[] = [];
  for (const [raw] of question.matchAll(re)) {
    const word = raw.toLowerCase().replace(/'s$|'$/, '');
    const prev = tokens.at(-1)?.word;
    const num = /^-?[\d,.]+$/.test(raw)
      ? Number(raw.replace(/,/g, ''))
      : (prev === 'top' || prev === 'bottom') && word in NUMBER_WORDS
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
const covers = (s: Span, i: number) => i >= s.start && i < s.end;
const phraseOf = (tokens: Token[], s: Span) =>
  tokens
    .slice(s.start, s.end)
    .map((t) => t.raw)
    .join(' ');

/** Values of the catalog named in the question, on tokens no other phrase explains. */
function findValues(tokens: Token[], catalog: Catalog, free: (i: number) => boolean) {
  const index = valueIndex(catalog);
  const found: Found<{ column: CatalogColumn; value: string }[]>[] = [];
  const edge = (i: number) => !STOPWORDS.has(tokens[i]!.word);
  for (let i = 0; i < tokens.length;) {
    let hit: (typeof found)[number] | null = null;
    for (let n = Math.min(5, tokens.length - i); n >= 1 && !hit; n--) {
      const span = tokens.slice(i, i + n);
      if (!span.every((_, k) => free(i + k)) || !edge(i) || !edge(i + n - 1)) continue;
      // Two-letter codes (AK, TX) only when written in capitals, so that ordinary words do not match.
      if (n === 1 && span[0]!.word.length <= 2 && span[0]!.raw !== span[0]!.raw.toUpperCase()) continue;
      // Exact matches, then other forms ("rainy" → rain) in columns without an exact match.
      const matches = [...(index.get(normalizeValue(span.map((t) => t.raw).join(' '))) ?? [])];
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

/** The column a year filter or "by year" applies to: a date column (preferably `date`), else an integer `year`. */
function yearColumn(table: CatalogTable): { column: CatalogColumn; year: boolean } | null {
  const temporal = table.columns.filter((c) => c.kind === 'temporal');
  const dated = temporal.find((c) => c.name.toLowerCase() === 'date') ?? temporal[0];
  if (dated) return { column: dated, year: true };
  const year = table.columns.find((c) => c.kind === 'number' && c.name.toLowerCase() === 'year');
  return year ? { column: year, year: false } : null;
}

/** Plans `question` over `catalog`; see the module comment. Pure. */
export function planQuestion(question: string, catalog: Catalog): Plan | Abstain {
  const tokens = tokenize(question);
  if (tokens.length === 0) return abstain('the question has no words');

  // 1. Phrases. Columns and tables may overlap ("weather" is both); cues skip column words; values take the rest.
  const columnIndex = group(
    catalog.tables.flatMap((t) =>
      t.columns.flatMap((c) => columnTerms(c).map((p) => [p, c] as [string, CatalogColumn])),
    ),
  );
  const tableIndex = group(catalog.tables.flatMap((t) => tableTerms(t).map((p) => [p, t] as [string, CatalogTable])));
  const columns = findPhrases(
    tokens,
    columnIndex,
    (t) => t.lemma,
    () => true,
  );
  const tables = findPhrases(
    tokens,
    tableIndex,
    (t) => t.lemma,
    () => true,
  );
  const inColumn = (i: number) => columns.some((m) => covers(m, i));
  const cues = findPhrases(
    tokens,
    CUE_INDEX,
    (t) => t.word,
    (i) => !inColumn(i) && tokens[i]!.num === null,
    3,
  );
  const inCue = (i: number) => cues.some((c) => covers(c, i));
  const inTable = (i: number) => tables.some((m) => covers(m, i));
  const values = findValues(
    tokens,
    catalog,
    (i) => !inColumn(i) && !inTable(i) && !inCue(i) && tokens[i]!.num === null,
  );

  // 2. The table: named 3, each column phrase 1 ("year" 0: any dated table has one), each value 1 (0.5 in a column of
  // many values, such as names, where ordinary words match by chance). A tie is ambiguous.
  const score = new Map<string, number>(catalog.tables.map((t) => [t.name, 0]));
  const add = (names: Iterable<string>, n: number) => {
    for (const name of new Set(names)) score.set(name, score.get(name)! + n);
  };
  add(
    tables.flatMap((m) => m.payload.map((t) => t.name)),
    3,
  );
  for (const m of columns)
    if (!TIME_BUCKETS.has(tokens[m.start]!.lemma))
      add(
        m.payload.map((c) => c.table),
        1,
      );
  for (const v of values) {
    const categorical = v.payload.filter((m) => m.column.values!.complete && m.column.values!.values.length <= 100);
    add(
      categorical.map((m) => m.column.table),
      1,
    );
    add(
      v.payload.filter((m) => !categorical.includes(m)).map((m) => m.column.table),
      0.5,
    );
  }
  const ranked = [...score.entries()].sort((a, b) => b[1] - a[1]);
  if (!ranked.length || ranked[0]![1] === 0)
    return abstain('no table, column or value of yours is named in the question');
  if (ranked[1] && ranked[1][1] === ranked[0]![1])
    return abstain(`the question could be about ${ranked[0]![0]} or ${ranked[1][0]}`);
  const table = catalog.tables.find((t) => t.name === ranked[0]![0])!;

  // 3. Column phrases inside that table. A phrase that is only another table's column makes the analyst abstain.
  const mentions: Mention[] = [];
  for (const m of columns) {
    const here = m.payload.filter((c) => c.table === table.name);
    const phrase = phraseOf(tokens, m);
    if (here.length > 1) return abstain(`"${phrase}" could be ${here.map((c) => c.name).join(' or ')}`);
    if (here.length === 1) {
      const col = here[0]!;
      const year = col.kind === 'temporal' && TIME_BUCKETS.has(tokens[m.start]!.lemma) && m.end - m.start === 1;
      mentions.push({ start: m.start, end: m.end, column: col, year, used: false });
    } else if (m.end - m.start === 1 && TIME_BUCKETS.has(tokens[m.start]!.lemma)) {
      const yc = yearColumn(table);
      if (!yc) return abstain(`${table.name} has no date column`);
      mentions.push({ start: m.start, end: m.end, ...yc, used: false });
    } else if (!tables.some((t) => t.start <= m.start && t.end >= m.end)) {
      return abstain(`"${phrase}" is not a column of ${table.name}`);
    }
  }
  // "year" that no table has as a column: the year of this table's date column.
  for (const [i, t] of tokens.entries()) {
    if (TIME_BUCKETS.has(t.lemma) && !columns.some((m) => covers(m, i))) {
      const yc = yearColumn(table);
      if (!yc) return abstain(`${table.name} has no date column`);
      mentions.push({ start: i, end: i + 1, ...yc, used: false });
    }
  }
  mentions.sort((a, b) => a.start - b.start);
  const mentionAt = (i: number) => mentions.find((m) => m.start === i);

  // 4. Values: each becomes `column = value`; a value found in several columns needs a column word or from/to.
  const filters: (Filter & { at: number })[] = [];
  for (const v of values) {
    const here = v.payload.filter((m) => m.column.table === table.name);
    const phrase = phraseOf(tokens, v);
    if (here.length === 0) return abstain(`"${phrase}" is not a value in ${table.name}`);
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
    if (!pick) return abstain(`"${phrase}" is in several columns: ${here.map((h) => h.column.name).join(', ')}`);
    for (const m of adjacent) if (m.column === pick.column) m.used = true;
    filters.push({ column: pick.column, op: '=', value: pick.value, at: v.start });
  }

  // 5. Numbers: top-N, comparisons, years, "<n> <column>".
  let top: { n: number; order: 'DESC' | 'ASC'; at: number } | null = null;
  const numbersUsed = new Set<number>();
  for (const [i, t] of tokens.entries()) {
    if (t.num === null) continue;
    const cue = cues.find((c) => c.end === i);
    const unit = UNITS[tokens[i + 1]?.lemma ?? ''] ? tokens[i + 1]! : null;
    // The column right after the number, past a unit and small words ("10 mm of precipitation").
    let k = i + 1;
    while (
      k < tokens.length &&
      k <= i + 3 &&
      !mentionAt(k) &&
      (STOPWORDS.has(tokens[k]!.word) || UNITS[tokens[k]!.lemma])
    )
      k++;
    const next = mentionAt(k);
    if (cue && (cue.payload === 'TOP' || cue.payload === 'BOTTOM')) {
      if (!Number.isInteger(t.num) || t.num < 1 || t.num > 100)
        return abstain('top-N takes a whole number from 1 to 100');
      top = { n: t.num, order: cue.payload === 'TOP' ? 'DESC' : 'ASC', at: cue.start };
    } else if (cue && COMPARISONS[cue.payload]) {
      const before = mentions.filter((m) => m.end <= cue.start && m.column.kind === 'number').at(-1);
      const target = next?.column.kind === 'number' ? next : before;
      if (!target) return abstain(`I can't tell what "${phraseOf(tokens, cue)} ${t.raw}" compares`);
      const value = convert(t.num, unit?.lemma ?? null, target.column);
      if (value === null)
        return abstain(`I don't know the unit of ${target.column.name} to compare with ${t.raw} ${unit!.raw}`);
      target.used = true;
      if (unit) numbersUsed.add(i + 1);
      filters.push({ column: target.column, op: COMPARISONS[cue.payload]!, value, at: cue.start });
    } else if (isYear(t.num) && (YEAR_WORDS[tokens[i - 1]?.word ?? ''] || !(next && next.column.kind === 'number'))) {
      const yc = yearColumn(table);
      if (!yc) return abstain(`${table.name} has no date column for the year ${t.num}`);
      filters.push({
        column: yc.column,
        op: YEAR_WORDS[tokens[i - 1]?.word ?? ''] ?? '=',
        value: t.num,
        year: yc.year,
        at: i,
      });
    } else if (next && next.column.kind === 'number' && next.start === i + 1) {
      next.used = true;
      filters.push({ column: next.column, op: '=', value: t.num, at: i });
    } else return abstain(`I don't know what the number ${t.raw} refers to`);
    numbersUsed.add(i);
  }

  const equal = filters.filter((f) => f.op === '=').map((f) => `${f.column.name}/${f.year ?? false}`);
  if (new Set(equal).size < equal.length)
    return abstain('I can match one value per column (an "or" is not supported yet)');

  // 6. The group column: the column right after per/by/each/which/what/top/most common (articles skipped).
  const has = (...c: Cue[]) => cues.some((x) => c.includes(x.payload));
  const groups: Mention[] = [];
  for (const c of cues) {
    if (!['GROUP', 'WHICH', 'TOP', 'BOTTOM', 'MOST_COMMON', 'LEAST_COMMON'].includes(c.payload)) continue;
    let j = c.end;
    while (j < tokens.length && (['the', 'a', 'an', 'each', 'every'].includes(tokens[j]!.word) || numbersUsed.has(j)))
      j++;
    const m = mentionAt(j);
    if (!m || (c.payload !== 'GROUP' && m.column.kind === 'number' && !m.year)) continue;
    if (!groups.some((g) => g.column === m.column)) groups.push(m);
  }
  // "top" without a number: the first one, or ten when the group word is plural ("top origins").
  const topCue = cues.find((c) => c.payload === 'TOP' || c.payload === 'BOTTOM');
  if (topCue && !top) {
    const plural = groups[0] && tokens[groups[0].end - 1]!.word !== tokens[groups[0].end - 1]!.lemma;
    top = { n: plural ? 10 : 1, order: topCue.payload === 'TOP' ? 'DESC' : 'ASC', at: topCue.start };
  }
  if (groups.length > 1)
    return abstain(`I can group by one column only (${groups.map((g) => g.column.name).join(', ')})`);
  const grouped = groups[0] ?? null;
  if (grouped) grouped.used = true;
  for (const m of mentions) if (grouped && m.column === grouped.column) m.used = true;

  // 7. The aggregate.
  let aggregate: Aggregate;
  let measure: CatalogColumn | null = null;
  let order: 'DESC' | 'ASC' = 'DESC';
  let limit: number | null = null;
  if (has('DISTINCT')) {
    const c = cues.find((x) => x.payload === 'DISTINCT')!;
    const m = mentionAt(c.end);
    if (!has('COUNT') || !m || grouped) return abstain('I can only count distinct values of one column');
    m.used = true;
    aggregate = 'COUNT_DISTINCT';
    measure = m.column;
  } else {
    const measures = mentions.filter((m) => !m.used && m.column.kind === 'number');
    const unused = mentions.filter((m) => !m.used && m.column.kind !== 'number');
    if (unused.length) return abstain(`I don't know what to do with ${unused.map((m) => m.column.name).join(', ')}`);
    if (new Set(measures.map((m) => m.column)).size > 1)
      return abstain(`I can compute one measure at a time (${measures.map((m) => m.column.name).join(', ')})`);
    measure = measures[0]?.column ?? null;
    const high = has('HIGH', 'MOST', 'MOST_COMMON');
    const low = has('LOW', 'LEAST', 'LEAST_COMMON');
    if (high && low) return abstain('the question asks for both highest and lowest');
    const explicit = (['AVG', 'SUM', 'COUNT'] as const).filter((c) => has(c));
    if (explicit.length > 1) return abstain(`the question asks for several aggregates (${explicit.join(', ')})`);
    const word = explicit[0];
    if (grouped) {
      if (has('MOST_COMMON', 'LEAST_COMMON') || word === 'COUNT') aggregate = 'COUNT';
      else if (word) aggregate = word;
      else if (has('HIGH', 'LOW')) aggregate = high ? 'MAX' : 'MIN';
      else if (has('MOST', 'LEAST')) aggregate = measure ? 'SUM' : 'COUNT';
      else if (top && !measure) aggregate = 'COUNT';
      else if (top) aggregate = top.order === 'DESC' ? 'MAX' : 'MIN';
      else return abstain(`I could not tell what to compute per ${grouped.column.name}`);
      order = low || top?.order === 'ASC' ? 'ASC' : 'DESC';
      limit = top ? top.n : high || low ? 1 : null;
    } else {
      if (top) return abstain('top-N needs something to rank, such as "top 3 states by number of airports"');
      if (word === 'COUNT') aggregate = 'COUNT';
      else if (word && (high || low))
        return abstain('"highest/lowest" together with an average or total needs a group');
      else if (word) aggregate = word;
      else if (has('HIGH')) aggregate = 'MAX';
      else if (has('LOW')) aggregate = 'MIN';
      else if (measure && filters.length && !has('MOST', 'LEAST')) aggregate = 'VALUES';
      else return abstain('I could not tell what to compute (an average, a total, a count, the highest or lowest)');
    }
    if (aggregate === 'COUNT' && measure) return abstain(`I can't tell how ${measure.name} should limit the count`);
    // "average distance of flights longer than 1000 miles": the compared column is the measure too.
    const compared = [
      ...new Set(filters.filter((f) => f.op !== '=' && f.column.kind === 'number').map((f) => f.column)),
    ];
    if (aggregate !== 'COUNT' && !measure && compared.length === 1) measure = compared[0]!;
    if (aggregate !== 'COUNT' && !measure)
      return abstain('the question does not name a numeric column to compute it on');
  }

  // 8. Every word must be explained.
  for (const [i, t] of tokens.entries()) {
    const explained =
      STOPWORDS.has(t.word) ||
      numbersUsed.has(i) ||
      inColumn(i) ||
      inTable(i) ||
      inCue(i) ||
      values.some((v) => covers(v, i)) ||
      mentions.some((m) => covers(m, i));
    if (!explained) return abstain(`I don't know what "${t.raw}" refers to`);
  }

  return {
    table,
    aggregate,
    measure,
    group: grouped ? { column: grouped.column, year: grouped.year } : null,
    filters: filters.sort((a, b) => a.at - b.at).map(({ at: _at, ...f }) => f),
    order,
    limit,
  };
}
