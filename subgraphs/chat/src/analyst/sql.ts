import { DAY_NAMES, MONTH_NAMES, type ColumnRef, type QueryPlan, type TimePart } from './query-plan.ts';
import { MAX_GROUPS, type Catalog, type CatalogColumn, type CatalogTable, type SqlParam } from './types.ts';

/** Quotes a Spark SQL identifier with backticks (a backtick inside is doubled). Identifiers come from the catalog only. */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** Why a plan was refused: shown to the user as the reason of an abstention. */
export class PlanError extends Error {}

/** Most filters, joins and IN values a plan may hold; longest string value. */
export const PLAN_BOUNDS = { filters: 20, joins: 3, inValues: 100, valueLength: 200 } as const;

const AGGREGATES = new Set(['COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG', 'MIN', 'MAX', 'MEDIAN', 'PERCENTILE', 'VALUES']);
const NUMERIC_AGGREGATES = new Set(['SUM', 'AVG', 'MEDIAN', 'PERCENTILE']);
const OPS = new Set(['=', '!=', '>', '>=', '<', '<=', 'IN', 'BETWEEN', 'IS_NULL', 'NOT_NULL']);
const TIME_PARTS = new Set(['YEAR', 'QUARTER', 'MONTH', 'YEAR_MONTH', 'DAY_OF_WEEK', 'DATE']);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a plan from any source (the deterministic planner, an LLM's tool call) against the caller's catalog and
 * returns it typed. The catalog is built from the caller's organization's lake only, so a table or column it does not
 * hold (another organization's, a made-up one) is refused here, before any SQL exists.
 * @throws PlanError naming what is wrong: an unknown table or column, a join that is not a declared relationship,
 *   an aggregate that does not fit the column's type, a time part of a column that is not a date, a bad value count
 *   or type, a limit outside 1..1000, more than {@link PLAN_BOUNDS}.
 */
export function validatePlan(raw: unknown, catalog: Catalog): QueryPlan {
  if (!isObj(raw)) throw new PlanError('the plan is not an object');
  const tableName = raw.table;
  const base = catalog.tables.find((t) => t.name === tableName);
  if (typeof tableName !== 'string' || !base) throw new PlanError(`there is no table "${String(tableName)}"`);
  const joins = Array.isArray(raw.joins) ? raw.joins : raw.joins == null ? [] : null;
  if (!joins) throw new PlanError('joins must be a list');
  if (joins.length > PLAN_BOUNDS.joins) throw new PlanError(`at most ${PLAN_BOUNDS.joins} joins`);
  const tables = new Map<string, CatalogTable>([[base.name, base]]);
  const planJoins = joins.map((j) => {
    if (!isObj(j) || typeof j.column !== 'string' || typeof j.table !== 'string' || typeof j.references !== 'string')
      throw new PlanError('a join needs column, table and references');
    const rel = (catalog.relationships ?? []).find(
      (r) =>
        r.from.table === base.name &&
        r.from.column === j.column &&
        r.to.table === j.table &&
        r.to.column === j.references,
    );
    if (!rel) throw new PlanError(`${base.name}.${j.column} is not declared to reference ${j.table}.${j.references}`);
    if (tables.has(j.table)) throw new PlanError(`${j.table} is joined twice`);
    tables.set(
      j.table,
      catalog.tables.find((t) => t.name === j.table)!,
    );
    return { column: j.column, table: j.table, references: j.references };
  });
  const column = (ref: unknown, what: string): ColumnRef & { col: CatalogColumn } => {
    if (!isObj(ref) || typeof ref.table !== 'string' || typeof ref.column !== 'string')
      throw new PlanError(`${what} needs a table and a column`);
    const t = tables.get(ref.table);
    if (!t) throw new PlanError(`${what}: table "${ref.table}" is not in the plan`);
    const col = t.columns.find((c) => c.name === ref.column);
    if (!col) throw new PlanError(`${what}: ${ref.table} has no column "${ref.column}"`);
    return { table: t.name, column: col.name, col };
  };
  const timePart = (v: unknown, col: CatalogColumn, what: string): TimePart | null => {
    if (v === null || v === undefined) return null;
    if (typeof v !== 'string' || !TIME_PARTS.has(v)) throw new PlanError(`${what}: unknown time part`);
    if (col.kind === 'temporal') return v as TimePart;
    if (col.kind === 'number' && v === 'YEAR' && /year/i.test(col.name)) return 'YEAR';
    if (col.kind === 'number' && v === 'MONTH' && /month/i.test(col.name)) return 'MONTH';
    throw new PlanError(`${what}: ${col.name} is not a date`);
  };

  const aggregate = raw.aggregate;
  if (typeof aggregate !== 'string' || !AGGREGATES.has(aggregate)) throw new PlanError('unknown aggregate');
  let measure: (ColumnRef & { col: CatalogColumn }) | null = null;
  if (aggregate === 'COUNT') {
    if (raw.measure != null) throw new PlanError('COUNT counts rows: no measure');
  } else {
    measure = column(raw.measure, 'the measure');
    if (NUMERIC_AGGREGATES.has(aggregate) && measure.col.kind !== 'number')
      throw new PlanError(`${measure.column} is not numeric`);
    if ((aggregate === 'MIN' || aggregate === 'MAX') && measure.col.kind === 'other')
      throw new PlanError(`${measure.column} has no order`);
  }
  let percentile: number | null = null;
  if (aggregate === 'PERCENTILE') {
    if (typeof raw.percentile !== 'number' || !(raw.percentile > 0 && raw.percentile < 1))
      throw new PlanError('a percentile is a fraction between 0 and 1');
    percentile = raw.percentile;
  } else if (raw.percentile != null) throw new PlanError('percentile is only for PERCENTILE');

  let group: QueryPlan['group'] = null;
  if (raw.group != null) {
    if (!isObj(raw.group)) throw new PlanError('group must be an object');
    const g = column(raw.group.column, 'the group');
    group = {
      column: { table: g.table, column: g.column },
      timePart: timePart(raw.group.timePart, g.col, 'the group'),
    };
    if (aggregate === 'VALUES') throw new PlanError('VALUES lists rows: no group');
  }
  const filters = Array.isArray(raw.filters) ? raw.filters : raw.filters == null ? [] : null;
  if (!filters) throw new PlanError('filters must be a list');
  if (filters.length > PLAN_BOUNDS.filters) throw new PlanError(`at most ${PLAN_BOUNDS.filters} filters`);
  const planFilters = filters.map((f) => {
    if (!isObj(f)) throw new PlanError('a filter must be an object');
    const c = column(f.column, 'a filter');
    const part = timePart(f.timePart, c.col, 'a filter');
    if (typeof f.op !== 'string' || !OPS.has(f.op)) throw new PlanError('unknown filter operator');
    const values = Array.isArray(f.values) ? f.values : [];
    const n = values.length;
    const ok =
      f.op === 'IS_NULL' || f.op === 'NOT_NULL'
        ? n === 0
        : f.op === 'IN'
          ? n >= 1 && n <= PLAN_BOUNDS.inValues
          : f.op === 'BETWEEN'
            ? n === 2
            : n === 1;
    if (!ok) throw new PlanError(`${f.op} on ${c.column} has the wrong number of values`);
    const numeric = part !== null && part !== 'DATE' && part !== 'YEAR_MONTH' ? true : c.col.kind === 'number';
    for (const v of values) {
      if (numeric ? typeof v !== 'number' || !Number.isFinite(v) : typeof v !== 'string' && typeof v !== 'number')
        throw new PlanError(`${c.column}${part ? ` (${part})` : ''} is compared with a ${numeric ? 'number' : 'text'}`);
      if (typeof v === 'string' && v.length > PLAN_BOUNDS.valueLength) throw new PlanError('a value is too long');
    }
    return {
      column: { table: c.table, column: c.column },
      timePart: part,
      op: f.op as QueryPlan['filters'][number]['op'],
      values: values as (string | number)[],
    };
  });
  if (aggregate === 'VALUES' && planFilters.length === 0) throw new PlanError('listing values needs a filter');
  const order = raw.order === 'ASC' ? 'ASC' : raw.order === 'DESC' || raw.order == null ? 'DESC' : null;
  if (!order) throw new PlanError('order is ASC or DESC');
  let limit: number | null = null;
  if (raw.limit != null) {
    if (typeof raw.limit !== 'number' || !Number.isInteger(raw.limit) || raw.limit < 1 || raw.limit > MAX_GROUPS)
      throw new PlanError(`a limit is a whole number from 1 to ${MAX_GROUPS}`);
    if (!group) throw new PlanError('a limit ranks groups: it needs a group');
    limit = raw.limit;
  }
  return {
    table: base.name,
    joins: planJoins,
    aggregate: aggregate as QueryPlan['aggregate'],
    measure: measure && { table: measure.table, column: measure.column },
    percentile,
    metric: typeof raw.metric === 'string' ? raw.metric.slice(0, 100) : null,
    group,
    filters: planFilters,
    order,
    limit,
  };
}

/** The name of a plan's aggregate column in the result: row_count, avg_temp_max, distinct_species, p90_delay, ... */
export function aggregateAlias(plan: QueryPlan): string {
  const m = plan.measure?.column ?? '';
  switch (plan.aggregate) {
    case 'COUNT':
      return 'row_count';
    case 'VALUES':
      return m;
    case 'COUNT_DISTINCT':
      return `distinct_${m}`;
    case 'PERCENTILE':
      return `p${Number(((plan.percentile ?? 0) * 100).toFixed(2))}_${m}`.replace('.', '_');
    default:
      return `${plan.aggregate.toLowerCase()}_${m}`;
  }
}

/** The result column of a grouped plan's label: the column's name, or the time part's (`month`, `year`, ...). */
export function groupLabel(plan: QueryPlan): string {
  const g = plan.group!;
  return g.timePart ? g.timePart.toLowerCase() : g.column.column;
}

/** The aggregates that can be NULL for a group (every value of the measure NULL); COUNT never is. */
const NULLABLE = new Set(['AVG', 'SUM', 'MAX', 'MIN', 'MEDIAN', 'PERCENTILE']);

/**
 * The column alias of the rank in a ranked (top-N) statement's subquery, and of the group's sort key. Catalog
 * columns never start with `_` (spark-apps/bronze_to_gold.py `snake_case` strips leading underscores), so they
 * cannot shadow one; neither is in the result.
 */
export const RANK_ALIAS = '_rank';
const KEY_ALIAS = '_key';

const labelArray = (names: readonly string[]) => `array(${names.map((n) => `'${n}'`).join(', ')})`;

/**
 * Renders a validated plan ({@link validatePlan}) as ONE Spark SQL statement. Identifiers are the catalog's,
 * backtick-quoted (qualified `t0`, `t1`, ... when the plan joins); every value from the question is a named
 * parameter (`:p1`, `:p2`, ...), including the N of a top-N and a percentile. The only numbers written into the text
 * are the LIMIT (Spark binds no parameter there: {@link MAX_GROUPS} for grouped plans) and the fixed month/day name
 * arrays of time labels.
 *
 * Time parts: YEAR(c) (an integer year column as is), QUARTER(c), MONTH(c) labelled with its English name,
 * `date_format(c, 'yyyy-MM')`, DAYOFWEEK(c) labelled Sunday..Saturday, CAST(c AS DATE); a grouped time part is
 * ordered by its calendar value, not its label.
 *
 * Top-N plans keep ties: groups ranked with `RANK() OVER (ORDER BY <aggregate> <order>)` in a subquery, every group
 * of rank <= N returned; groups whose aggregate is NULL are left out of a ranking. Rows come ordered by the
 * aggregate (NULLs last), then by the group ascending. Spark 4.1 has no QUALIFY, hence the subquery.
 */
export function toSql(plan: QueryPlan, catalog: Catalog): { sql: string; params: Record<string, SqlParam> } {
  const params: Record<string, SqlParam> = {};
  const bind = (v: SqlParam) => {
    const name = `p${Object.keys(params).length + 1}`;
    params[name] = v;
    return `:${name}`;
  };
  const joined = plan.joins.length > 0;
  const aliasOf = new Map<string, string>([[plan.table, 't0']]);
  plan.joins.forEach((j, i) => aliasOf.set(j.table, `t${i + 1}`));
  const col = (ref: ColumnRef) => (joined ? `${aliasOf.get(ref.table)}.` : '') + quoteIdent(ref.column);
  const catalogColumn = (ref: ColumnRef) =>
    catalog.tables.find((t) => t.name === ref.table)!.columns.find((c) => c.name === ref.column)!;
  const partExpr = (ref: ColumnRef, part: TimePart | null) => {
    const c = col(ref);
    const numeric = catalogColumn(ref).kind === 'number';
    switch (part) {
      case null:
        return c;
      case 'YEAR':
        return numeric ? c : `YEAR(${c})`;
      case 'QUARTER':
        return `QUARTER(${c})`;
      case 'MONTH':
        return numeric ? c : `MONTH(${c})`;
      case 'YEAR_MONTH':
        return `date_format(${c}, 'yyyy-MM')`;
      case 'DAY_OF_WEEK':
        return `DAYOFWEEK(${c})`;
      case 'DATE':
        return `CAST(${c} AS DATE)`;
    }
  };
  const literal = (ref: ColumnRef, part: TimePart | null, v: SqlParam) => {
    const p = bind(v);
    if (part === 'DATE') return `CAST(${p} AS DATE)`;
    if (part === null && catalogColumn(ref).kind === 'temporal')
      return /^date$/i.test(catalogColumn(ref).type) ? `CAST(${p} AS DATE)` : `CAST(${p} AS TIMESTAMP)`;
    return p;
  };

  const measure = plan.measure ? col(plan.measure) : '';
  const agg = {
    COUNT: 'COUNT(*)',
    COUNT_DISTINCT: `COUNT(DISTINCT ${measure})`,
    AVG: `AVG(${measure})`,
    SUM: `SUM(${measure})`,
    MAX: `MAX(${measure})`,
    MIN: `MIN(${measure})`,
    MEDIAN: `percentile(${measure}, 0.5)`,
    PERCENTILE: '',
    VALUES: measure,
  }[plan.aggregate];
  const aggregate = plan.aggregate === 'PERCENTILE' ? `percentile(${measure}, ${bind(plan.percentile!)})` : agg;
  const alias = quoteIdent(aggregateAlias(plan));
  const where = plan.filters.map((f) => {
    const e = partExpr(f.column, f.timePart);
    switch (f.op) {
      case 'IS_NULL':
        return `${e} IS NULL`;
      case 'NOT_NULL':
        return `${e} IS NOT NULL`;
      case 'IN':
        return `${e} IN (${f.values.map((v) => literal(f.column, f.timePart, v)).join(', ')})`;
      case 'BETWEEN':
        return `${e} BETWEEN ${literal(f.column, f.timePart, f.values[0]!)} AND ${literal(f.column, f.timePart, f.values[1]!)}`;
      default:
        return `${e} ${f.op === '!=' ? '<>' : f.op} ${literal(f.column, f.timePart, f.values[0]!)}`;
    }
  });
  const from =
    quoteIdent(plan.table) +
    (joined ? ' AS t0' : '') +
    plan.joins
      .map(
        (j, i) =>
          ` JOIN ${quoteIdent(j.table)} AS t${i + 1} ON t0.${quoteIdent(j.column)} = t${i + 1}.${quoteIdent(j.references)}`,
      )
      .join('');

  if (plan.aggregate === 'VALUES')
    return { sql: `SELECT ${measure} FROM ${from}${whereClause(where)} LIMIT ${MAX_GROUPS}`, params };
  if (!plan.group) return { sql: `SELECT ${aggregate} AS ${alias} FROM ${from}${whereClause(where)}`, params };

  const key = partExpr(plan.group.column, plan.group.timePart);
  const labelName = quoteIdent(groupLabel(plan));
  // element_at takes an INT index: an integer `month` column is a BIGINT in the lake.
  const labelExpr =
    plan.group.timePart === 'MONTH'
      ? `element_at(${labelArray(MONTH_NAMES)}, CAST(${key} AS INT))`
      : plan.group.timePart === 'DAY_OF_WEEK'
        ? `element_at(${labelArray(DAY_NAMES)}, CAST(${key} AS INT))`
        : key;
  const needsKey = labelExpr !== key;
  where.push(`${key} IS NOT NULL`);
  const grouped = `${from}${whereClause(where)} GROUP BY ${key}`;
  const labelSelect = labelExpr === labelName ? labelName : `${labelExpr} AS ${labelName}`;
  const select = `${labelSelect}${needsKey ? `, ${key} AS ${quoteIdent(KEY_ALIAS)}` : ''}`;
  const sortKey = needsKey ? quoteIdent(KEY_ALIAS) : labelName;
  const orderBy = `ORDER BY ${alias} ${plan.order} NULLS LAST, ${sortKey} ASC LIMIT ${MAX_GROUPS}`;
  if (plan.limit === null) {
    // A time part reads in calendar order (by its grouping expression); categories by the aggregate. A named label
    // (month names) sorts by its key from a subquery: the label's alias may shadow the column (`month`).
    if (needsKey)
      return {
        sql:
          `SELECT ${labelName}, ${alias} FROM (SELECT ${select}, ${aggregate} AS ${alias} FROM ${grouped}) AS ` +
          `${quoteIdent('grouped')} ORDER BY ${quoteIdent(KEY_ALIAS)} ASC LIMIT ${MAX_GROUPS}`,
        params,
      };
    const order = plan.group.timePart ? `ORDER BY ${key} ASC LIMIT ${MAX_GROUPS}` : orderBy;
    return { sql: `SELECT ${labelSelect}, ${aggregate} AS ${alias} FROM ${grouped} ${order}`, params };
  }
  const having = NULLABLE.has(plan.aggregate) ? ` HAVING ${aggregate} IS NOT NULL` : '';
  const rank = quoteIdent(RANK_ALIAS);
  const ranked =
    `SELECT ${select}, ${aggregate} AS ${alias}, RANK() OVER (ORDER BY ${aggregate} ${plan.order} NULLS LAST) AS ${rank} ` +
    `FROM ${grouped}${having}`;
  return {
    sql:
      `SELECT ${labelName}, ${alias} FROM (${ranked}) AS ${quoteIdent('ranked')} ` +
      `WHERE ${rank} <= ${bind(plan.limit)} ${orderBy}`,
    params,
  };
}

const whereClause = (conditions: string[]) => (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '');
