import { MONTH_NAMES, DAY_NAMES, type PlanFilter, type QueryPlan, type TimePart } from './query-plan.ts';
import { MAX_GROUPS, type Catalog, type LakeResult } from './types.ts';

/** Formats a result cell for text: numbers to at most 4 decimals, null as "no value". */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return 'no value';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4)));
  return String(v);
}

const AGG_WORDS: Record<string, string> = {
  AVG: 'average',
  SUM: 'total',
  MAX: 'highest',
  MIN: 'lowest',
  MEDIAN: 'median',
};
const PART_WORDS: Record<TimePart, string> = {
  YEAR: 'year',
  QUARTER: 'quarter',
  MONTH: 'month',
  YEAR_MONTH: 'month',
  DAY_OF_WEEK: 'day of the week',
  DATE: 'day',
};

/** What a ranking ranks by: the subject, without "highest"/"lowest" (the rank says it: "the lowest temp_min"). */
const ranked = (plan: QueryPlan) =>
  (plan.aggregate === 'MAX' || plan.aggregate === 'MIN') && !plan.metric ? plan.measure!.column : subject(plan);

/** "average temp_max", "number of rows", "number of distinct species", "90th percentile of delay". */
export function subject(plan: QueryPlan): string {
  const m = plan.measure?.column ?? '';
  if (plan.metric) return plan.metric.replace(/_/g, ' ');
  if (plan.aggregate === 'COUNT') return 'number of rows';
  if (plan.aggregate === 'COUNT_DISTINCT') return `number of distinct ${m}`;
  if (plan.aggregate === 'VALUES') return m;
  if (plan.aggregate === 'PERCENTILE') return `${ordinal(Math.round((plan.percentile ?? 0) * 100))} percentile of ${m}`;
  return `${AGG_WORDS[plan.aggregate]} ${m}`;
}

const OPS: Record<string, string> = {
  '=': 'is',
  '!=': 'is not',
  '>': 'is more than',
  '>=': 'is at least',
  '<': 'is less than',
  '<=': 'is at most',
};
const show = (f: PlanFilter, v: string | number) =>
  f.timePart === 'MONTH' && typeof v === 'number'
    ? (MONTH_NAMES[v - 1] ?? String(v))
    : f.timePart === 'DAY_OF_WEEK' && typeof v === 'number'
      ? (DAY_NAMES[v - 1] ?? String(v))
      : typeof v === 'string'
        ? `"${v}"`
        : String(v);
/** One filter in words: `the year of date is 2015`, `weather is one of "rain", "snow"`, `airports.state is "CA"`. */
export const filterText = (plan: QueryPlan, f: PlanFilter) => {
  const col = (f.column.table === plan.table ? '' : `${f.column.table}.`) + f.column.column;
  const subjectText =
    f.timePart && PART_WORDS[f.timePart] !== f.column.column ? `the ${PART_WORDS[f.timePart]} of ${col}` : col;
  if (f.op === 'IS_NULL') return `${subjectText} is empty`;
  if (f.op === 'NOT_NULL') return `${subjectText} is not empty`;
  if (f.op === 'BETWEEN') return `${subjectText} is from ${show(f, f.values[0]!)} to ${show(f, f.values[1]!)}`;
  if (f.op === 'IN') return `${subjectText} is one of ${f.values.map((v) => show(f, v)).join(', ')}`;
  return `${subjectText} ${OPS[f.op]} ${show(f, f.values[0]!)}`;
};

/** " where weather is "rain" and the year of date is 2015", or "". */
function whereText(plan: QueryPlan): string {
  return plan.filters.length ? ` where ${plan.filters.map((f) => filterText(plan, f)).join(' and ')}` : '';
}
/** "flights joined with airports by origin", or the table alone. */
function fromText(plan: QueryPlan): string {
  const joins = plan.joins.map((j) => `${j.table} (by ${j.column})`);
  return plan.table + (joins.length ? ` with ${joins.join(' and ')}` : '');
}
/** What the answer is grouped by, in words: "month of date", "year of date", "airports.city", "species". */
export function groupText(plan: QueryPlan): string {
  const g = plan.group!;
  const col = (g.column.table === plan.table ? '' : `${g.column.table}.`) + g.column.column;
  return g.timePart && PART_WORDS[g.timePart] !== g.column.column ? `${PART_WORDS[g.timePart]} of ${col}` : col;
}

/**
 * The plan in words, for the PLAN event and the message: "average temp_max in seattle_weather where the year of
 * date is 2014, per month of date, highest first (top 1)".
 */
export function planSummary(plan: QueryPlan): string {
  let text = `${subject(plan)} in ${fromText(plan)}${whereText(plan)}`;
  if (plan.group) {
    text += `, per ${groupText(plan)}`;
    if (plan.limit !== null)
      text += `, ${plan.order === 'DESC' ? 'highest' : 'lowest'} first (top ${plan.limit}, ties kept)`;
  }
  return text;
}

/** How many groups a text lists before "and N more". */
const LISTED = 10;

