import {
  Kind,
  type ConstValueNode,
  type FieldDefinitionNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLScalarType,
  type GraphQLSchema,
  type InputObjectTypeDefinitionNode,
  type ObjectTypeDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { badUserInput } from '@datapilot/common';
import { MAX_SAMPLE_VALUES } from './semantic-input.ts';

/**
 * Checks of the arguments of @neo4j/graphql's generated fields (root fields and the relationship fields nested in
 * their results), run before the library translates them to Cypher. The library does not check them itself: a
 * negative `limit`/`offset` reaches Neo4j (ArgumentError), a negative `first` throws a plain Error,
 * `limit: 0`/`first: 0` are read as "no limit", a malformed `after` cursor is ignored, a null filter field throws
 * a TypeError, and its DateTime scalar passes any string literal to Cypher's `datetime()` (SyntaxError). None of
 * those is typed, so they are prevented here instead of mapped.
 */

/**
 * Largest page a client may ask for, in items: `datasets(limit:)` and `datasetsConnection(first:)` accept
 * 1..MAX_PAGE_SIZE. Omitting them still returns every match (an organization has a catalog, not a log).
 */
export const MAX_PAGE_SIZE = 1000;

/**
 * Largest page of a list nested in a root field's result, in items: `Dataset.runs(limit:)` and
 * `Dataset.runsConnection(first:)` accept 1..MAX_NESTED_PAGE_SIZE, and it is their default (see
 * {@link describeFields}), so that every nested list is bounded: `datasets` can return a whole catalog, and each
 * dataset gains a run with every load.
 */
export const MAX_NESTED_PAGE_SIZE = 100;

/**
 * Nested list fields whose `first` has another bound than {@link MAX_NESTED_PAGE_SIZE}, by field name:
 * `DatasetColumn.sampleValues(first:)` returns values of one column (the pipeline samples up to 10,000), 1..1000.
 */
const NESTED_PAGE_BOUNDS: Readonly<Record<string, number>> = { sampleValues: MAX_SAMPLE_VALUES };

/**
 * Largest offset a cursor may carry: the next page starts at offset + 1, which must fit a GraphQL Int
 * (2^31 - 1) like `datasets(offset:)`.
 */
export const MAX_CURSOR_OFFSET = 2 ** 31 - 2;

/** graphql-relay's array-connection cursor, which @neo4j/graphql issues: base64 of `arrayconnection:<offset>`. */
const CURSOR_TEXT = /^arrayconnection:(0|[1-9][0-9]{0,9})$/;

/**
 * The offset an `after` cursor stands for, or undefined when `cursor` is not one that @neo4j/graphql issues:
 * standard padded base64 (graphql-relay's `offsetToCursor`) of `arrayconnection:<n>`, n a decimal integer
 * without leading zeros in 0..{@link MAX_CURSOR_OFFSET}. The encoding must be exactly the canonical one.
 */
export function cursorOffset(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  const m = CURSOR_TEXT.exec(text);
  if (!m || Buffer.from(text, 'utf8').toString('base64') !== cursor) return undefined;
  const offset = Number(m[1]);
  return offset <= MAX_CURSOR_OFFSET ? offset : undefined;
}

/**
 * Validates the arguments of a generated root field (by argument name, so that it holds for every field
 * @neo4j/graphql generates): `limit` and `first` are integers in 1..{@link MAX_PAGE_SIZE}; `offset` is 0 or
 * more; `after` is a cursor this API issued (see {@link cursorOffset}); `where` contains no explicit null at any
 * depth (omit a filter instead). An argument given as null counts as omitted.
 * @throws DataPilotError BAD_USER_INPUT with `extensions.field` naming the argument (`where.NOT.name` for a
 *   nested filter).
 */
export function validateRootArgs(args: Record<string, unknown>): void {
  checkArgs(args, '', MAX_PAGE_SIZE, true);
}

/**
 * Validates the arguments of every field selected inside a root field's result (through fragments too), with
 * the rules of {@link validateRootArgs} except that `limit` and `first` are integers in
 * 1..{@link MAX_NESTED_PAGE_SIZE} (or the bound of {@link NESTED_PAGE_BOUNDS}), and that null is refused for them and for `sort` (null would lift the
 * defaults {@link describeFields} gives them: the bound and the order). Values are
 * read from the operation: literals as written, variables from `info.variableValues` (already coerced); an
 * argument left out, or given a variable the request did not set, is not checked (its default applies). Each
 * fragment is checked once, where it is first spread.
 * @throws DataPilotError BAD_USER_INPUT with `extensions.field` naming the argument by its field path below the
 *   root field, without aliases (`runs.limit`, `edges.node.runsConnection.after`, `runs.where.OR[0].id`).
 */
export function validateNestedArgs(
  info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments' | 'variableValues'>,
): void {
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined, at: string): void => {
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet, at);
      else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const name = sel.name.value;
        if (seen.has(name)) continue;
        seen.add(name);
        walk((info.fragments[name] as FragmentDefinitionNode | undefined)?.selectionSet, at);
      } else {
        const path = `${at}${sel.name.value}`;
        const args: Record<string, unknown> = {};
        for (const arg of sel.arguments ?? []) {
          const value = valueOf(arg.value, info.variableValues);
          if (value !== undefined) args[arg.name.value] = value;
        }
        checkArgs(args, `${path}.`, NESTED_PAGE_BOUNDS[sel.name.value] ?? MAX_NESTED_PAGE_SIZE, false);
        walk(sel.selectionSet, `${path}.`);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet, '');
}

