/**
 * Charts of answers: a Vega-Lite v5 spec for every answer that has a category or a time dimension, built from the
 * plan (what the columns mean) and the result (the data, inline). The spec is what `Message.chart` and the CHART
 * event carry; a client renders it with vega-embed. Validated against the Vega-Lite JSON schema in
 * test/chart.test.ts.
 */
import { ordinal } from './describe.ts';
import { DAY_NAMES, MONTH_NAMES, type QueryPlan, type TimePart } from './query-plan.ts';
import { aggregateAlias, groupLabel } from './sql.ts';
import type { LakeResult } from './types.ts';

/** The `$schema` of every chart: Vega-Lite 5. */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Most data points a chart holds (a grouped result has at most 1000 rows: sql.ts MAX_GROUPS). */
export const MAX_CHART_POINTS = 1000;

/** Title of a time part's label column (the result column `year`, `month`, ... of sql.ts `groupLabel`). */
const TIME_PART_TITLES: Record<TimePart, string> = {
  YEAR: 'Year',
  QUARTER: 'Quarter',
  MONTH: 'Month',
  YEAR_MONTH: 'Month',
  DAY_OF_WEEK: 'Day of week',
  DATE: 'Date',
};

/** Words of an aggregate in a title: "Average temp max", "Total precipitation". */
const AGGREGATE_WORDS: Partial<Record<QueryPlan['aggregate'], string>> = {
  AVG: 'Average',
  SUM: 'Total',
  MIN: 'Minimum',
  MAX: 'Maximum',
  MEDIAN: 'Median',
};

/** `temp_max` → `temp max`: a column name as words (underscores and runs of spaces become one space). */
export function columnWords(name: string): string {
  return name.replace(/[_\s]+/g, ' ').trim();
}

/** A phrase with its first letter in upper case: `temp max` → `Temp max`. */
const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The readable title of a plan's aggregate (its result column `aggregateAlias(plan)`): `row_count` → "Number of
 * rows", `avg_temp_max` → "Average temp max", `distinct_symbol` → "Number of distinct symbol", `p90_delay` → "90th
 * percentile of delay", `median_horsepower` → "Median horsepower", VALUES → the column's words ("Price").
 */
export function measureTitle(plan: QueryPlan): string {
  const column = columnWords(plan.measure?.column ?? '');
  switch (plan.aggregate) {
    case 'COUNT':
      return 'Number of rows';
    case 'COUNT_DISTINCT':
      return `Number of distinct ${column}`;
    case 'VALUES':
      return capitalized(column);
    case 'PERCENTILE': {
      const p = Number(((plan.percentile ?? 0) * 100).toFixed(2));
      return `${Number.isInteger(p) ? ordinal(p) : `${p}th`} percentile of ${column}`;
    }
    default:
      return `${AGGREGATE_WORDS[plan.aggregate]} ${column}`;
  }
}

/**
 * The readable title of a grouped plan's label column: the time part ("Month", "Day of week", "Year") or the group
 * column's words ("Species", "Dest city"). @throws TypeError when the plan has no group.
 */
export function groupTitle(plan: QueryPlan): string {
  if (!plan.group) throw new TypeError('groupTitle: the plan has no group');
  return plan.group.timePart
    ? TIME_PART_TITLES[plan.group.timePart]
    : capitalized(columnWords(plan.group.column.column));
}

/**
 * A field name for a Vega-Lite encoding: `.`, `[`, `]` and `\` are escaped, since Vega-Lite reads them as nested
 * access (`a.b`) otherwise. The catalog's names are snake_case, so this changes nothing for them.
 */
const fieldName = (name: string) => name.replace(/[.[\]\\]/g, (c) => `\\${c}`);

const NUMERIC_TYPE = /^(tinyint|smallint|int|integer|bigint|long|short|byte|float|double|real|decimal|numeric)\b/i;
const TEMPORAL_TYPE = /^(date|timestamp)/i;
const NUMERIC_TEXT = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * The Vega-Lite v5 spec of an answer, or null when it has nothing to chart: an ungrouped plan (one number), a
 * VALUES plan (a list), an empty result, a result without the plan's label and aggregate columns, or an aggregate
 * that is text (MIN/MAX of a string column).
 *
 * - `data.values`: the result rows (at most {@link MAX_CHART_POINTS}) as objects keyed by column name, in result
 *   order; an aggregate cell that is a number written as text (a 64-bit integer beyond 2^53) becomes a number.
 * - A category (a group without a time part): horizontal bars, the categories from top to bottom in the order of
 *   the result rows (`sort: null`; the result is ranked by the aggregate), the aggregate on x.
 * - A time part, in calendar order whatever the order of the rows: YEAR and QUARTER ordinal (numeric order; quarters
 *   labelled Q1..Q4), MONTH and DAY_OF_WEEK ordinal sorted by the list of names (January..December,
 *   Sunday..Saturday), YEAR_MONTH and DATE temporal (UTC, so a month never shifts into the one before). A line with
 *   points when the result is the whole series (no top-N) of at least two points, else vertical bars. A group
 *   column of type date/timestamp without a time part is charted as DATE.
 * - An aggregate that is a date or timestamp (MAX(date) by symbol): points on a temporal axis instead of bars.
 * - Axis titles from {@link groupTitle} and {@link measureTitle}; the chart's title "<measure> by <group>"; a tooltip
 *   with both.
 */
