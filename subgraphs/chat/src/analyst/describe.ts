import { MAX_GROUPS, type Filter, type LakeResult, type Plan } from './types.ts';

/** Formats a result cell for text: numbers to at most 4 decimals, null as "no value". */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return 'no value';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4)));
  return String(v);
}

const AGG_WORDS = { AVG: 'average', SUM: 'total', MAX: 'highest', MIN: 'lowest' } as const;

/** "average temp_max", "number of rows", "number of distinct species". */
function subject(plan: Plan): string {
  if (plan.aggregate === 'COUNT') return 'number of rows';
  if (plan.aggregate === 'COUNT_DISTINCT') return `number of distinct ${plan.measure!.name}`;
  if (plan.aggregate === 'VALUES') return plan.measure!.name;
  return `${AGG_WORDS[plan.aggregate]} ${plan.measure!.name}`;
}

const OPS = { '=': 'is', '>': 'is more than', '>=': 'is at least', '<': 'is less than', '<=': 'is at most' } as const;
const filterText = (f: Filter) =>
  `${f.year ? `the year of ${f.column.name}` : f.column.name} ${OPS[f.op]} ${typeof f.value === 'string' ? `"${f.value}"` : f.value}`;

/** " where weather is "rain" and the year of date is 2015", or "". */
function whereText(plan: Plan): string {
  return plan.filters.length ? ` where ${plan.filters.map(filterText).join(' and ')}` : '';
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
export function describe(plan: Plan, result: LakeResult): string {
  const where = whereText(plan);
  const from = `${plan.table.name}${where}`;
  if (plan.aggregate === 'VALUES') {
    const values = result.rows.map((r) => formatCell(r[0]));
    if (values.length === 0) return `No rows in ${from}.`;
    if (values.length === 1) return `The ${plan.measure!.name} in ${from} is ${values[0]}.`;
    return `There are ${values.length} rows in ${from}; their ${plan.measure!.name}: ${listed(values)}.`;
  }
  if (!plan.group) {
    const value = result.rows[0]?.[0];
    if (plan.aggregate === 'COUNT') return `There are ${formatCell(value ?? 0)} rows in ${from}.`;
    if (value === null || value === undefined)
      return `There is no ${subject(plan)} in ${from}: no rows with a value match.`;
    return `The ${subject(plan)} in ${from} is ${formatCell(value)}.`;
  }
  const by = plan.group.year ? `year of ${plan.group.column.name}` : plan.group.column.name;
  const rows = result.rows;
  if (rows.length === 0)
    return plan.limit !== null && !plan.aggregate.startsWith('COUNT')
      ? `There is no ${subject(plan)} per ${by} in ${from}: no rows with a value match.`
      : `No rows in ${from} have a ${by}.`;
  const pairs = rows.map((r) => `${formatCell(r[0])}: ${formatCell(r.at(-1))}`);
  if (plan.limit === null) return `The ${subject(plan)} per ${by} in ${from}: ${listed(pairs)}.`;

  // Ranked: rows.length > limit only when groups tie with the last value.
  const last = rows.at(-1)!.at(-1);
  const orMore = rows.length >= MAX_GROUPS ? ' or more' : '';
  const rank = plan.order === 'DESC' ? 'highest' : 'lowest';
  if (plan.limit === 1) {
    const [label, value] = rows[0]!;
    if (rows.length === 1)
      return `The ${by} with the ${rank} ${subject(plan)} in ${from} is ${formatCell(label)} (${formatCell(value)}).`;
    const noun = plan.group.year ? `years of ${plan.group.column.name}` : `values of ${by}`;
    const labels = rows.map((r) => formatCell(r[0]));
    return (
      `${rows.length}${orMore} ${noun} tie for the ${rank} ${subject(plan)} in ${from}, ` +
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

/** The reply to a question the analyst will not answer: says so, names the org's tables, then why. */
export function abstainText(tableNames: string[], reason: string): string {
  const tables = tableNames.length
    ? `Your tables are: ${[...tableNames].sort().join(', ')}.`
    : 'You have no tables yet: upload a file first.';
  return `I can't answer that from your tables yet. ${tables} (${reason[0]!.toUpperCase()}${reason.slice(1)}.)`;
}
