import type { Filter, LakeResult, Plan } from './types.ts';

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

/**
 * The answer sentence for `plan` and its `result` (first column the group when grouped, last the aggregate).
 * Always names the table, the filters and the number(s), so the text can be checked against the table.
 */
export function describe(plan: Plan, result: LakeResult): string {
  const where = whereText(plan);
  const from = `${plan.table.name}${where}`;
  if (plan.aggregate === 'VALUES') {
    const values = result.rows.map((r) => formatCell(r[0]));
    if (values.length === 0) return `No rows in ${from}.`;
    if (values.length === 1) return `The ${plan.measure!.name} in ${from} is ${values[0]}.`;
    const more = values.length > LISTED ? `, and ${values.length - LISTED} more (see the table)` : '';
    return `There are ${values.length} rows in ${from}; their ${plan.measure!.name}: ${values.slice(0, LISTED).join(', ')}${more}.`;
  }
  if (!plan.group) {
    const value = result.rows[0]?.[0];
    if (plan.aggregate === 'COUNT') return `There are ${formatCell(value ?? 0)} rows in ${from}.`;
    if (value === null || value === undefined)
      return `There is no ${subject(plan)} in ${from}: no rows with a value match.`;
    return `The ${subject(plan)} in ${from} is ${formatCell(value)}.`;
  }
  const by = plan.group.year ? `year of ${plan.group.column.name}` : plan.group.column.name;
  if (result.rows.length === 0) return `No rows in ${from} have a ${by}.`;
  const pairs = result.rows.map((r) => `${formatCell(r[0])}: ${formatCell(r[1])}`);
  if (plan.limit === 1) {
    const [label, value] = result.rows[0]!;
    const rank = plan.order === 'DESC' ? 'highest' : 'lowest';
    return `The ${by} with the ${rank} ${subject(plan)} in ${from} is ${formatCell(label)} (${formatCell(value)}).`;
  }
  const head = plan.limit
    ? `${plan.order === 'DESC' ? 'Top' : 'Bottom'} ${plan.limit} ${by} by ${subject(plan)} in ${from}`
    : `The ${subject(plan)} per ${by} in ${from}`;
  const more = pairs.length > LISTED ? `, and ${pairs.length - LISTED} more (see the table)` : '';
  return `${head}: ${pairs.slice(0, LISTED).join(', ')}${more}.`;
}

/** The reply to a question the analyst will not answer: says so, names the org's tables, then why. */
export function abstainText(tableNames: string[], reason: string): string {
  const tables = tableNames.length
    ? `Your tables are: ${[...tableNames].sort().join(', ')}.`
    : 'You have no tables yet: upload a file first.';
  return `I can't answer that from your tables yet. ${tables} (${reason[0]!.toUpperCase()}${reason.slice(1)}.)`;
}