/**
 * The checks of {@link validateRootArgs} / {@link validateNestedArgs}: `at` prefixes the argument names in errors,
 * `maxPage` bounds `limit` and `first`, `root` says whether null counts as omitted for them and for `sort`.
 */
function checkArgs(args: Record<string, unknown>, at: string, maxPage: number, root: boolean): void {
  for (const name of ['limit', 'first'] as const) {
    const v = args[name];
    if (v === undefined || (v === null && root)) continue;
    if (!(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= maxPage))
      throw badUserInput(`${at}${name} must be between 1 and ${maxPage}.`, `${at}${name}`);
  }
  if (args['sort'] === null && !root)
    throw badUserInput(`${at}sort must not be null; omit it for the default order.`, `${at}sort`);
  const offset = args['offset'];
  if (offset != null && !(Number.isInteger(offset) && (offset as number) >= 0))
    throw badUserInput(`${at}offset must be 0 or more.`, `${at}offset`);
  const after = args['after'];
  if (after != null && (typeof after !== 'string' || cursorOffset(after) === undefined))
    throw badUserInput(
      `${at}after must be a cursor returned by this API (an edge cursor or pageInfo.endCursor).`,
      `${at}after`,
    );
  const where = args['where'];
  if (where != null) {
    const path = nullPath(where, `${at}where`);
    if (path) throw badUserInput(`${path} must not be null; omit it instead.`, path);
    const predicates = countPredicates(where);
    if (predicates > MAX_FILTER_PREDICATES)
      throw badUserInput(
        `${at}where has ${predicates} conditions; at most ${MAX_FILTER_PREDICATES} are allowed per filter.`,
        `${at}where`,
      );
  }
}

/**
 * Most conditions one `where` may hold. Neo4j's planner takes time that grows with the number of predicates of a
 * query it has not planned before (measured on Neo4j 5.26: 10 branches 0.2–0.5 s, 100 about 1.2 s, 150 about 2 s,
 * 400 about 17 s), and one Neo4j serves every organization: the bound keeps any filter under about half a second.
 */
export const MAX_FILTER_PREDICATES = 50;

/**
 * The conditions of a filter: each field compared (`name: { eq: ... }`, `name: { in: [...] }`: one each, an `in`
 * list is one parameter), however they are combined with AND / OR / NOT.
 */
