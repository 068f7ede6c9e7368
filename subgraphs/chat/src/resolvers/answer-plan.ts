/**
 * `Message.plan` (GraphQL `AnswerPlan`): a stored plan ({@link StoredPlan}: the analyst's summary and its
 * QueryPlan) put in words for people — the table, the measure, each filter, the grouping — next to the plan's JSON.
 */
import { measureTitle } from '../analyst/chart.ts';
import { DAY_NAMES, MONTH_NAMES, type PlanFilter, type QueryPlan, type TimePart } from '../analyst/query-plan.ts';
import type { StoredPlan } from '../data/chat-store.ts';

/** The GraphQL `AnswerPlan` of a stored plan. */
export type AnswerPlan = {
  summary: string;
  table: string;
  measure: string;
  filters: string[];
  grouping: string | null;
  json: QueryPlan;
};

/** A time part in words, before "of <column>". */
const PART_WORDS: Record<TimePart, string> = {
  YEAR: 'year',
  QUARTER: 'quarter',
  MONTH: 'month',
  YEAR_MONTH: 'month',
  DAY_OF_WEEK: 'day of week',
  DATE: 'day',
};

const OP_WORDS: Record<PlanFilter['op'], string> = {
  '=': 'is',
  '!=': 'is not',
  '>': 'is more than',
  '>=': 'is at least',
  '<': 'is less than',
  '<=': 'is at most',
  IN: 'is one of',
  BETWEEN: 'is between',
  IS_NULL: 'has no value',
  NOT_NULL: 'has a value',
};

/** A column of `plan` by name, qualified with its table when it belongs to a joined table. */
const columnName = (plan: QueryPlan, ref: { table: string; column: string }) =>
  ref.table === plan.table ? ref.column : `${ref.table}.${ref.column}`;

/**
 * A filter's value in words: a month or day of week by name (MONTH 3 → March, DAY_OF_WEEK 1 → Sunday), a quarter as
 * Q1..Q4, text in double quotes, numbers as they are.
 */
function valueWords(part: TimePart | null, v: string | number): string {
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (part === 'MONTH' && v >= 1 && v <= 12) return MONTH_NAMES[v - 1]!;
    if (part === 'DAY_OF_WEEK' && v >= 1 && v <= 7) return DAY_NAMES[v - 1]!;
    if (part === 'QUARTER' && v >= 1 && v <= 4) return `Q${v}`;
  }
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** One filter in words: `year of date is 2015`, `weather is one of "rain", "snow"`, `price is between 10 and 20`. */
export function filterWords(plan: QueryPlan, f: PlanFilter): string {
  const column = columnName(plan, f.column);
  const subject = f.timePart ? `${PART_WORDS[f.timePart]} of ${column}` : column;
  const values = f.values.map((v) => valueWords(f.timePart, v));
  const op = OP_WORDS[f.op];
  if (f.op === 'IS_NULL' || f.op === 'NOT_NULL') return `${subject} ${op}`;
  if (f.op === 'BETWEEN') return `${subject} ${op} ${values[0]} and ${values[1]}`;
  return `${subject} ${op} ${values.join(', ')}`;
}

/**
 * The grouping in words: `month of date`, `species`, `origin, top 3 by the measure` (`bottom 3` for an ascending
 * rank); null when the plan has no group.
 */
export function groupingWords(plan: QueryPlan): string | null {
  if (!plan.group) return null;
  const column = columnName(plan, plan.group.column);
  const base = plan.group.timePart ? `${PART_WORDS[plan.group.timePart]} of ${column}` : column;
  return plan.limit === null
    ? base
    : `${base}, ${plan.order === 'ASC' ? 'bottom' : 'top'} ${plan.limit} by the measure`;
}

/** The `AnswerPlan` of `stored`, or null when there is none. */
export function answerPlan(stored: StoredPlan | null): AnswerPlan | null {
  if (!stored) return null;
  const { plan } = stored;
  return {
    summary: stored.summary,
    table: plan.table,
    measure: measureTitle(plan),
    filters: plan.filters.map((f) => filterWords(plan, f)),
    grouping: groupingWords(plan),
    json: plan,
  };
}