/** 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st, ... */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** `items` up to {@link LISTED}, then ", and N more (see the table)". */
const listed = (items: string[]) =>
  items.slice(0, LISTED).join(', ') +
  (items.length > LISTED ? `, and ${items.length - LISTED} more (see the table)` : '');

/**
 * The answer sentence for `plan` and its `result` (first column the group when grouped, last the aggregate).
 * Always names the table, the filters and the number(s), so the text can be checked against the table.
 *
 * Top-N answers (`plan.limit` set; the result holds every group ranked N or better, see `toSql`) say when a tie
 * made the result longer than N: "9 values of origin tie for the lowest number of rows in flights, with 1 each:
 * APF, BGM, ..." for a top 1, "Bottom 10 origin by number of rows in flights: 20 rows, as 11 tie for 10th place with
 * 2 each: ..." for a top N. At most {@link LISTED} groups are named, then "and N more (see the table)". A result of
 * {@link MAX_GROUPS} rows may have been cut by the statement's LIMIT, so its counts read "1000 or more".
 */
export function describe(plan: QueryPlan, result: LakeResult): string {
  const where = whereText(plan);
  const from = `${fromText(plan)}${where}`;
  if (plan.aggregate === 'VALUES') {
    const values = result.rows.map((r) => formatCell(r[0]));
    if (values.length === 0) return `No rows in ${from}.`;
    if (values.length === 1) return `The ${plan.measure!.column} in ${from} is ${values[0]}.`;
    return `There are ${values.length} rows in ${from}; their ${plan.measure!.column}: ${listed(values)}.`;
  }
  if (!plan.group) {
    const value = result.rows[0]?.[0];
    if (plan.aggregate === 'COUNT') return `There are ${formatCell(value ?? 0)} rows in ${from}.`;
    if (value === null || value === undefined)
      return `There is no ${subject(plan)} in ${from}: no rows with a value match.`;
    return `The ${subject(plan)} in ${from} is ${formatCell(value)}.`;
  }
  const by = groupText(plan);
  const rows = result.rows;
  if (rows.length === 0)
    return plan.limit !== null && !plan.aggregate.startsWith('COUNT')
      ? `There is no ${subject(plan)} per ${by} in ${from}: no rows with a value match.`
      : `No rows in ${from} have a ${by}.`;
  const pairs = rows.map((r) => `${formatCell(r[0])}: ${formatCell(r.at(-1))}`);
  if (plan.limit === null)
    return (
      `The ${subject(plan)} per ${by} in ${from}: ${listed(pairs)}.` +
      (rows.length >= MAX_GROUPS ? ` The table holds the first ${MAX_GROUPS} groups; there are more.` : '')
    );

  // Ranked: rows.length > limit only when groups tie with the last value.
  const last = rows.at(-1)!.at(-1);
  const orMore = rows.length >= MAX_GROUPS ? ' or more' : '';
  const rank = plan.order === 'DESC' ? 'highest' : 'lowest';
  if (plan.limit === 1) {
    const [label, value] = rows[0]!;
    if (rows.length === 1)
      return `The ${by} with the ${rank} ${ranked(plan)} in ${from} is ${formatCell(label)} (${formatCell(value)}).`;
    const g = plan.group;
    const noun = g.timePart
      ? `${PART_WORDS[g.timePart]}s of ${(g.column.table === plan.table ? '' : `${g.column.table}.`) + g.column.column}`
      : `values of ${by}`;
    const labels = rows.map((r) => formatCell(r[0]));
    return (
      `${rows.length}${orMore} ${noun} tie for the ${rank} ${ranked(plan)} in ${from}, ` +
      `with ${formatCell(last)} each: ${listed(labels)}.`
    );
  }
  const head = `${plan.order === 'DESC' ? 'Top' : 'Bottom'} ${plan.limit} ${by} by ${subject(plan)} in ${from}`;
  if (rows.length <= plan.limit) return `${head}: ${listed(pairs)}.`;
  const tied = rows.filter((r) => r.at(-1) === last).length;
  const place = ordinal(rows.length - tied + 1);
  return (
    `${head}: ${rows.length}${orMore} rows, as ${tied}${orMore} tie for ${place} place ` +
    `with ${formatCell(last)} each: ${listed(pairs)}.`
  );
}

/**
 * The reply to a question the analyst will not answer: says so and why, then what the organization's tables hold
 * (each table with up to 8 of its columns), so the user sees what can be asked.
 */
export function abstainText(catalog: Catalog, reason: string): string {
  const tables = [...catalog.tables].sort((a, b) => a.name.localeCompare(b.name));
  const holds = tables.length
    ? `Your tables are: ${tables
        .map((t) => {
          const cols = t.columns.map((c) => c.name);
          return `${t.name} (${cols.slice(0, 8).join(', ')}${cols.length > 8 ? ', ...' : ''})`;
        })
        .join('; ')}.`
    : 'You have no tables yet: upload a file first.';
  return `I can't answer that from your tables: ${reason}. ${holds}`;
}
