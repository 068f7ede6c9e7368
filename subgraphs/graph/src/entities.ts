/**
 * The graph subgraph's federation entities, resolved in batches.
 *
 * @neo4j/graphql resolves each `_entities` representation with its own Cypher query, and drops object types that no
 * node reaches (the `Organization` entity this subgraph adds `datasets` to). Here, after generation:
 * - `Organization` is added from `federation.graphql` (with `@key`, in the `_Entity` union);
 * - `Dataset` references and `Organization.datasets` are answered by running the generated `datasets` root field once
 *   per request over the names asked (one Cypher query, compiled by @neo4j/graphql with its @authorization filter, so
 *   the org comes from `$jwt` as everywhere else), selecting exactly what the caller selected;
 * - the objects such a run returns are already complete, so every field resolver first returns the value of a
 *   complete object as it is ({@link PRESOLVED}) instead of computing it again from stored properties.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLFieldResolver,
  GraphQLObjectType,
  GraphQLResolveInfo,
  GraphQLSchema,
  SelectionNode,
} from 'graphql';
import { DataPilotError, ownOrganizationReference, requestLoader, type RequestContext } from '@datapilot/common';

/**
 * graphql-js as @neo4j/graphql loads it (CommonJS): the schema is built with that copy, so it is also the one that
 * extends and executes it (vitest may resolve another copy for `import 'graphql'`).
 */
const gql = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/** Types this subgraph adds to the generated schema: `subgraphs/graph/federation.graphql`. */
const FEDERATION_TYPE_DEFS = readFileSync(new URL('../federation.graphql', import.meta.url), 'utf8');

/** Marks an object whose fields are already resolved (the data of an inner `datasets` run). */
const PRESOLVED = Symbol('presolved');

/** Most datasets `Organization.datasets` returns (an organization's catalog is bounded by its tables). */
export const MAX_ORGANIZATION_DATASETS = 1_000;

/**
 * Adds the entity types and their batched resolvers to the generated schema; returns the extended schema (a new
 * object: every other type keeps its resolvers and federation extensions).
 */
export function addEntities(generated: GraphQLSchema): GraphQLSchema {
  const schema = gql.extendSchema(generated, gql.parse(FEDERATION_TYPE_DEFS), { assumeValidSDL: true });
  markPresolvable(schema);

  const org = schema.getType('Organization') as GraphQLObjectType;
  setResolveReference(org, ownOrganizationReference);
  org.getFields()['datasets']!.resolve = wrapPresolved(async (_source, _args, ctx, info) =>
    runDatasets(schema, ctx, info, null, datasetSelections(info)),
  );

  const dataset = schema.getType('Dataset') as GraphQLObjectType;
  setResolveReference(dataset, (ref, ctx, info) =>
    typeof ref.name === 'string'
      ? requestLoader<string, Record<string, unknown>>(ctx, 'Dataset', async (names) => {
          const rows = await runDatasets(schema, ctx, info, names, datasetSelections(info));
          const byName = new Map(rows.map((r) => [r['__name'] as string, r]));
          return names.map((n) => byName.get(n) ?? null);
        }).load(ref.name)
      : null,
  );
  return schema;
}

type Reference = { __typename: string; [key: string]: unknown };
type ResolveReference = (ref: Reference, ctx: RequestContext, info: GraphQLResolveInfo) => unknown;

/** Sets a type's `__resolveReference` where @apollo/subgraph reads it (`extensions.apollo.subgraph`). */
function setResolveReference(type: GraphQLObjectType, fn: ResolveReference): void {
  const ext = type.extensions as { apollo?: { subgraph?: Record<string, unknown> } };
  (type as { extensions: unknown }).extensions = {
    ...ext,
    apollo: { ...ext.apollo, subgraph: { ...ext.apollo?.subgraph, resolveReference: fn } },
  };
}

/**
 * Runs the generated `datasets` field over `names` (or every dataset of the org when null) with `selections` on
 * Dataset (they may use the operation's variables and fragments, as `info` has them), and returns complete objects
 * (marked {@link PRESOLVED}), each with its name under `__name`. One Cypher query, the org bound by @neo4j/graphql's
 * filter rule from `ctx.jwt`. Used for entity references, `Organization.datasets` and the results of the semantic
 * layer's mutations (src/resolvers/semantic.ts), which read back what they wrote under the same rules.
 * @throws the inner run's first error (as a DataPilotError when it has a code).
 */
