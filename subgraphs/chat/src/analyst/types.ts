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
 * parameters `:name` bound from `args`; it throws a DataPilotError (UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT,
 * BAD_USER_INPUT, ...) on failure.
 */
export interface AnalystLake {
  listTables(): Promise<LakeTable[]>;
  query(sql: string, args: Record<string, SqlParam>): Promise<LakeResult>;
}

/** How the analyst treats a column, from its lake type. */
export type ColumnKind = 'number' | 'string' | 'temporal' | 'other';

/** A column of the catalog; `values` is a sample of distinct values (string columns only). */
export type CatalogColumn = {
  table: string;
  name: string;
  type: string;
  kind: ColumnKind;
  /** Distinct non-null values; `complete` is false when the column had more than the sample limit. */
  values?: { values: string[]; complete: boolean };
};

export type CatalogTable = { name: string; columns: CatalogColumn[] };

/** The org's tables as the analyst sees them: the only identifiers a plan may use. */
export type Catalog = { tables: CatalogTable[] };

/**
 * The aggregate of a plan; COUNT is COUNT(*), COUNT_DISTINCT is COUNT(DISTINCT column), VALUES lists the measure's
 * values of the filtered rows (a lookup such as "the population of China in 2007"; never without a filter).
 */
export type Aggregate = 'COUNT' | 'COUNT_DISTINCT' | 'AVG' | 'SUM' | 'MAX' | 'MIN' | 'VALUES';

/** A WHERE condition: `column op value`, or `YEAR(column) op value` when `year` is set. */
export type Filter = { column: CatalogColumn; op: '=' | '>' | '>=' | '<' | '<='; value: SqlParam; year?: boolean };

/**
 * What the analyst will compute: one aggregate over one table, optionally grouped by one column (or the year of a
 * date column), filtered, ordered by the aggregate and ranked (top-N, ties kept).
 */
export type Plan = {
  table: CatalogTable;
  aggregate: Aggregate;
  /** The aggregated column; null for COUNT(*). */
  measure: CatalogColumn | null;
  group: { column: CatalogColumn; year: boolean } | null;
  filters: Filter[];
  /** For grouped plans: the order of the aggregate. */
  order: 'DESC' | 'ASC';
  /**
   * Top-N (grouped plans only): the groups ranked N or better by the aggregate, so every group tied with the N-th
   * value is included (more than N rows on a tie; see toSql). null = all groups (capped at {@link MAX_GROUPS}).
   */
  limit: number | null;
};

/** The most groups a grouped answer returns. */
export const MAX_GROUPS = 1000;

/** A question the analyst will not answer, and why (shown to the user after the list of tables). */
export type Abstain = { abstain: true; reason: string };

/** The analyst's reply to one question. `sql`/`params`/`result` are null when it abstained. */
export type AnalystAnswer = {
  text: string;
  sql: string | null;
  params: Record<string, SqlParam> | null;
  result: LakeResult | null;
};
