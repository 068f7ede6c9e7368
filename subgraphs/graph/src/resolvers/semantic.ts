/**
 * The semantic layer's mutations (schema.graphql, type Mutation): who may call them is the permission table's
 * (packages/common/src/permissions.ts, ADMIN; enforced by the guard before these run); here each one checks its
 * input (src/semantic-input.ts), writes in the token's organization (src/data/semantic.ts: every statement matches
 * `orgId` = the token's `org` claim, so another organization's dataset is NOT_FOUND and never written), then reads
 * its result back through @neo4j/graphql's generated `datasets` field (src/entities.ts `runDatasets`), so that what
 * it returns passes the same @authorization rules as any read and selects exactly what the caller selected.
 */
import type { FieldNode, GraphQLResolveInfo, SelectionNode } from 'graphql';
import type { Driver } from 'neo4j-driver';
import { badUserInput, notFound, unauthenticated } from '@datapilot/common';
import type { GraphContext } from '../context.ts';
import { runDatasets } from '../entities.ts';
import {
  deleteMetricNode,
  deleteReference,
  writeColumn,
  writeDatasetDescription,
  writeMetric,
  writeReference,
  type ColumnKey,
  type ColumnProps,
  type ColumnState,
} from '../data/semantic.ts';
import {
  checkName,
  cleanAliases,
  cleanDescription,
  cleanSynonyms,
  cleanUnit,
  isNumericType,
  keyKind,
  MAX_METRICS_PER_DATASET,
  MAX_REFERENCES_PER_COLUMN,
  REFERENCE_COVERAGE,
  referenceCoverage,
  type StoredAliases,
} from '../semantic-input.ts';

type ColumnUpdateInput = {
  description?: string | null;
  semanticType?: string | null;
  unit?: string | null;
  synonyms?: string[] | null;
  valueAliases?: { name: string; value: string }[] | null;
};
type MetricInput = {
  name: string;
  description?: string | null;
  aggregate: string;
  column?: string | null;
  synonyms?: string[] | null;
};
type ColumnRefInput = { dataset: string; column: string };

/** The aggregates that need a numeric column. */
const NUMERIC_AGGREGATES = new Set(['SUM', 'AVG', 'MEDIAN']);

/** The organization of the request: the verified token's `org` claim (never an argument). */
function orgOf(ctx: GraphContext): string {
  const org = ctx.jwt?.org;
  if (!org) throw unauthenticated();
  return org;
}

/** A field node `alias: name { selections }` (graphql-js AST; Kind values are plain strings). */
function fieldNode(name: string, alias?: string, selections?: readonly SelectionNode[]): FieldNode {
  return {
    kind: 'Field' as FieldNode['kind'],
    name: { kind: 'Name' as FieldNode['name']['kind'], value: name },
    ...(alias ? { alias: { kind: 'Name' as FieldNode['name']['kind'], value: alias } } : {}),
    ...(selections
      ? { selectionSet: { kind: 'SelectionSet' as NonNullable<FieldNode['selectionSet']>['kind'], selections } }
      : {}),
  };
}

/** What the caller selected on the mutation's result. */
const clientSelections = (info: GraphQLResolveInfo): SelectionNode[] =>
  info.fieldNodes.flatMap((n) => n.selectionSet?.selections ?? []);

/**
 * Reads dataset `name` back with `selections` (one Cypher query, under the @authorization rules).
 * @throws NOT_FOUND when it is gone (deleted since the write).
 */
async function readDataset(
  ctx: GraphContext,
  info: GraphQLResolveInfo,
  name: string,
  selections: readonly SelectionNode[],
): Promise<Record<string, unknown>> {
  const [row] = await runDatasets(info.schema, ctx, info, [name], selections);
  if (!row) throw notFound(`Dataset "${name}"`);
  return row;
}

/** `key` as `dataset.column`, for messages. */
const dotted = (k: ColumnKey) => `${k.dataset}.${k.column}`;

/** Checks a ColumnRefInput's names, with `field` (`from`, `to`) in the error. */
function checkRef(ref: ColumnRefInput, field: string): ColumnKey {
  return { dataset: checkName(ref.dataset, `${field}.dataset`), column: checkName(ref.column, `${field}.column`) };
}