function countPredicates(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countPredicates(v), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'AND' || k === 'OR' || k === 'NOT') n += countPredicates(v);
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      // A field: its operators (eq, in, contains, ...) each compare once; a related node's or edge's filter nests.
      const ops = Object.entries(v as Record<string, unknown>);
      n += ops.reduce(
        (m, [, x]) => m + (typeof x === 'object' && x !== null && !Array.isArray(x) ? countPredicates(x) : 1),
        0,
      );
    } else n += 1;
  }
  return n;
}

/**
 * The value of an argument as written in the operation: literals as plain values (Int and Float as numbers,
 * enum values as their names), variables from `variables`; undefined for a variable that is not set (in an
 * object field: the field is left out; in a list: null, as GraphQL coerces it).
 */
function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables[node.name.value];
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.STRING:
    case Kind.ENUM:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => valueOf(v, variables) ?? null);
    case Kind.OBJECT: {
      const obj: Record<string, unknown> = {};
      for (const f of node.fields) {
        const v = valueOf(f.value, variables);
        if (v !== undefined) obj[f.name.value] = v;
      }
      return obj;
    }
  }
}

/** The path of the first explicit null inside `value` (objects and lists, depth first), e.g. `where.OR[1].name`. */
function nullPath(value: unknown, path: string): string | undefined {
  if (value === null) return path;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const at = nullPath(v, `${path}[${i}]`);
      if (at) return at;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const at = nullPath(v, `${path}.${k}`);
      if (at) return at;
    }
  }
  return undefined;
}

/**
 * ISO-8601 / RFC 3339 date-times as {@link isDateTime} accepts them: a date `YYYY-MM-DD`, optionally followed
 * by `T` and `hh:mm`, `hh:mm:ss` or `hh:mm:ss.fffffffff` (1 to 9 digits), optionally followed by `Z` or an
 * offset `±hh:mm` / `±hhmm`.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):?(\d{2}))?)?$/;

/**
 * True when `s` is a date-time that Neo4j's `datetime()` parses: the shape of {@link DATE_TIME} with a real
 * calendar date (proleptic Gregorian leap years), hour 0-23, minute and second 0-59 (no leap second) and an
 * offset within ±18:00 (java.time.ZoneOffset's range).
 */
export function isDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (!m) return false;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, oh = 0, om = 0] = m.slice(1).map((g) => Number(g ?? 0));
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (days === undefined || d < 1 || d > days) return false;
  if (h > 23 || mi > 59 || sec > 59 || om > 59) return false;
  return oh * 60 + om <= 18 * 60;
}

const DATE_TIME_RULE = 'DateTime must be an ISO-8601 date-time such as 2025-01-02T03:04:05.678Z.';

/**
 * Makes the schema's `DateTime` scalar (@neo4j/graphql's) accept only {@link isDateTime} strings, so that a
 * bad value fails GraphQL validation (literal: GRAPHQL_VALIDATION_FAILED) or variable coercion (BAD_USER_INPUT),
 * both HTTP 400, instead of failing in Cypher. Accepted strings are passed on unchanged.
 * The scalar object is the library's module-level instance: the change applies to every schema of the process.
 * @throws Error when the schema has no DateTime scalar (library change).
 */
export function strictDateTime(schema: GraphQLSchema): void {
  const type = schema.getType('DateTime');
  if (Object.prototype.toString.call(type) !== '[object GraphQLScalarType]')
    throw new Error('graph schema: scalar DateTime was not generated');
  const scalar = type as GraphQLScalarType & {
    parseValue: (v: unknown) => unknown;
    parseLiteral: (n: ValueNode) => unknown;
  };
  // Errors are plain Errors: graphql-js wraps them into its validation or variable error.
  scalar.parseValue = (v) => {
    if (typeof v === 'string' && isDateTime(v)) return v;
    throw new Error(DATE_TIME_RULE);
  };
  scalar.parseLiteral = (node) => {
    if (node.kind === Kind.STRING && isDateTime(node.value)) return node.value;
    throw new Error(DATE_TIME_RULE);
  };
}

/** A default value of a generated argument: its internal value and the same value as a literal. */
type ArgDefault = { value: unknown; literal: ConstValueNode };

