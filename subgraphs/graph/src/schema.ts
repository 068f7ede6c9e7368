import { readFileSync } from 'node:fs';
import {
  defaultFieldResolver,
  type GraphQLFieldResolver,
  type GraphQLInputObjectType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type InputObjectTypeDefinitionNode,
} from 'graphql';
import { Neo4jGraphQL } from '@neo4j/graphql';
import type { Driver } from 'neo4j-driver';
import { DataPilotError, guardSchema, hasErrorCode, notFound, unauthenticated } from '@datapilot/common';
import { datasetResolvers } from './resolvers/dataset.ts';
import { semanticResolvers } from './resolvers/semantic.ts';
import { addEntities } from './entities.ts';
import { describeFields, strictDateTime, validateNestedArgs, validateRootArgs } from './arguments.ts';

/** The subgraph's type definitions: `subgraphs/graph/schema.graphql`, read once. */
export const GRAPH_TYPE_DEFS = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');

/** The property every node carries and the @authorization rules read; no client may see, set or filter on it. */
const ORG_PROPERTY = 'orgId';

/**
 * Fields removed after generation from input and object types, by type; a name also removes its `<name>_...`
 * variants. Why:
 * - `orgId` in every `...Where`: it must be filterable for @neo4j/graphql to accept the @authorization rules that
 *   read it, but no client may filter on it: the org comes from the token alone.
 * - the relationship filters (`runs`, `runsConnection` in DatasetWhere; `upload`, `uploadConnection` in
 *   LineageRunWhere): @neo4j/graphql 7.6.3 compiles them to `EXISTS { MATCH ... }` and aggregation subqueries
 *   WITHOUT the related type's @authorization filter (seen in the Cypher it generates), so they would test nodes
 *   of another organization were an edge ever to cross organizations. Reads through a relationship field do apply
 *   it; nested `where` arguments keep the filters on the related node's own fields and on the edge.
 * - `LineageRun.uploadConnection`: a connection over the one upload of a run tells nothing `upload` does not.
 * - the filters on `Dataset.columns` and `Dataset.metrics` (@cypher fields): they would run the field's statement
 *   inside the filter; which datasets have a column or metric is not a question the API answers. With them go the
 *   `DatasetColumnWhere`, `MetricWhere` and `ColumnReferenceWhere` inputs (nothing else uses them; pruned). They cannot
 *   be turned off with @filterable on those fields: @neo4j/graphql 7.6.3 then generates no `...Where` for the target
 *   type, which its @authorization rules need.
 */
const HIDDEN_FIELDS: Record<string, readonly string[]> = {
  DatasetWhere: [ORG_PROPERTY, 'runs', 'runsConnection', 'columns', 'metrics'],
  LineageRunWhere: [ORG_PROPERTY, 'upload', 'uploadConnection'],
  LineageUploadWhere: [ORG_PROPERTY],
  LineageRun: ['uploadConnection'],
};

/**
 * Builds the executable Federation 2 subgraph schema with @neo4j/graphql's `getSubgraphSchema()`.
 * Without `driver` the schema is complete but cannot run queries (used to print the SDL offline).
 *
 * After generation: the {@link HIDDEN_FIELDS} are removed (and unused types pruned), the schema is checked to
 * have no input field on `orgId` left, the generated fields get descriptions and defaults (the bounds and order of
 * nested lists) and `DateTime` accepts only ISO-8601 date-times (src/arguments.ts); every root field is wrapped so
 * that, before @neo4j/graphql runs, paging or filter arguments the library would not handle answer BAD_USER_INPUT
 * (`validateRootArgs`, `validateNestedArgs`, its own and those of the fields selected inside it) and its own
 * authorization errors leave as DataPilot codes (see {@link toDataPilotError}); last, `guardSchema` applies the
 * permission table (UNAUTHENTICATED / FORBIDDEN before anything else) and `_service` answers the resulting SDL.
 * @throws Error when the type definitions are invalid, a hidden field is missing or an `orgId` input field is
 *   left (library change).
 */
export async function buildGraphSchema(opts: { driver?: Driver } = {}): Promise<GraphQLSchema> {
  const lib = new Neo4jGraphQL({
    typeDefs: GRAPH_TYPE_DEFS,
    resolvers: { ...datasetResolvers, ...semanticResolvers(opts.driver) },
    ...(opts.driver ? { driver: opts.driver } : {}),
    features: {
      // The decoded JWT is passed in context.jwt after our own verification (src/context.ts); with no
      // `authorization` key here, @neo4j/graphql never decodes a token itself.
      excludeDeprecatedFields: {
        mutationOperations: true,
        aggregationFilters: true,
        aggregationFiltersOutsideConnection: true,
        relationshipFilters: true,
        attributeFilters: true,
      },
    },
    validate: true,
  });
  const generated = await withoutAuthWarning(() => lib.getSubgraphSchema());
  const schema = addEntities(pruneUnusedTypes(hideFields(generated)));
  checkNoOrgInput(schema);
  describeFields(schema);
  strictDateTime(schema);
  checkRootArguments(schema);
  // Last: the permission table's guard runs before everything above and answers the final SDL at `_service`.
  return guardSchema(schema);
}

