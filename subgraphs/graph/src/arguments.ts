import { Kind, type FieldDefinitionNode, type GraphQLScalarType, type GraphQLSchema, type ValueNode } from 'graphql';
import { badUserInput } from '@datapilot/common';

/**
 * Checks of the arguments of @neo4j/graphql's generated root fields, run before the library translates them to
 * Cypher. The library does not check them itself: a negative `limit`/`offset` reaches Neo4j (ArgumentError),
 * a negative `first` throws a plain Error, `limit: 0`/`first: 0` are read as "no limit", a malformed `after`
 * cursor is ignored, a null filter field throws a TypeError, and its DateTime scalar passes any string literal
 * to Cypher's `datetime()` (SyntaxError). None of those is typed, so they are prevented here instead of mapped.
 */

/**
 * Largest page a client may ask for, in items: `datasets(limit:)` and `datasetsConnection(first:)` accept
 * 1..MAX_PAGE_SIZE. Omitting them still returns every match (an organization has a catalog, not a log).
 */
export const MAX_PAGE_SIZE = 1000;

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
  for (const name of ['limit', 'first'] as const) {
    const v = args[name];
    if (v != null && !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_PAGE_SIZE))
      throw badUserInput(`${name} must be between 1 and ${MAX_PAGE_SIZE}.`, name);
  }
  const offset = args['offset'];
  if (offset != null && !(Number.isInteger(offset) && (offset as number) >= 0))
    throw badUserInput('offset must be 0 or more.', 'offset');
  const after = args['after'];
  if (after != null && (typeof after !== 'string' || cursorOffset(after) === undefined))
    throw badUserInput('after must be a cursor returned by this API (an edge cursor or pageInfo.endCursor).', 'after');
  const where = args['where'];
  if (where != null) {
    const at = nullPath(where, 'where');
    if (at) throw badUserInput(`${at} must not be null; omit it instead.`, at);
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

/** Descriptions of the generated root fields and of their paging arguments (auth, scope, limits). */
const ROOT_FIELD_DOCS: Record<string, { description: string; args: Record<string, string> }> = {
  datasets: {
    description:
      "The caller's organization's datasets. Auth: a valid access token. Scope: the token's organization only.",
    args: {
      limit: `Return at most this many datasets: 1..${MAX_PAGE_SIZE} (omit for all). Otherwise BAD_USER_INPUT.`,
      offset: 'Skip this many datasets first (in `sort` order): 0 or more. Otherwise BAD_USER_INPUT.',
      where: 'Filters; null is not a filter value (BAD_USER_INPUT): omit a field instead.',
    },
  },
  datasetsConnection: {
    description:
      "The caller's organization's datasets as a Relay connection. Auth: a valid access token. " +
      "Scope: the token's organization only.",
    args: {
      first: `Page size: 1..${MAX_PAGE_SIZE} (omit for all). Otherwise BAD_USER_INPUT.`,
      after:
        'Start after this cursor: an edge `cursor` or `pageInfo.endCursor` of an earlier page with the same ' +
        '`where` and `sort`. Any other string answers BAD_USER_INPUT.',
      where: 'Filters; null is not a filter value (BAD_USER_INPUT): omit a field instead.',
    },
  },
};

/**
 * Sets the descriptions of {@link ROOT_FIELD_DOCS} on the Query fields and arguments, both on the objects
 * (introspection) and on their AST nodes (what `printSubgraphSchema` prints).
 * @throws Error when a described field or argument was not generated (library change).
 */
export function describeRootFields(schema: GraphQLSchema): void {
  const query = schema.getQueryType();
  if (!query?.astNode) throw new Error('graph schema: Query has no definition');
  const fields = query.getFields();
  const desc = (value: string) => ({ kind: Kind.STRING, value }) as const;
  const nodes = new Map<string, FieldDefinitionNode>();
  for (const [fieldName, docs] of Object.entries(ROOT_FIELD_DOCS)) {
    const field = fields[fieldName];
    if (!field?.astNode) throw new Error(`graph schema: Query.${fieldName} was not generated`);
    field.description = docs.description;
    for (const [argName, text] of Object.entries(docs.args)) {
      const arg = field.args.find((a) => a.name === argName);
      if (!arg?.astNode) throw new Error(`graph schema: Query.${fieldName}(${argName}:) was not generated`);
      arg.description = text;
      arg.astNode = { ...arg.astNode, description: desc(text) };
    }
    const argNodes = field.args.map((a) => a.astNode);
    if (argNodes.some((a) => !a)) throw new Error(`graph schema: Query.${fieldName} has arguments without definitions`);
    field.astNode = {
      ...field.astNode,
      description: desc(docs.description),
      arguments: argNodes as NonNullable<(typeof argNodes)[number]>[],
    };
    nodes.set(fieldName, field.astNode);
  }
  const ast = query.astNode;
  (query as { astNode: typeof ast }).astNode = {
    ...ast,
    fields: ast.fields?.map((f) => nodes.get(f.name.value) ?? f),
  };
}
