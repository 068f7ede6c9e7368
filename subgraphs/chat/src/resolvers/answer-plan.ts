/**
 * `Message.plan` (GraphQL `AnswerPlan`): a stored plan ({@link StoredPlan}: the analyst's summary and its
 * QueryPlan) put in words for people — the table, the measure, each filter, the grouping — next to the plan's JSON.
 * The words are the analyst's own (describe.ts), so the plan reads as the answer text does.
 */
import { measureTitle } from '../analyst/chart.ts';
import { filterText, groupText } from '../analyst/describe.ts';
import type { QueryPlan } from '../analyst/query-plan.ts';
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

/**
 * The grouping in words: `month of date`, `species`, `origin, top 3 by the measure` (`bottom 3` for an ascending
 * rank); null when the plan has no group.
 */
export function groupingWords(plan: QueryPlan): string | null {
  if (!plan.group) return null;
  const base = groupText(plan);
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
    filters: plan.filters.map((f) => filterText(plan, f)),
    grouping: groupingWords(plan),
    json: plan,
  };
}