/** Why profiled column `c` (`isKey` false) is not a key, from its statistics: `: it has ...`. */
function notAKeyBecause(c: ColumnState): string {
  if ((c.nullCount ?? 0) > 0) return `: it has ${c.nullCount} null values.`;
  if (c.distinctCount !== null && c.rowCount !== null && c.distinctCount < c.rowCount)
    return `: it has ${c.distinctCount} distinct values for ${c.rowCount} rows, so a value may match several rows.`;
  return ': the pipeline found duplicate or missing values in it.';
}

/**
 * Why `to` cannot be referenced, or null when it is a key. A key has no nulls and one row per value, as the pipeline
 * profiled it (`isKey`).
 */
function notAKeyReason(to: ColumnState): string | null {
  if (to.isKey === true) return null;
  const what = `to (${dotted(to)}) is not a key`;
  if (to.isKey === null)
    return `${what} as far as anyone knows: the pipeline has not profiled it yet. A reference needs a key column (no nulls, one row per value); define it once the table is profiled.`;
  return what + notAKeyBecause(to);
}

/**
 * Why `cardinality` ONE_TO_ONE does not fit `from`, or null when it may: the schema's rule, ONE_TO_ONE only when
 * `from` is a key too; refused when the pipeline profiled `from` and found it is not (`isKey` false); a column not
 * profiled yet is taken at the caller's word.
 */
function notOneToOneReason(from: ColumnState, cardinality: string): string | null {
  if (cardinality !== 'ONE_TO_ONE' || from.isKey !== false) return null;
  return (
    `cardinality ONE_TO_ONE needs from to be a key too, and from (${dotted(from)}) is not a key` +
    notAKeyBecause(from).replace(/\.$/, '; use MANY_TO_ONE.')
  );
}

/** `share` (0..1) as a percentage for messages: at most one decimal, rounded down (94.99% reads 94.9%, not 95%). */
const percent = (share: number): string => `${Math.floor(share * 1000 + 1e-9) / 10}%`;

/**
 * The coverage of `from` → `to` to store: measured ({@link referenceCoverage}) when the pipeline listed all values of
 * both columns (`valuesComplete`), else null (not measured).
 * @throws BAD_USER_INPUT (field `to`) when measured and below {@link REFERENCE_COVERAGE}: most values of `from` would
 *   join nothing, so the reference is not a join path.
 */
function checkedCoverage(from: ColumnState, to: ColumnState): number | null {
  if (from.valuesComplete !== true || to.valuesComplete !== true) return null;
  const c = referenceCoverage(from.listedValues, to.listedValues);
  if (c === null) return null;
  if (!c.enough)
    throw badUserInput(
      `only ${c.covered} of ${c.total} values of ${dotted(from)} (${percent(c.covered / c.total)}) are values of ` +
        `${dotted(to)}; a reference needs at least ${percent(REFERENCE_COVERAGE)} of them (the rule the pipeline ` +
        'profiles references by), else a join along it loses or mismatches rows.',
      'to',
    );
  return c.coverage;
}

/**
 * Refuses an alias whose name is another value the column holds (`Gentoo` for `Adelie` in a column holding both):
 * the alias would hide that value. Names compare ignoring case, as alias names do among themselves; `listed` are the
 * values the pipeline listed for the column (all of them when its values are known completely).
 * @throws BAD_USER_INPUT naming `input.valueAliases[i].name`.
 */
function checkAliasesHideNothing(aliases: StoredAliases, listed: readonly string[], key: ColumnKey): void {
  if (listed.length === 0) return;
  const exact = new Set(listed);
  const byLower = new Map<string, string>();
  for (const v of listed) if (!byLower.has(v.toLowerCase())) byLower.set(v.toLowerCase(), v);
  aliases.aliasNames.forEach((name, i) => {
    const held = exact.has(name) ? name : byLower.get(name.toLowerCase());
    if (held === undefined || held === aliases.aliasValues[i]) return;
    throw badUserInput(
      `input.valueAliases[${i}].name "${name}" is itself a value of ${dotted(key)} ("${held.slice(0, 100)}"); ` +
        `as an alias of "${aliases.aliasValues[i]!.slice(0, 100)}" it would hide that value. Use a name the column ` +
        'does not hold.',
      `input.valueAliases[${i}].name`,
    );
  });
}

/**
 * The mutation resolvers, handed to @neo4j/graphql with the other custom resolvers. `driver` runs the writes (the
 * same traced driver @neo4j/graphql uses); without it (schema built to print its SDL) they throw.
 */