/**
 * The literal of a default value made of numbers (Int), strings (enum values), lists and input objects.
 * Only for {@link FIELD_DOCS}, whose defaults are written with those.
 */
function literalOf(value: unknown): ConstValueNode {
  if (typeof value === 'number') return { kind: Kind.INT, value: String(value) };
  if (typeof value === 'string') return { kind: Kind.ENUM, value };
  if (Array.isArray(value)) return { kind: Kind.LIST, values: value.map(literalOf) };
  const fields = Object.entries(value as Record<string, unknown>).map(([name, v]) => ({
    kind: Kind.OBJECT_FIELD as const,
    name: { kind: Kind.NAME as const, value: name },
    value: literalOf(v),
  }));
  return { kind: Kind.OBJECT, fields };
}

const withDefault = (description: string, value: unknown) => ({
  description,
  default: { value, literal: literalOf(value) } satisfies ArgDefault,
});

/**
 * `Dataset.runs`' default order: newest first, then by id (so that equal times still page stably).
 * Known limit of @neo4j/graphql 7.6.3: when a list field (not a connection) sorts on a DateTime that the client
 * also selects, it orders by the ISO text it projects (`WITH this1 { .finishedAt, finishedAt:
 * apoc.date.convertFormat(...) } ... ORDER BY this1.finishedAt`), which follows time across seconds for the UTC
 * values the pipeline writes but not within one second (`…:05.3Z` sorts before `…:05Z`). `runsConnection` orders
 * on the stored value.
 */
const RUNS_ORDER = [{ finishedAt: 'DESC' }, { id: 'ASC' }];

/** The `sort` argument of the root fields (no default order: Neo4j returns matches in no particular order). */
const ROOT_SORT_DOC =
  'Order: sort keys in priority order, one field per key (e.g. `[{ updatedAt: DESC }, { name: ASC }]`); omitted ' +
  'or null: no particular order, so give one to page stably.';

/**
 * Descriptions (auth, scope, limits) and defaults of generated fields and of their arguments, by `Type.field`.
 * A field's own description is set only when given (fields declared in schema.graphql carry theirs).
 */
const FIELD_DOCS: Record<
  string,
  { description?: string; args: Record<string, string | { description: string; default: ArgDefault }> }
> = {
  'Query.datasets': {
    description:
      "The caller's organization's datasets. Auth: a valid access token. Scope: the token's organization only.",
    args: {
      limit: `Return at most this many datasets: 1..${MAX_PAGE_SIZE} (omit for all). Otherwise BAD_USER_INPUT.`,
      offset: 'Skip this many datasets first (in `sort` order): 0 or more. Otherwise BAD_USER_INPUT.',
      where: 'Filters; null is not a filter value (BAD_USER_INPUT): omit a field instead.',
      sort: ROOT_SORT_DOC,
    },
  },
  'Query.datasetsConnection': {
    description:
      "The caller's organization's datasets as a Relay connection. Auth: a valid access token. " +
      "Scope: the token's organization only.",
    args: {
      first: `Page size: 1..${MAX_PAGE_SIZE} (omit for all). Otherwise BAD_USER_INPUT.`,
      after:
        'Start after this cursor: an edge `cursor` or `pageInfo.endCursor` of an earlier page with the same ' +
        '`where` and `sort`. Any other string answers BAD_USER_INPUT.',
      where: 'Filters; null is not a filter value (BAD_USER_INPUT): omit a field instead.',
      sort: ROOT_SORT_DOC,
    },
  },
  'Dataset.runs': {
    args: {
      limit: withDefault(
        `Return at most this many runs: 1..${MAX_NESTED_PAGE_SIZE}. Otherwise (null included) BAD_USER_INPUT.`,
        MAX_NESTED_PAGE_SIZE,
      ),
      offset: 'Skip this many runs first (in `sort` order): 0 or more. Otherwise BAD_USER_INPUT.',
      where: "Filters on the runs' own fields; null is not a filter value (BAD_USER_INPUT): omit a field instead.",
      sort: withDefault(
        'Order; omitted: newest first (`finishedAt` descending, then `id`); null: BAD_USER_INPUT.',
        RUNS_ORDER,
      ),
    },
  },
  'Dataset.runsConnection': {
    description:
      'The runs of `runs` as a Relay connection, each edge with the Delta version the run produced ' +
      '(`properties.deltaVersion`); newest first by default. Auth: token; scope: own org.',
    args: {
      first: withDefault(
        `Page size: 1..${MAX_NESTED_PAGE_SIZE}. Otherwise (null included) BAD_USER_INPUT.`,
        MAX_NESTED_PAGE_SIZE,
      ),
      after:
        'Start after this cursor: an edge `cursor` or `pageInfo.endCursor` of an earlier page with the same ' +
        '`where` and `sort`. Any other string answers BAD_USER_INPUT.',
      where: 'Filters on the run (`node`) and on the edge (`edge.deltaVersion`); null is not a filter value.',
      sort: withDefault(
        'Order; omitted: newest first (`node.finishedAt` descending, then `node.id`); null: BAD_USER_INPUT.',
        RUNS_ORDER.map((node) => ({ node })),
      ),
    },
  },
};

