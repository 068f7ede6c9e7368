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

/**
 * Renders a plan as ONE Spark SQL statement. Identifiers are the catalog's, backtick-quoted; every value from the
 * question is a named parameter (`:p1`, `:p2`, ... in order of appearance). The only number written into the text
 * is the LIMIT, because Spark does not bind parameters there; it is an integer the planner produced (1..1000).
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
  const groupSelect = plan.group.year ? `${groupExpr} AS ${quoteIdent('year')}` : g;
  where.push(`${g} IS NOT NULL`);
  const limit = Math.min(plan.limit ?? MAX_GROUPS, MAX_GROUPS);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`bad limit ${limit}`);
  return {
    sql:
      `SELECT ${groupSelect}, ${agg} AS ${alias} FROM ${quoteIdent(plan.table.name)}${whereClause(where)} ` +
      `GROUP BY ${groupExpr} ORDER BY ${alias} ${plan.order} NULLS LAST, ${groupExpr} ASC LIMIT ${limit}`,
    params,
  };
}

const whereClause = (conditions: string[]) => (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '');
