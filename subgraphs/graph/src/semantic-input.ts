/**
 * Bounds and normalization of what a caller sends to the semantic layer's mutations (schema.graphql, type Mutation),
 * checked before any Cypher runs. Every refusal is a DataPilotError BAD_USER_INPUT whose `extensions.field` names the
 * argument (`input.synonyms[3]`, `to.column`) and whose message says the rule.
 */
import { badUserInput } from '@datapilot/common';

/**
 * Names of datasets, columns and metrics: the lake's table-name rule (`TABLE_NAME_PATTERN` of
 * packages/lake/src/lake-layout.ts; gold column names follow it too, `normalize_column_names` in
 * orchestration/dags/datapilot_pipeline/bronze_to_gold.py). Repeated here so that this subgraph does not load the lake
 * client; test/semantic.test.ts checks that the two are the same.
 */
export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** Longest description of a dataset, column or metric, in characters (Unicode code points) after trimming. */
export const MAX_DESCRIPTION_LENGTH = 2_000;
/** Most synonyms of one column or metric. */
export const MAX_SYNONYMS = 50;
/** Longest synonym, in characters after trimming. */
export const MAX_SYNONYM_LENGTH = 100;
/** Most value aliases of one column. */
export const MAX_VALUE_ALIASES = 200;
/** Longest alias name, in characters after trimming. */
export const MAX_ALIAS_NAME_LENGTH = 100;
/** Longest aliased value, in characters (as stored, not trimmed). */
export const MAX_ALIAS_VALUE_LENGTH = 1_000;
/** Longest unit, in characters after trimming. */
export const MAX_UNIT_LENGTH = 50;
/** Most sample values one `DatasetColumn.sampleValues(first:)` returns. */
export const MAX_SAMPLE_VALUES = 1_000;
/** Most metrics of one dataset (`defineMetric` refuses a new one beyond). */
export const MAX_METRICS_PER_DATASET = 100;
/** Most references from one column (`defineRelationship` refuses a new one beyond). */
export const MAX_REFERENCES_PER_COLUMN = 10;
/**
 * Least share of the referencing column's distinct values that must be values of the referenced key: the pipeline's
 * `REFERENCE_COVERAGE` (orchestration/dags/datapilot_pipeline/publish.py), which `defineRelationship` applies too.
 */
export const REFERENCE_COVERAGE = 0.95;

/** The semantic types of a column (enum SemanticType). */
export const SEMANTIC_TYPES = ['TIME', 'CATEGORY', 'MEASURE', 'IDENTIFIER', 'GEO_CODE', 'TEXT'] as const;
/** The aggregates of a metric (enum MetricAggregate). */
export const METRIC_AGGREGATES = ['COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG', 'MIN', 'MAX', 'MEDIAN'] as const;
/** The cardinalities of a reference (enum ReferenceCardinality). */
export const CARDINALITIES = ['MANY_TO_ONE', 'ONE_TO_ONE'] as const;

/** Length in Unicode code points (what a person counts as characters). */
const length = (s: string) => [...s].length;

/**
 * `value` when it is a name ({@link NAME_PATTERN}).
 * @throws BAD_USER_INPUT naming `field` otherwise.
 */
export function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value))
    throw badUserInput(`${field} must be a name: a lower-case letter, then letters, digits or _ (63 at most).`, field);
  return value;
}

/**
 * A description as stored: trimmed, null when null or empty.
 * @throws BAD_USER_INPUT when longer than {@link MAX_DESCRIPTION_LENGTH}.
 */
export function cleanDescription(value: string | null | undefined, field: string): string | null {
  const text = (value ?? '').trim();
  if (length(text) > MAX_DESCRIPTION_LENGTH)
    throw badUserInput(
      `${field} has ${length(text)} characters; at most ${MAX_DESCRIPTION_LENGTH} are allowed.`,
      field,
    );
  return text === '' ? null : text;
}

/**
 * A unit as stored: trimmed, null when null or empty.
 * @throws BAD_USER_INPUT when longer than {@link MAX_UNIT_LENGTH}.
 */
export function cleanUnit(value: string | null | undefined, field: string): string | null {
  const text = (value ?? '').trim();
  if (length(text) > MAX_UNIT_LENGTH)
    throw badUserInput(`${field} has ${length(text)} characters; at most ${MAX_UNIT_LENGTH} are allowed.`, field);
  return text === '' ? null : text;
}

/**
 * Synonyms as stored: each trimmed, inner white space collapsed to one space, lower-cased; duplicates dropped (first
 * kept).
 * @throws BAD_USER_INPUT for null, more than {@link MAX_SYNONYMS}, or one empty or longer than
 *   {@link MAX_SYNONYM_LENGTH} (naming its index).
 */