/**
 * Descriptions of a generated type (object or input) and of its fields, for the types @neo4j/graphql generates
 * without them (connections, sorts, filters). `fields` names fields one by one; `eachField`, when given, describes
 * every other field of the type from its name (the fields of a `...Where` or `...Sort` follow the node's fields).
 */
type TypeDoc = { description?: string; fields?: Record<string, string>; eachField?: (field: string) => string };

/** A `...Sort` input: one sort key per object (@neo4j/graphql does not guarantee the order of several). */
const sortDoc = (what: string, node: string): TypeDoc => ({
  description:
    `A sort key of ${what}: set one field per object and list the objects in priority order (the order of several ` +
    'fields in one object is not guaranteed).',
  eachField: (f) => `Order by \`${node}.${f}\`: ASC or DESC.`,
});

/** The boolean operators of every `...Where` input. */
const LOGIC_FIELDS = {
  AND: 'Every filter of the list holds.',
  OR: 'At least one filter of the list holds.',
  NOT: 'This filter does not hold.',
};

/** A `...Where` input on the fields of `node`. */
const whereDoc = (what: string, node: string): TypeDoc => ({
  description:
    `A filter on ${what}: every field given must hold (they combine with AND; use OR and NOT for more). Null is ` +
    `not a value anywhere in it (BAD_USER_INPUT): omit a field instead. At most ${MAX_FILTER_PREDICATES} ` +
    'conditions per filter.',
  fields: LOGIC_FIELDS,
  eachField: (f) => `Conditions on \`${node}.${f}\`.`,
});

/** A `...ScalarFilters` input: its operators, each a condition on one value. */
const scalarFilterDoc = (what: string, ops: Record<string, string>): TypeDoc => ({
  description: `Conditions on ${what}: every operator given must hold.`,
  fields: ops,
});

const TEXT_OPS = (what: string) => ({
  eq: `Equal to this ${what}.`,
  in: `Equal to one of these ${what}s.`,
  contains: `Contains this text (case-sensitive).`,
  startsWith: 'Starts with this text (case-sensitive).',
  endsWith: 'Ends with this text (case-sensitive).',
});

const INT_OPS = {
  eq: 'Equal to this number.',
  in: 'Equal to one of these numbers.',
  gt: 'Greater than this number.',
  gte: 'Greater than or equal to this number.',
  lt: 'Less than this number.',
  lte: 'Less than or equal to this number.',
};

const DATE_TIME_OPS = {
  eq: 'The same instant as this one.',
  in: 'The same instant as one of these.',
  gt: 'After this instant.',
  gte: 'At or after this instant.',
  lt: 'Before this instant.',
  lte: 'At or before this instant.',
};

const RELAY_CURSOR = 'Opaque position of this item in its list; pass it as `after` to continue after it.';