/**
 * @neo4j/graphql warns on stdout when @authorization is used without `features.authorization`; that is the
 * intended setup here (decoded JWT in context), so this one warning is dropped.
 */
async function withoutAuthWarning<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes("features.authorization'")) return;
    warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

function hideFields(schema: GraphQLSchema): GraphQLSchema {
  for (const [typeName, names] of Object.entries(HIDDEN_FIELDS)) {
    const type = schema.getType(typeName);
    // Checked by tag, not instanceof: @neo4j/graphql (CommonJS) and this module may load different copies of
    // graphql-js (vitest resolves the ESM build for sources).
    const tag = Object.prototype.toString.call(type);
    if (tag !== '[object GraphQLInputObjectType]' && tag !== '[object GraphQLObjectType]')
      throw new Error(`graph schema: type ${typeName} was not generated`);
    const t = type as GraphQLInputObjectType | GraphQLObjectType;
    // getFields() returns graphql-js's cached field map: removing a key removes the field from validation,
    // execution and introspection. printSubgraphSchema prints from the type's AST node, filtered the same way.
    const isHidden = (f: string) => names.some((n) => f === n || f.startsWith(`${n}_`));
    const fields = t.getFields();
    for (const n of names) if (!(n in fields)) throw new Error(`graph schema: ${typeName}.${n} was not generated`);
    for (const f of Object.keys(fields).filter(isHidden)) delete fields[f];
    // Typed as the input case; the object case is the same operation on FieldDefinitionNodes.
    const ast = t.astNode as InputObjectTypeDefinitionNode | null | undefined;
    if (ast) {
      const kept = ast.fields?.filter((f) => !isHidden(f.name.value));
      (t as { astNode: InputObjectTypeDefinitionNode }).astNode = { ...ast, fields: kept };
    }
    if (t.extensionASTNodes.length > 0) throw new Error(`graph schema: ${typeName} has unexpected extensions`);
  }
  return schema;
}

/**
 * Throws when an input type still has a field named `orgId` or `orgId_...` (a type @neo4j/graphql generates
 * that {@link HIDDEN_FIELDS} does not cover yet): the org must come from the token alone.
 */
function checkNoOrgInput(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (Object.prototype.toString.call(type) !== '[object GraphQLInputObjectType]') continue;
    const left = Object.keys((type as GraphQLInputObjectType).getFields()).filter(
      (f) => f === ORG_PROPERTY || f.startsWith(`${ORG_PROPERTY}_`),
    );
    if (left.length > 0)
      throw new Error(`graph schema: ${type.name}.${left[0]} lets clients filter on the org; add it to HIDDEN_FIELDS`);
  }
}

/**
 * Rebuilds the schema from its roots and directives so that types nothing references any more are dropped.
 * Uses the schema's own class, i.e. the graphql-js copy that built it.
 */
function pruneUnusedTypes(schema: GraphQLSchema): GraphQLSchema {
  const Schema = schema.constructor as typeof GraphQLSchema;
  return new Schema({ ...schema.toConfig(), types: [] });
}

/**
 * Wraps every root field but the federation ones so that arguments the library would not handle answer BAD_USER_INPUT
 * before @neo4j/graphql runs, and its errors leave as DataPilot codes.
 */
function checkRootArguments(schema: GraphQLSchema): void {
  if (schema.getSubscriptionType())
    throw new Error('graph schema: subscriptions are not supported; do not enable them');
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      if (field.name.startsWith('_')) continue;
      const inner: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = async (source, args, ctx, info) => {
        validateRootArgs(args);
        validateNestedArgs(info);
        try {
          return await inner(source, args, ctx, info);
        } catch (e) {
          throw toDataPilotError(e);
        }
      };
    }
  }
}

/**
 * Maps @neo4j/graphql's and the driver's errors to DataPilot codes (NOT_FOUND for a `validate` rule's
 * Forbidden, UNAUTHENTICATED, UPSTREAM_UNAVAILABLE); anything else is rethrown as is (and
 * masked to INTERNAL by the server's formatError). Told apart by error class name and driver code, never by
 * message text.
 */
export function toDataPilotError(e: unknown): unknown {
  if (hasErrorCode(e)) return e;
  const name = (e as { name?: unknown } | null)?.name;
  // A `validate` rule refused a node of another org (the `filter` rule keeps reads from getting there).
  // Another org's data answers NOT_FOUND, so that its existence is not revealed.
  if (name === 'Neo4jGraphQLForbiddenError') return notFound('Dataset');
  if (name === 'Neo4jGraphQLAuthenticationError') return unauthenticated();
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ServiceUnavailable' || code === 'SessionExpired')
    return new DataPilotError('UPSTREAM_UNAVAILABLE', 'The graph database is unavailable; try again.');
  return e;
}
