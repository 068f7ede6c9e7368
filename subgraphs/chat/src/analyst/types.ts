import type { QueryPlan } from './query-plan.ts';

/** A literal bound to a named parameter (`:p1`): the only way a value from a question reaches SQL. */
export type SqlParam = string | number;

/** A table as the lake lists it: `version` changes whenever the table's data changes. */
export type LakeTable = {
  name: string;
  version: unknown;
  columns: { name: string; type: string; nullable?: boolean }[];
};

/** A query result: `rows` are arrays in `columns` order. */
export type LakeResult = { columns: { name: string; type: string }[]; rows: unknown[][] };

/**
 * What the analyst needs from the lake of ONE organization; `@datapilot/lake-core`'s `OrgLake` fits it.
 * `query` runs one Spark SQL statement over that org's tables (referred to by bare name) with the named
 * parameters `:name` bound from `args` (`opts.signal` interrupts the running statement); it throws a DataPilotError (UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT,
 * BAD_USER_INPUT, ...) on failure.
 */
export interface AnalystLake {
  listTables(): Promise<LakeTable[]>;
  query(sql: string, args: Record<string, SqlParam>, opts?: { signal?: AbortSignal }): Promise<LakeResult>;
}

/** How the analyst treats a column, from its lake type. */
export type ColumnKind = 'number' | 'string' | 'temporal' | 'other';

/** A column's role in the semantic layer (the graph subgraph's `SemanticType`; written by the pipeline's profiling). */
export type SemanticType = 'TIME' | 'CATEGORY' | 'MEASURE' | 'IDENTIFIER' | 'GEO_CODE' | 'TEXT';

/**
 * A column of the catalog: its lake type plus what the semantic layer knows of it (absent fields: not profiled yet).
 * `values` is the profiled list of distinct values (string columns; `complete` when it holds every one).
 */
export type CatalogColumn = {
  table: string;
  name: string;
  type: string;
  kind: ColumnKind;
  /** Distinct non-null values; `complete` is false when the column had more than the profile's limit. */
  values?: { values: string[]; complete: boolean };
  semanticType?: SemanticType | null;
  description?: string | null;
  /** The unit of the values (a key of lexicon.ts UNITS such as `mm`, `celsius`, `minute`), or null when unknown. */
  unit?: string | null;
  /** Phrases that name the column (lower case), from the profile and from edits. */
  synonyms?: string[];
  /** Other names of stored values: `Texas` → `TX`. */
  aliases?: { name: string; value: string }[];
  /** Smallest and largest value as text (numbers in decimal, dates `YYYY-MM-DD`). */
  min?: string | null;
  max?: string | null;
  /** No nulls and every value distinct: a candidate key. */
  isKey?: boolean;
  distinctCount?: number | null;
};

/** A named aggregate of a table (semantic layer): `name` and its synonyms name it in questions. */
export type CatalogMetric = {
  table: string;
  name: string;
  description: string | null;
  aggregate: 'COUNT' | 'COUNT_DISTINCT' | 'SUM' | 'AVG' | 'MIN' | 'MAX' | 'MEDIAN';
  column: string | null;
  synonyms: string[];
};

export type CatalogTable = {
  name: string;
  columns: CatalogColumn[];
  description?: string | null;
  metrics?: CatalogMetric[];
  /** The Delta version the lake lists (the cache key of anything derived from the table). */
  version?: unknown;
};

/** A declared relationship: every `from` value is a value of the key `to` (MANY_TO_ONE or ONE_TO_ONE). */
export type CatalogRelationship = {
  from: { table: string; column: string };
  to: { table: string; column: string };
  cardinality: 'MANY_TO_ONE' | 'ONE_TO_ONE';
};

/** The org's tables as the analyst sees them: the only identifiers a plan may use. */
export type Catalog = { tables: CatalogTable[]; relationships?: CatalogRelationship[] };

/** The most groups a grouped answer returns. */
export const MAX_GROUPS = 1000;

/** A question the analyst will not answer, and why (shown to the user after the list of tables). */
export type Abstain = { abstain: true; reason: string };

/**
 * The analyst's reply to one question. `plan`/`sql`/`params`/`result` are null when it abstained; `chart` is a
 * Vega-Lite v5 spec when the answer has a category or time dimension.
 */
export type AnalystAnswer = {
  text: string;
  plan: QueryPlan | null;
  /** The plan in words ("average temp_max in seattle_weather where the year of date is 2014"). */
  planSummary: string | null;
  sql: string | null;
  params: Record<string, SqlParam> | null;
  result: LakeResult | null;
  chart: Record<string, unknown> | null;
};

/** An earlier question of the same conversation and the plan it was answered with (null: not answered). */
export type PriorTurn = { question: string; plan: QueryPlan | null };