/** Descriptions of the types @neo4j/graphql generates, by type name (applied by {@link describeFields}). */
const TYPE_DOCS: Record<string, TypeDoc> = {
  DatasetsConnection: {
    description: "A page of the caller's organization's datasets (Relay cursor connection), from `datasetsConnection`.",
    fields: {
      edges: 'The datasets of this page, in `sort` order, each with its cursor.',
      totalCount: 'How many datasets match `where`, all pages together.',
      pageInfo: 'Where this page stands: `endCursor` and `hasNextPage` continue after it.',
    },
  },
  DatasetEdge: {
    description: 'One dataset of a page and its cursor.',
    fields: { cursor: RELAY_CURSOR, node: 'The dataset.' },
  },
  DatasetRunsConnection: {
    description:
      'A page of the pipeline runs that wrote a dataset (Relay cursor connection), from `Dataset.runsConnection`.',
    fields: {
      edges: 'The runs of this page, in `sort` order, each with its cursor and the Delta version it produced.',
      totalCount: 'How many runs match `where`, all pages together.',
      pageInfo: 'Where this page stands: `endCursor` and `hasNextPage` continue after it.',
    },
  },
  DatasetRunsRelationship: {
    description: 'One run of a page, its cursor, and what it produced (the properties of its PRODUCED edge).',
    fields: {
      cursor: RELAY_CURSOR,
      node: 'The run.',
      properties: 'What the run produced for this dataset: the Delta version its load committed.',
    },
  },
  LineageProduced: {
    description: "What a pipeline run produced for a dataset: the properties of the run's PRODUCED edge.",
  },
  DatasetSort: sortDoc('`datasets` and `datasetsConnection`', 'Dataset'),
  LineageRunSort: sortDoc("a dataset's runs", 'LineageRun'),
  LineageProducedSort: sortDoc('the PRODUCED edge of a run', 'LineageProduced'),
  DatasetRunsConnectionSort: {
    description:
      'A sort key of `Dataset.runsConnection`: on the run (`node`) or on its PRODUCED edge (`edge`); set one field ' +
      'per object and list the objects in priority order.',
    fields: { node: 'Order by a field of the run.', edge: 'Order by a property of the edge (`deltaVersion`).' },
  },
  DatasetWhere: whereDoc('datasets', 'Dataset'),
  LineageRunWhere: whereDoc("a dataset's runs", 'LineageRun'),
  LineageProducedWhere: whereDoc('the PRODUCED edge of a run', 'LineageProduced'),
  DatasetRunsConnectionWhere: {
    ...whereDoc('the runs of `Dataset.runsConnection`', 'LineageRun'),
    fields: {
      ...LOGIC_FIELDS,
      node: 'Conditions on the run.',
      edge: 'Conditions on the properties of its PRODUCED edge (`deltaVersion`).',
    },
    eachField: undefined,
  },
  StringScalarFilters: scalarFilterDoc('a text', TEXT_OPS('text')),
  IDScalarFilters: scalarFilterDoc('an id', TEXT_OPS('id')),
  IntScalarFilters: scalarFilterDoc('an integer', INT_OPS),
  DateTimeScalarFilters: scalarFilterDoc(
    'an instant (an ISO 8601 date-time such as `2026-12-02T08:15:00Z`; compared as instants, whatever the offset)',
    DATE_TIME_OPS,
  ),
  LoadModeEnumScalarFilters: scalarFilterDoc('a load mode', {
    eq: 'Equal to this mode.',
    in: 'Equal to one of these modes.',
  }),
};

/**
 * Sets the descriptions of {@link TYPE_DOCS} on the types and their fields, on the objects and on their AST nodes.
 * @throws Error when a described type or field was not generated (library change).
 */
