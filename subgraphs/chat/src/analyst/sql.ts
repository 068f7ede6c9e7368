import { MAX_GROUPS, type Plan, type SqlParam } from './types.ts';

/** Quotes a Spark SQL identifier with backticks (a backtick inside is doubled). Identifiers come from the catalog only. */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** The name of a plan's aggregate column in the result: row_count, avg_temp_max, distinct_species, ... */
export function aggregateAlias(plan: Plan): string {
  if (plan.aggregate === 'COUNT') return 'row_count';
  if (plan.aggregate === 'VALUES') return plan.measure!.name;
  const prefix = plan.aggregate === 'COUNT_DISTINCT' ? 'distinct' : plan.aggregate.toLowerCase();
  return `${prefix}_${plan.measure!.name}`;
}

/** The aggregates that can be NULL for a group (every value of the measure NULL); COUNT never is. */
const NULLABLE: ReadonlySet<Plan['aggregate']> = new Set(['AVG', 'SUM', 'MAX', 'MIN']);

/**
 * The column alias of the rank in a ranked (top-N) statement's subquery. Catalog columns never start with `_`
 * (spark-apps/bronze_to_gold.py `snake_case` strips leading underscores), so it cannot shadow one; it is not in the
 * result.
 */
export const RANK_ALIAS = '_rank';

/**
 * Renders a plan as ONE Spark SQL statement. Identifiers are the catalog's, backtick-quoted; every value from the
 * question is a named parameter (`:p1`, `:p2`, ... in order of appearance), including the N of a top-N. The only
 * number written into the text is the LIMIT, because Spark does not bind parameters there: 1000
 * ({@link MAX_GROUPS}) for grouped plans.
 *
 * Top-N plans (`limit` set) keep ties: the groups are ranked with `RANK() OVER (ORDER BY <aggregate> <order>)` in a
 * subquery and every group of rank <= N is returned, so when the N-th value is shared by more groups, all of them
 * are (the 9 origins with 1 flight each for "the fewest flights", not one of them picked by name). Groups whose
 * aggregate is NULL (no value of the measure) are left out of a ranking (`HAVING ... IS NOT NULL`): they have no
 * value to be highest or lowest. Spark 4.1 has no QUALIFY, hence the subquery.
 *
 * Rows come ordered by the aggregate (`order`, NULLs last), then by the group ascending: a stable order, so the
 * first row of a tie is the smallest label.
 * @throws Error when a plan's limit is not an integer from 1 to {@link MAX_GROUPS} (a planner bug, not user input).
 */
export function toSql(plan: Plan): { sql: string; params: Record<string, SqlParam> } {
  const params: Record<string, SqlParam> = {};
  const bind = (v: SqlParam) => {
    const name = `p${Object.keys(params).length + 1}`;
    params[name] = v;
    return `:${name}`;
  };
  const measure = plan.measure ? quoteIdent(plan.measure.name) : '';
  const agg = {
    COUNT: 'COUNT(*)',
    COUNT_DISTINCT: `COUNT(DISTINCT ${measure})`,
    AVG: `AVG(${measure})`,
    SUM: `SUM(${measure})`,
    MAX: `MAX(${measure})`,
    MIN: `MIN(${measure})`,
    VALUES: measure,
  }[plan.aggregate];
  const alias = quoteIdent(aggregateAlias(plan));
  const where = plan.filters.map(
    (f) => `${f.year ? `YEAR(${quoteIdent(f.column.name)})` : quoteIdent(f.column.name)} ${f.op} ${bind(f.value)}`,
  );

  if (plan.aggregate === 'VALUES') {
    const sql = `SELECT ${agg} FROM ${quoteIdent(plan.table.name)}${whereClause(where)} LIMIT ${MAX_GROUPS}`;
    return { sql, params };
  }
  if (!plan.group) {
    return { sql: `SELECT ${agg} AS ${alias} FROM ${quoteIdent(plan.table.name)}${whereClause(where)}`, params };
  }
  const g = quoteIdent(plan.group.column.name);
  const groupExpr = plan.group.year ? `YEAR(${g})` : g;
  const label = plan.group.year ? quoteIdent('year') : g;
  const groupSelect = plan.group.year ? `${groupExpr} AS ${label}` : g;
  where.push(`${g} IS NOT NULL`);
  const from = `${quoteIdent(plan.table.name)}${whereClause(where)} GROUP BY ${groupExpr}`;
  const orderBy = (key: string) => `ORDER BY ${alias} ${plan.order} NULLS LAST, ${key} ASC LIMIT ${MAX_GROUPS}`;
  if (plan.limit === null)
    return { sql: `SELECT ${groupSelect}, ${agg} AS ${alias} FROM ${from} ${orderBy(groupExpr)}`, params };

  if (!Number.isInteger(plan.limit) || plan.limit < 1 || plan.limit > MAX_GROUPS)
    throw new Error(`bad limit ${plan.limit}`);
  const having = NULLABLE.has(plan.aggregate) ? ` HAVING ${agg} IS NOT NULL` : '';
  const rank = quoteIdent(RANK_ALIAS);
  const ranked =
    `SELECT ${groupSelect}, ${agg} AS ${alias}, RANK() OVER (ORDER BY ${agg} ${plan.order} NULLS LAST) AS ${rank} ` +
    `FROM ${from}${having}`;
  return {
    sql:
      `SELECT ${label}, ${alias} FROM (${ranked}) AS ${quoteIdent('ranked')} ` +
      `WHERE ${rank} <= ${bind(plan.limit)} ${orderBy(label)}`,
    params,
  };
}

const whereClause = (conditions: string[]) => (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '');
