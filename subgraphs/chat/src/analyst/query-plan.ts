/**
 * The query plan in its typed JSON form: what the deterministic planner produces, what an LLM is asked to produce
 * through tool calling (`QUERY_PLAN_JSON_SCHEMA`), what a `PLAN` event and `Message.plan` carry, and the only input
 * of the SQL compiler (sql.ts). Tables and columns are NAMES; `validatePlan` (sql.ts) resolves them against the
 * caller's catalog and refuses anything else, so a plan can never name another organization's table: the catalog
 * is built from that organization's lake only.
 */

/** A literal compared with a column: strings and numbers only (dates as `YYYY-MM-DD` strings). */
export type PlanValue = string | number;

/** A column of the base table or of a joined table. */
export type ColumnRef = { table: string; column: string };

/**
 * A calendar part of a date/timestamp column (or, for YEAR, an integer year column as is):
 * YEAR (e.g. 2014), QUARTER (1-4), MONTH (month of the year, 1-12; labelled January..December in results),
 * YEAR_MONTH (`YYYY-MM`), DAY_OF_WEEK (1 = Sunday .. 7 = Saturday, Spark `dayofweek`; labelled Sunday..Saturday),
 * DATE (the calendar day, `YYYY-MM-DD`).
 */
export type TimePart = 'YEAR' | 'QUARTER' | 'MONTH' | 'YEAR_MONTH' | 'DAY_OF_WEEK' | 'DATE';

/** The aggregates a plan may compute. VALUES lists the measure's values of the filtered rows (never unfiltered). */
export type PlanAggregate =
  'COUNT' | 'COUNT_DISTINCT' | 'SUM' | 'AVG' | 'MIN' | 'MAX' | 'MEDIAN' | 'PERCENTILE' | 'VALUES';

/**
 * A WHERE condition on a column (or on a calendar part of it): `=`/`!=` one value, `IN` one or more, `BETWEEN` two
 * (inclusive), the comparisons one value, IS_NULL/NOT_NULL none.
 */
export type PlanFilter = {
  column: ColumnRef;
  timePart: TimePart | null;
  op: '=' | '!=' | '>' | '>=' | '<' | '<=' | 'IN' | 'BETWEEN' | 'IS_NULL' | 'NOT_NULL';
  values: PlanValue[];
};

/** An inner join from the base table along a declared relationship: `base.column = table.references`. */
export type PlanJoin = { column: string; table: string; references: string };

/**
 * One aggregate over one table (plus joins along relationships), optionally grouped by one column or a calendar
 * part of one, filtered, ordered by the aggregate and ranked (top-N, ties kept).
 */
export type QueryPlan = {
  /** The base table (a table of the caller's organization, by name). */
  table: string;
  /** Joins along the semantic layer's relationships, in order; [] for none. */
  joins: PlanJoin[];
  aggregate: PlanAggregate;
  /** The aggregated column; null for COUNT (rows). */
  measure: ColumnRef | null;
  /** For PERCENTILE: the fraction, 0 < p < 1 (0.9 = 90th percentile); null otherwise. */
  percentile: number | null;
  /** The named metric (semantic layer) this plan computes, when it computes one; for the answer text only. */
  metric: string | null;
  group: { column: ColumnRef; timePart: TimePart | null } | null;
  filters: PlanFilter[];
  /** Order of the aggregate in grouped results (and of the rank). */
  order: 'DESC' | 'ASC';
  /** Top-N of a grouped plan (every group tied with the N-th kept); null = all groups (at most 1000). */
  limit: number | null;
};

/** The JSON Schema (draft 2020-12 subset accepted by OpenAI-compatible tool calling) of {@link QueryPlan}. */
export const QUERY_PLAN_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['table', 'joins', 'aggregate', 'measure', 'percentile', 'metric', 'group', 'filters', 'order', 'limit'],
  properties: {
    table: { type: 'string', description: 'The base table, by name.' },
    joins: {
      type: 'array',
      description: 'Joins along declared relationships: base.column = table.references.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['column', 'table', 'references'],
        properties: { column: { type: 'string' }, table: { type: 'string' }, references: { type: 'string' } },
      },
    },
    aggregate: {
      type: 'string',
      enum: ['COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG', 'MIN', 'MAX', 'MEDIAN', 'PERCENTILE', 'VALUES'],
    },
    measure: { anyOf: [{ $ref: '#/$defs/column' }, { type: 'null' }] },
    percentile: { type: ['number', 'null'], exclusiveMinimum: 0, exclusiveMaximum: 1 },
    metric: { type: ['string', 'null'] },
    group: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['column', 'timePart'],
          properties: { column: { $ref: '#/$defs/column' }, timePart: { $ref: '#/$defs/timePart' } },
        },
        { type: 'null' },
      ],
    },
    filters: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['column', 'timePart', 'op', 'values'],
        properties: {
          column: { $ref: '#/$defs/column' },
          timePart: { $ref: '#/$defs/timePart' },
          op: { type: 'string', enum: ['=', '!=', '>', '>=', '<', '<=', 'IN', 'BETWEEN', 'IS_NULL', 'NOT_NULL'] },
          values: { type: 'array', items: { type: ['string', 'number'] } },
        },
      },
    },
    order: { type: 'string', enum: ['DESC', 'ASC'] },
    limit: { type: ['integer', 'null'], minimum: 1, maximum: 1000 },
  },
  $defs: {
    column: {
      type: 'object',
      additionalProperties: false,
      required: ['table', 'column'],
      properties: { table: { type: 'string' }, column: { type: 'string' } },
    },
    timePart: {
      anyOf: [
        { type: 'string', enum: ['YEAR', 'QUARTER', 'MONTH', 'YEAR_MONTH', 'DAY_OF_WEEK', 'DATE'] },
        { type: 'null' },
      ],
    },
  },
} as const;

/** Month names, January first (labels of MONTH results and words the planner reads). */
export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

/** Day names in Spark `dayofweek` order (1 = Sunday). */
export const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