export function chartSpec(plan: QueryPlan, result: LakeResult): Record<string, unknown> | null {
  if (!plan.group || plan.aggregate === 'VALUES' || result.rows.length === 0) return null;
  const labelIndex = result.columns.findIndex((c) => c.name === groupLabel(plan));
  const measureIndex = result.columns.findIndex((c) => c.name === aggregateAlias(plan));
  if (labelIndex < 0 || measureIndex < 0 || labelIndex === measureIndex) return null;
  const label = result.columns[labelIndex]!;
  const measure = result.columns[measureIndex]!;
  const measureTemporal = TEMPORAL_TYPE.test(measure.type);
  if (!NUMERIC_TYPE.test(measure.type) && !measureTemporal) return null;

  const values = result.rows.slice(0, MAX_CHART_POINTS).map((row) =>
    Object.fromEntries(
      result.columns.map((c, i) => {
        const v = row[i] ?? null;
        return [c.name, i === measureIndex && typeof v === 'string' && NUMERIC_TEXT.test(v) ? Number(v) : v];
      }),
    ),
  );
  const labelTitle = groupTitle(plan);
  const valueTitle = measureTitle(plan);
  const part: TimePart | null = plan.group.timePart ?? (TEMPORAL_TYPE.test(label.type) ? 'DATE' : null);
  const labelField = fieldName(label.name);
  const valueField = fieldName(measure.name);
  const valueChannel = measureTemporal
    ? { field: valueField, type: 'temporal', title: valueTitle, scale: { type: 'utc' } }
    : { field: valueField, type: 'quantitative', title: valueTitle };
  const labelTip =
    part === 'YEAR_MONTH'
      ? { field: labelField, type: 'temporal', title: labelTitle, timeUnit: 'utcyearmonth', format: '%B %Y' }
      : part === 'DATE'
        ? { field: labelField, type: 'temporal', title: labelTitle, timeUnit: 'utcyearmonthdate', format: '%Y-%m-%d' }
        : { field: labelField, type: 'nominal', title: labelTitle };
  const valueTip = measureTemporal
    ? { field: valueField, type: 'temporal', title: valueTitle, timeUnit: 'utcyearmonthdate', format: '%Y-%m-%d' }
    : { field: valueField, type: 'quantitative', title: valueTitle, format: ',.4~f' };
  const tooltip = [labelTip, valueTip];

  let mark: Record<string, unknown>;
  let encoding: Record<string, unknown>;
  if (part === null) {
    // Categories: horizontal bars, in the result's order (ranked by the aggregate).
    mark = measureTemporal ? { type: 'point', filled: true } : { type: 'bar' };
    encoding = {
      y: { field: labelField, type: 'nominal', title: labelTitle, sort: null },
      x: valueChannel,
      tooltip,
    };
  } else {
    const series = plan.limit === null && values.length >= 2;
    mark = measureTemporal ? { type: 'point', filled: true } : series ? { type: 'line', point: true } : { type: 'bar' };
    const x: Record<string, unknown> = { field: labelField, title: labelTitle };
    switch (part) {
      case 'YEAR':
        Object.assign(x, { type: 'ordinal', sort: 'ascending' });
        break;
      case 'QUARTER':
        Object.assign(x, { type: 'ordinal', sort: 'ascending', axis: { labelExpr: "'Q' + datum.label" } });
        break;
      case 'MONTH':
        Object.assign(x, { type: 'ordinal', sort: [...MONTH_NAMES] });
        break;
      case 'DAY_OF_WEEK':
        Object.assign(x, { type: 'ordinal', sort: [...DAY_NAMES] });
        break;
      case 'YEAR_MONTH':
        Object.assign(x, { type: 'temporal', timeUnit: 'utcyearmonth', axis: { format: '%b %Y' } });
        break;
      case 'DATE':
        Object.assign(x, { type: 'temporal', timeUnit: 'utcyearmonthdate', axis: { format: '%Y-%m-%d' } });
        break;
    }
    encoding = { x, y: valueChannel, tooltip };
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: `${valueTitle} by ${labelTitle.charAt(0).toLowerCase()}${labelTitle.slice(1)}`,
    data: { values },
    mark,
    encoding,
  };
}
