/** The deterministic analyst: question → one parameterized Spark SQL statement → answer text and result table. */
export * from './types.ts';
export { createAnalyst, normalizeResult, jsonCell, type Analyst, type AnalystHooks } from './analyst.ts';
export { buildCatalog, columnKind, columnTerms, tableTerms, type TableSamples } from './catalog.ts';
export { planQuestion, tokenize } from './plan.ts';
export { toSql, quoteIdent, aggregateAlias, RANK_ALIAS } from './sql.ts';
export { describe, abstainText, formatCell, ordinal } from './describe.ts';