export function semanticResolvers(driver: Driver | undefined) {
  const db = (): Driver => {
    if (!driver) throw new Error('graph schema: built without a Neo4j driver');
    return driver;
  };
  return {
    Mutation: {
      async updateDataset(
        _: unknown,
        args: { name: string; description?: string | null },
        ctx: GraphContext,
        info: GraphQLResolveInfo,
      ) {
        const name = checkName(args.name, 'name');
        if (!('description' in args))
          throw badUserInput('description is required (null removes the description).', 'description');
        const description = cleanDescription(args.description, 'description');
        if (!(await writeDatasetDescription(db(), orgOf(ctx), name, description))) throw notFound(`Dataset "${name}"`);
        return readDataset(ctx, info, name, clientSelections(info));
      },

      async updateColumn(
        _: unknown,
        args: { dataset: string; column: string; input: ColumnUpdateInput },
        ctx: GraphContext,
        info: GraphQLResolveInfo,
      ) {
        const key = { dataset: checkName(args.dataset, 'dataset'), column: checkName(args.column, 'column') };
        const input = args.input;
        const props: ColumnProps = {};
        if ('description' in input) props.description = cleanDescription(input.description, 'input.description');
        if ('semanticType' in input) {
          if (input.semanticType == null)
            throw badUserInput('input.semanticType cannot be null; leave it out to keep it.', 'input.semanticType');
          props.semanticType = input.semanticType;
        }
        if ('unit' in input) props.unit = cleanUnit(input.unit, 'input.unit');
        if ('synonyms' in input) props.synonyms = cleanSynonyms(input.synonyms, 'input.synonyms');
        const aliases = 'valueAliases' in input ? cleanAliases(input.valueAliases, 'input.valueAliases') : null;
        if (aliases) Object.assign(props, aliases);
        if (Object.keys(props).length === 0)
          throw badUserInput('input changes nothing: give at least one of its fields.', 'input');
        const state = await writeColumn(db(), orgOf(ctx), key, props, (s) => {
          if (aliases) checkAliasesHideNothing(aliases, s.listedValues, key);
          const [unknown] = s.unknownValues;
          if (unknown === undefined) return;
          const i = props.aliasValues!.indexOf(unknown);
          throw badUserInput(
            `input.valueAliases[${i}].value "${unknown.slice(0, 100)}" is not a value of ${dotted(key)} ` +
              '(the pipeline found all of its values); alias a value the column holds.',
            `input.valueAliases[${i}].value`,
          );
        });
        if (state.position === null) throw notFound(`Column ${dotted(key)}`);
        // The column is found by its name: the caller's own `name` selection when it has one (a second, aliased
        // `name` beside it is dropped by @neo4j/graphql's projection), else an aliased one added here.
        const selected = clientSelections(info);
        const hasName = selected.some((f) => f.kind === 'Field' && f.name.value === 'name' && !f.alias);
        const nameKey = hasName ? 'name' : '__name';
        const row = await readDataset(ctx, info, key.dataset, [
          fieldNode('columns', undefined, hasName ? selected : [fieldNode('name', '__name'), ...selected]),
        ]);
        const column = (row['columns'] as Record<string, unknown>[]).find((c) => c[nameKey] === key.column);
        if (!column) throw notFound(`Column ${dotted(key)}`);
        return column;
      },

      async defineMetric(
        _: unknown,
        args: { dataset: string; input: MetricInput },
        ctx: GraphContext,
        info: GraphQLResolveInfo,
      ) {
        const dataset = checkName(args.dataset, 'dataset');
        const { input } = args;
        const metric = {
          name: checkName(input.name, 'input.name'),
          description: cleanDescription(input.description, 'input.description'),
          aggregate: input.aggregate,
          column: input.column == null ? null : checkName(input.column, 'input.column'),
          synonyms: input.synonyms == null ? [] : cleanSynonyms(input.synonyms, 'input.synonyms'),
        };
        if (metric.column === null && metric.aggregate !== 'COUNT')
          throw badUserInput(`input.column is required for ${metric.aggregate}.`, 'input.column');
        const found = await writeMetric(db(), orgOf(ctx), dataset, metric, (column, metrics, exists) => {
          if (metric.column !== null && column.position === null)
            throw badUserInput(`input.column: dataset "${dataset}" has no column "${metric.column}".`, 'input.column');
          if (NUMERIC_AGGREGATES.has(metric.aggregate) && metric.column !== null && !isNumericType(column.type))
            throw badUserInput(
              `input.column: ${metric.aggregate} needs a numeric column; ${dataset}.${metric.column} is ${column.type}.`,
              'input.column',
            );
          if (!exists && metrics >= MAX_METRICS_PER_DATASET)
            throw badUserInput(
              `Dataset "${dataset}" has ${metrics} metrics; at most ${MAX_METRICS_PER_DATASET} are allowed (delete one first).`,
              'input.name',
            );
        });
        if (!found) throw notFound(`Dataset "${dataset}"`);
        const row = await readDataset(ctx, info, dataset, [
          fieldNode('metrics', undefined, [fieldNode('name', '__name'), ...clientSelections(info)]),
        ]);
        const saved = (row['metrics'] as Record<string, unknown>[]).find((m) => m['__name'] === metric.name);
        if (!saved) throw notFound(`Metric "${metric.name}" of dataset "${dataset}"`);
        return saved;
      },

      async deleteMetric(_: unknown, args: { dataset: string; name: string }, ctx: GraphContext) {
        const dataset = checkName(args.dataset, 'dataset');
        const name = checkName(args.name, 'name');
        if (!(await deleteMetricNode(db(), orgOf(ctx), dataset, name)))
          throw notFound(`Metric "${name}" of dataset "${dataset}"`);
        return true;
      },

      async defineRelationship(
        _: unknown,
        args: { from: ColumnRefInput; to: ColumnRefInput; cardinality: string },
        ctx: GraphContext,
        info: GraphQLResolveInfo,
      ) {
        const from = checkRef(args.from, 'from');
        const to = checkRef(args.to, 'to');
        if (from.dataset === to.dataset && from.column === to.column)
          throw badUserInput('from and to are the same column; a reference joins two columns.', 'to');
        const [a, k] = await writeReference(db(), orgOf(ctx), from, to, args.cardinality, (a, k, exists) => {
          const reason = notAKeyReason(k);
          if (reason) throw badUserInput(reason, 'to');
          if (keyKind(a.type) !== keyKind(k.type))
            throw badUserInput(
              `from (${dotted(from)}, ${a.type}) and to (${dotted(to)}, ${k.type}) cannot be joined: both must be ` +
                'text, or both integers, or of the same type.',
              'from',
            );
          const oneToOne = notOneToOneReason(a, args.cardinality);
          if (oneToOne) throw badUserInput(oneToOne, 'cardinality');
          const coverage = checkedCoverage(a, k);
          if (!exists && a.outgoing >= MAX_REFERENCES_PER_COLUMN)
            throw badUserInput(
              `${dotted(from)} references ${a.outgoing} columns; at most ${MAX_REFERENCES_PER_COLUMN} are allowed.`,
              'from',
            );
          return coverage;
        });
        if (a.position === null) throw notFound(`Column ${dotted(from)}`);
        if (k.position === null) throw notFound(`Column ${dotted(to)}`);
        const ref = [fieldNode('dataset'), fieldNode('column')];
        const row = await readDataset(ctx, info, from.dataset, [
          fieldNode('relationships', undefined, [
            fieldNode('from', '__from', ref),
            fieldNode('to', '__to', ref),
            ...clientSelections(info),
          ]),
        ]);
        const same = (x: unknown, y: ColumnKey) =>
          (x as ColumnRefInput).dataset === y.dataset && (x as ColumnRefInput).column === y.column;
        const saved = (row['relationships'] as Record<string, unknown>[]).find(
          (r) => same(r['__from'], from) && same(r['__to'], to),
        );
        if (!saved) throw notFound(`Relationship ${dotted(from)} → ${dotted(to)}`);
        return saved;
      },

      async deleteRelationship(_: unknown, args: { from: ColumnRefInput; to: ColumnRefInput }, ctx: GraphContext) {
        const from = checkRef(args.from, 'from');
        const to = checkRef(args.to, 'to');
        if (!(await deleteReference(db(), orgOf(ctx), from, to)))
          throw notFound(`Relationship ${dotted(from)} → ${dotted(to)}`);
        return true;
      },
    },
  };
}