function describeTypes(schema: GraphQLSchema): void {
  const desc = (value: string) => ({ kind: Kind.STRING, value }) as const;
  for (const [typeName, docs] of Object.entries(TYPE_DOCS)) {
    const type = schema.getType(typeName);
    // Checked by tag, not instanceof (see hideFields in schema.ts).
    const tag = Object.prototype.toString.call(type);
    if ((tag !== '[object GraphQLObjectType]' && tag !== '[object GraphQLInputObjectType]') || !type?.astNode)
      throw new Error(`graph schema: type ${typeName} was not generated`);
    // Object and input types alike: description, fields (name, description, astNode) and AST node.
    const t = type as unknown as {
      description?: string | null;
      astNode: ObjectTypeDefinitionNode | InputObjectTypeDefinitionNode;
      getFields(): Record<string, { description?: string | null; astNode?: { description?: unknown } | null }>;
    };
    const fields = t.getFields();
    for (const name of Object.keys(docs.fields ?? {}))
      if (!fields[name]?.astNode) throw new Error(`graph schema: ${typeName}.${name} was not generated`);
    if (docs.description) {
      t.description = docs.description;
      t.astNode = { ...t.astNode, description: desc(docs.description) };
    }
    const textOf = (name: string) => docs.fields?.[name] ?? docs.eachField?.(name);
    for (const [name, field] of Object.entries(fields)) {
      const text = textOf(name);
      if (!text) continue;
      field.description = text;
      field.astNode = { ...field.astNode, description: desc(text) };
    }
    const ast = t.astNode;
    t.astNode = {
      ...ast,
      fields: ast.fields?.map((f) => {
        const text = textOf(f.name.value);
        return text ? { ...f, description: desc(text) } : f;
      }),
    } as typeof ast;
  }
}

/**
 * Sets the descriptions and defaults of {@link FIELD_DOCS} on the fields and arguments, both on the objects
 * (introspection, and the argument values @neo4j/graphql reads) and on their AST nodes (what
 * `printSubgraphSchema` prints), then the descriptions of the generated types ({@link TYPE_DOCS}).
 * @throws Error when a described type, field or argument was not generated (library change).
 */
export function describeFields(schema: GraphQLSchema): void {
  const desc = (value: string) => ({ kind: Kind.STRING, value }) as const;
  const nodesByType = new Map<GraphQLObjectType, Map<string, FieldDefinitionNode>>();
  for (const [coordinate, docs] of Object.entries(FIELD_DOCS)) {
    const [typeName = '', fieldName = ''] = coordinate.split('.');
    const type = schema.getType(typeName);
    // Checked by tag, not instanceof (see hideFields in schema.ts).
    if (Object.prototype.toString.call(type) !== '[object GraphQLObjectType]' || !type?.astNode)
      throw new Error(`graph schema: type ${typeName} was not generated`);
    const field = (type as GraphQLObjectType).getFields()[fieldName];
    if (!field?.astNode) throw new Error(`graph schema: ${coordinate} was not generated`);
    for (const [argName, doc] of Object.entries(docs.args)) {
      const arg = field.args.find((a) => a.name === argName);
      if (!arg?.astNode) throw new Error(`graph schema: ${coordinate}(${argName}:) was not generated`);
      const text = typeof doc === 'string' ? doc : doc.description;
      arg.description = text;
      arg.astNode = { ...arg.astNode, description: desc(text) };
      if (typeof doc !== 'string') {
        arg.defaultValue = doc.default.value;
        arg.astNode = { ...arg.astNode, defaultValue: doc.default.literal };
      }
    }
    const argNodes = field.args.map((a) => a.astNode);
    if (argNodes.some((a) => !a)) throw new Error(`graph schema: ${coordinate} has arguments without definitions`);
    if (docs.description) field.description = docs.description;
    field.astNode = {
      ...field.astNode,
      ...(docs.description ? { description: desc(docs.description) } : {}),
      arguments: argNodes as NonNullable<(typeof argNodes)[number]>[],
    };
    const nodes = nodesByType.get(type as GraphQLObjectType) ?? new Map<string, FieldDefinitionNode>();
    nodes.set(fieldName, field.astNode);
    nodesByType.set(type as GraphQLObjectType, nodes);
  }
  for (const [type, nodes] of nodesByType) {
    const ast = type.astNode as ObjectTypeDefinitionNode;
    (type as { astNode: ObjectTypeDefinitionNode }).astNode = {
      ...ast,
      fields: ast.fields?.map((f) => nodes.get(f.name.value) ?? f),
    };
  }
  describeTypes(schema);
}
