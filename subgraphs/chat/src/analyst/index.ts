/** The analyst: question → a typed query plan → one parameterized Spark SQL statement → answer text, table, chart. */
export * from './types.ts';
export * from './query-plan.ts';
export {
  createAnalyst,
  normalizeResult,
  jsonCell,
  type Analyst,
  type AnalystHooks,
  type AnalystScope,
  type AnalystTimings,
} from './analyst.ts';
export { buildCatalog, columnKind, columnTerms, tableTerms } from './catalog.ts';
export { planQuestion, tokenize } from './plan.ts';
export {
  toSql,
  validatePlan,
  PlanError,
  quoteIdent,
  aggregateAlias,
  groupLabel,
  RANK_ALIAS,
  PLAN_BOUNDS,
} from './sql.ts';
export { describe, abstainText, formatCell, ordinal, planSummary } from './describe.ts';
export { chartSpec } from './chart.ts';
export {
  createNeo4jSemanticSource,
  EMPTY_SEMANTIC_SOURCE,
  type SemanticSource,
  type SemanticLayer,
  type SemanticDataset,
  type SemanticColumn,
} from './semantic.ts';
export { createLlmClient, type LlmClient } from './llm.ts';