export function cleanSynonyms(value: readonly string[] | null | undefined, field: string): string[] {
  if (value == null) throw badUserInput(`${field} cannot be null; give an empty list to remove them all.`, field);
  if (value.length > MAX_SYNONYMS)
    throw badUserInput(`${field} has ${value.length} synonyms; at most ${MAX_SYNONYMS} are allowed.`, field);
  const out: string[] = [];
  value.forEach((raw, i) => {
    const text = raw.trim().replace(/\s+/g, ' ').toLowerCase();
    if (text === '') throw badUserInput(`${field}[${i}] is empty.`, `${field}[${i}]`);
    if (length(text) > MAX_SYNONYM_LENGTH)
      throw badUserInput(
        `${field}[${i}] has ${length(text)} characters; at most ${MAX_SYNONYM_LENGTH} are allowed.`,
        `${field}[${i}]`,
      );
    if (!out.includes(text)) out.push(text);
  });
  return out;
}

/** Value aliases as stored: two parallel lists (Column.aliasNames, Column.aliasValues). */
export type StoredAliases = { aliasNames: string[]; aliasValues: string[] };

/**
 * Value aliases as stored: names trimmed (inner white space collapsed), values as given.
 * @throws BAD_USER_INPUT for null, more than {@link MAX_VALUE_ALIASES}, an empty or too long name or value (naming
 *   its index), or two names equal ignoring case.
 */
export function cleanAliases(
  value: readonly { name: string; value: string }[] | null | undefined,
  field: string,
): StoredAliases {
  if (value == null) throw badUserInput(`${field} cannot be null; give an empty list to remove them all.`, field);
  if (value.length > MAX_VALUE_ALIASES)
    throw badUserInput(`${field} has ${value.length} aliases; at most ${MAX_VALUE_ALIASES} are allowed.`, field);
  const aliasNames: string[] = [];
  const aliasValues: string[] = [];
  const seen = new Map<string, number>();
  value.forEach((a, i) => {
    const name = a.name.trim().replace(/\s+/g, ' ');
    const at = `${field}[${i}]`;
    if (name === '') throw badUserInput(`${at}.name is empty.`, `${at}.name`);
    if (length(name) > MAX_ALIAS_NAME_LENGTH)
      throw badUserInput(
        `${at}.name has ${length(name)} characters; at most ${MAX_ALIAS_NAME_LENGTH} are allowed.`,
        `${at}.name`,
      );
    if (a.value === '') throw badUserInput(`${at}.value is empty.`, `${at}.value`);
    if (length(a.value) > MAX_ALIAS_VALUE_LENGTH)
      throw badUserInput(
        `${at}.value has ${length(a.value)} characters; at most ${MAX_ALIAS_VALUE_LENGTH} are allowed.`,
        `${at}.value`,
      );
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined)
      throw badUserInput(`${at}.name "${name}" is also ${field}[${first}].name; each name may alias one value.`, at);
    seen.set(key, i);
    aliasNames.push(name);
    aliasValues.push(a.value);
  });
  return { aliasNames, aliasValues };
}

/** How many distinct values of a referencing column are values of the referenced one, as {@link referenceCoverage} counts. */
export type Coverage = {
  /** Distinct values of the referencing column found among the referenced column's values. */
  covered: number;
  /** Distinct values of the referencing column. */
  total: number;
  /** `covered / total`, 0..1, rounded to 6 places as the pipeline stores it. */
  coverage: number;
  /** `covered / total` >= {@link REFERENCE_COVERAGE} (compared before rounding, as the pipeline does). */
  enough: boolean;
};

/**
 * The coverage of a reference from a column with values `from` to one with values `to` (each the column's complete
 * list of distinct non-null values, as text): the share of `from`'s distinct values that are values of `to`, the
 * rule of `infer_references` in orchestration/dags/datapilot_pipeline/publish.py.
 * @returns null when `from` has no values (nothing to measure).
 */
export function referenceCoverage(from: readonly string[], to: readonly string[]): Coverage | null {
  const values = new Set(from);
  if (values.size === 0) return null;
  const keys = new Set(to);
  let covered = 0;
  for (const v of values) if (keys.has(v)) covered += 1;
  const share = covered / values.size;
  return {
    covered,
    total: values.size,
    coverage: Math.round(share * 1e6) / 1e6,
    enough: share >= REFERENCE_COVERAGE,
  };
}

/** Spark SQL integer type names (a reference joins integers with integers). */
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'int', 'integer', 'bigint', 'byte', 'short', 'long']);
/** Spark SQL numeric type names, `decimal(p,s)` aside. */
const NUMERIC_TYPES = new Set([...INTEGER_TYPES, 'float', 'double', 'real']);

/** True for a Spark SQL numeric type name (`bigint`, `double`, `decimal(10,2)`, ...). */
export const isNumericType = (type: string | null | undefined): boolean =>
  !!type && (NUMERIC_TYPES.has(type.toLowerCase()) || /^decimal(\(\d+,\s*\d+\))?$/i.test(type));

/**
 * The kind of join key a Spark SQL type is (`text`, `integer`), or the type itself: two columns may reference each
 * other when their kinds are equal (both text, both integers, or the same other type).
 */
export const keyKind = (type: string | null | undefined): string => {
  const t = (type ?? 'unknown').toLowerCase();
  if (t === 'string' || /^(var)?char\(\d+\)$/.test(t)) return 'text';
  return INTEGER_TYPES.has(t) ? 'integer' : t;
};