export async function runDatasets(
  schema: GraphQLSchema,
  ctx: RequestContext,
  info: GraphQLResolveInfo,
  names: readonly string[] | null,
  selections: readonly SelectionNode[],
): Promise<Record<string, unknown>[]> {
  const document: DocumentNode = {
    kind: gql.Kind.DOCUMENT,
    definitions: [
      {
        kind: gql.Kind.OPERATION_DEFINITION,
        operation: gql.OperationTypeNode.QUERY,
        variableDefinitions: [
          ...(info.operation.variableDefinitions ?? []),
          ...gql
            .parse('query ($__names: [String!], $__limit: Int) { x }')
            .definitions.flatMap((d) =>
              d.kind === gql.Kind.OPERATION_DEFINITION ? (d.variableDefinitions ?? []) : [],
            ),
        ],
        selectionSet: {
          kind: gql.Kind.SELECTION_SET,
          selections: [
            {
              ...field('datasets', selections),
              arguments: gql
                .parse(
                  names
                    ? '{ datasets(where: { name: { in: $__names } }, limit: $__limit) }'
                    : '{ datasets(sort: [{ name: ASC }], limit: $__limit) }',
                )
                .definitions.flatMap((d) =>
                  d.kind === gql.Kind.OPERATION_DEFINITION
                    ? ((d.selectionSet.selections[0] as FieldNode).arguments ?? [])
                    : [],
                ),
            },
          ],
        },
      },
      ...(Object.values(info.fragments) as FragmentDefinitionNode[]),
    ],
  };
  const result = await gql.execute({
    schema,
    document,
    contextValue: { ...ctx },
    variableValues: {
      ...info.variableValues,
      __names: names,
      __limit: names ? names.length : MAX_ORGANIZATION_DATASETS,
    },
  });
  if (result.errors?.length) {
    const first = result.errors[0]!;
    const code = first.extensions?.['code'];
    throw typeof code === 'string' ? new DataPilotError(code as never, first.message) : first;
  }
  const rows = ((result.data as { datasets?: Record<string, unknown>[] } | null)?.datasets ?? []).map(presolved);
  return rows;
}

/** A field node selecting `name` as `__name` plus `selections`. */
export function field(name: string, selections: readonly SelectionNode[]): FieldNode {
  return {
    kind: gql.Kind.FIELD,
    name: { kind: gql.Kind.NAME, value: name },
    selectionSet: {
      kind: gql.Kind.SELECTION_SET,
      selections: [
        {
          kind: gql.Kind.FIELD,
          alias: { kind: gql.Kind.NAME, value: '__name' },
          name: { kind: gql.Kind.NAME, value: 'name' },
        },
        ...selections,
      ],
    },
  };
}

/**
 * What the current field selects on a Dataset: for `_entities`, the selections of its `... on Dataset` fragments
 * (and fragment spreads on Dataset); for `Organization.datasets`, its own selection set.
 */
function datasetSelections(info: GraphQLResolveInfo): SelectionNode[] {
  const out: SelectionNode[] = [];
  for (const node of info.fieldNodes) {
    for (const sel of node.selectionSet?.selections ?? []) {
      if (info.fieldName !== '_entities') out.push(sel);
      else if (sel.kind === gql.Kind.INLINE_FRAGMENT && sel.typeCondition?.name.value === 'Dataset')
        out.push(...sel.selectionSet.selections);
      else if (
        sel.kind === gql.Kind.FRAGMENT_SPREAD &&
        info.fragments[sel.name.value]?.typeCondition.name.value === 'Dataset'
      )
        out.push(sel);
    }
  }
  return out;
}

/** Marks `value` and every object inside it as complete. */
function presolved<T>(value: T): T {
  if (Array.isArray(value)) value.forEach(presolved);
  else if (value && typeof value === 'object') {
    Object.defineProperty(value, PRESOLVED, { value: true });
    Object.values(value).forEach(presolved);
  }
  return value;
}

/** Wraps a field resolver so that on a complete object it returns the value as it is (by alias, else name). */
function wrapPresolved(
  inner: GraphQLFieldResolver<unknown, RequestContext>,
): GraphQLFieldResolver<unknown, RequestContext> {
  return (source, args, ctx, info) => {
    if (source && typeof source === 'object' && PRESOLVED in source) {
      const node = info.fieldNodes[0]!;
      return (source as Record<string, unknown>)[node.alias?.value ?? node.name.value];
    }
    return inner(source, args, ctx, info);
  };
}

/** Wraps the field resolvers of every object type but the roots with {@link wrapPresolved}. */
function markPresolvable(schema: GraphQLSchema): void {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof gql.GraphQLObjectType) || roots.has(type) || type.name.startsWith('__')) continue;
    for (const f of Object.values(type.getFields())) f.resolve = wrapPresolved(f.resolve ?? gql.defaultFieldResolver);
  }
}
