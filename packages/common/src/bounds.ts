/**
 * Bounds on every GraphQL operation DataPilot serves — the gateway and each subgraph, over HTTP and over WebSocket —
 * so that one request cannot make a service, Spark, Neo4j or the gateway's query planner do unbounded work:
 * - the document's text: brackets nested at most {@link MAX_NESTING} deep and at most {@link MAX_TOKENS} tokens,
 *   before it is parsed ({@link checkSource}, {@link PARSE_OPTIONS});
 * - every input value, written inline (arguments of fields and directives, variable defaults, in operations and
 *   fragments alike) or sent as a variable: its nesting and the number of values ({@link measureLiterals},
 *   {@link measureJson}). `@apollo/federation-internals` 2.14.4 walks list values twice per nesting level while
 *   planning (`collectVariablesInValue`), so an inline `AND` filter nested 22 levels deep cost the gateway 2.9-5.3 s
 *   of CPU and 30 levels 12-20 minutes, without a token; the bound keeps such a literal from reaching the planner;
 * - the selection: its depth and number of fields, aliases included ({@link measureOperation});
 * - its cost: how many items its lists may return, pages multiplied along the path ({@link operationCost}).
 * Every refusal is a DataPilotError BAD_USER_INPUT (HTTP 400) with a message naming the measure and its bound.
 * Apollo Server applies them through {@link useOperationBounds} (after validation, before execution and before the
 * gateway plans); WebSockets through ws.ts, which calls {@link checkSource} and {@link checkOperation} itself.
 */
import {
  Kind,
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromASTUntyped,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { DataPilotError } from './errors.ts';
import { MAX_DEFAULT_PAGE_SIZE } from './keyset.ts';

/** Bounds on one operation; see {@link DEFAULT_BOUNDS} and the module comment. */
export type OperationBounds = {
  /** Deepest field nesting allowed (the root fields are depth 1). Introspection subtrees (`__*`) add no depth. */
  maxDepth: number;
  /** Most fields an operation may select in all (introspection included), aliases and fragment uses counted each time. */
  maxFields: number;
  /**
   * Deepest nesting of one input value: each list or input object around a value is one level (`1` is 0,
   * `{ a: 1 }` is 1, `{ AND: [{ a: 1 }] }` is 3). Applies to each literal and to each variable's value.
   */
  maxInputDepth: number;
  /**
   * Most input values: every scalar, enum, null, variable reference, list and object counts one. Counted over all
   * the literals of the document, and separately over all the request's variables.
   */
  maxInputValues: number;
  /** Most items the operation's lists may return, as {@link operationCost} counts them. */
  maxCost: number;
};

/**
 * Defaults, for the gateway and every subgraph alike: deep and wide enough for any DataPilot client (Apollo
 * Sandbox's introspection query included), far below what costs the services real work. An input depth of 10 holds
 * a graph filter with three levels of `AND`/`OR` and an `in` list; 5 000 values hold 1 600 entity representations;
 * a cost of 10 000 is ten pages of 1 000 table rows.
 */
export const DEFAULT_BOUNDS: OperationBounds = {
  maxDepth: 12,
  maxFields: 500,
  maxInputDepth: 10,
  maxInputValues: 5_000,
  maxCost: 10_000,
};

/** Most tokens a document may have (graphql-js `maxTokens`: punctuators, names and values; comments excluded). */
export const MAX_TOKENS = 20_000;

/**
 * Deepest nesting of brackets (`{`, `[`, `(`) in a document's text. graphql-js parses recursively: about 1 000 nested
 * brackets overflow its stack. Every operation within {@link DEFAULT_BOUNDS} nests far less (about 40 at most, with
 * the gateway's inline fragments).
 */
export const MAX_NESTING = 100;

/** Apollo Server `parseOptions` of every DataPilot server: graphql-js stops parsing past {@link MAX_TOKENS}. */
export const PARSE_OPTIONS = { maxTokens: MAX_TOKENS } as const;

/**
 * Names of the arguments that set how many items a list or connection returns, in the order they are looked at
 * (`first` and `last` of a Relay connection are never both given: keyset.ts refuses it).
 */
export const PAGE_ARGUMENTS = ['first', 'last', 'limit'] as const;

/** Items assumed for a list whose size no page argument gives (e.g. `lakeTables`, `columns`), in {@link operationCost}. */
export const ASSUMED_LIST_SIZE = 10;

/**
 * The most items one page argument counts for in {@link operationCost}: the largest page any DataPilot field serves
 * (lake `rows(first:)`, graph `datasets(limit:)`: 1 000). A larger value counts this much, and zero or a negative
 * value counts 1: every DataPilot field refuses such values itself (BAD_USER_INPUT naming the argument) before any
 * work, so the cost does not refuse them in its place.
 */
export const MAX_COUNTED_PAGE_SIZE = 1000;

const refuse = (message: string, extra: Record<string, unknown> = {}) =>
  new DataPilotError('BAD_USER_INPUT', message, extra);

/**
 * Checks a document's text before it is parsed: brackets nested at most {@link MAX_NESTING} deep. The scan stops at
 * the first token the lexer refuses or past {@link MAX_TOKENS} tokens, leaving those errors to the parser.
 * @throws DataPilotError BAD_USER_INPUT naming the nesting.
 */
export function checkSource(query: string): void {
  const lexer = new Lexer(new Source(query));
  let depth = 0;
  try {
    for (let n = 0, t = lexer.advance(); t.kind !== TokenKind.EOF && n <= MAX_TOKENS; n++, t = lexer.advance()) {
      if (t.kind === TokenKind.BRACE_L || t.kind === TokenKind.BRACKET_L || t.kind === TokenKind.PAREN_L) {
        depth += 1;
        if (depth > MAX_NESTING)
          throw refuse(`The document nests brackets more than ${MAX_NESTING} levels deep (line ${t.line}).`);
      } else if (t.kind === TokenKind.BRACE_R || t.kind === TokenKind.BRACKET_R || t.kind === TokenKind.PAREN_R) {
        depth -= 1;
      }
    }
  } catch (e) {
    if (e instanceof DataPilotError) throw e;
    // A lexical error: the parser reports it (GRAPHQL_PARSE_FAILED).
  }
}

/** Nesting and size of input values, as {@link OperationBounds.maxInputDepth} and `maxInputValues` count them. */
export type InputMeasure = {
  /** Deepest nesting of one value. */
  depth: number;
  /** Values in all. */
  values: number;
  /** Where the deepest value is: `argument "where" of field "datasets"`, `variable "$w"`, ... */
  deepestAt?: string;
};

/** Measures one input literal (iteratively: any depth is safe). */
function measureValueNode(root: ValueNode): { depth: number; values: number } {
  let depth = 0;
  let values = 0;
  const stack: [ValueNode, number][] = [[root, 0]];
  while (stack.length) {
    const [node, level] = stack.pop()!;
    values += 1;
    if (node.kind === Kind.LIST) {
      depth = Math.max(depth, level + 1);
      for (const v of node.values) stack.push([v, level + 1]);
    } else if (node.kind === Kind.OBJECT) {
      depth = Math.max(depth, level + 1);
      for (const f of node.fields) stack.push([f.value, level + 1]);
    }
  }
  return { depth, values };
}

/**
 * Measures every input value written in `document`: the arguments of every field and directive and the default
 * value of every variable, in every operation and fragment. `depth` is the deepest single literal, `values` the sum.
 */
export function measureLiterals(document: DocumentNode): InputMeasure {
  const out: InputMeasure = { depth: 0, values: 0 };
  const add = (value: ValueNode, where: () => string) => {
    const m = measureValueNode(value);
    out.values += m.values;
    if (m.depth > out.depth) {
      out.depth = m.depth;
      out.deepestAt = where();
    }
  };
  visit(document, {
    Field(node) {
      for (const a of node.arguments ?? [])
        add(a.value, () => `argument "${a.name.value}" of field "${node.name.value}"`);
    },
    Directive(node) {
      for (const a of node.arguments ?? [])
        add(a.value, () => `argument "${a.name.value}" of directive "@${node.name.value}"`);
    },
    VariableDefinition(node) {
      if (node.defaultValue) add(node.defaultValue, () => `the default value of "$${node.variable.name.value}"`);
      return false;
    },
    // Arguments were measured with their field or directive; their values need no visit.
    Argument: () => false,
  });
  return out;
}

/**
 * Measures JSON input (the request's variables): every array and object is a level, every value counts one.
 * `depth` is that of the deepest variable, `values` the sum over all of them.
 */
export function measureJson(variables: Readonly<Record<string, unknown>>): InputMeasure {
  const out: InputMeasure = { depth: 0, values: 0 };
  for (const [name, root] of Object.entries(variables)) {
    let depth = 0;
    const stack: [unknown, number][] = [[root, 0]];
    while (stack.length) {
      const [v, level] = stack.pop()!;
      out.values += 1;
      if (v !== null && typeof v === 'object') {
        depth = Math.max(depth, level + 1);
        for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, level + 1]);
      }
    }
    if (depth > out.depth) {
      out.depth = depth;
      out.deepestAt = `variable "$${name}"`;
    }
  }
  return out;
}

/** The fragment definitions of a document by name. */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const m = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) m.set(d.name.value, d);
  return m;
}

/**
 * Measures the operation: `{ depth, fields }` as defined in {@link OperationBounds}. Fragment spreads are followed,
 * each fragment measured once (a fragment spread twice in a fragment spread twice ... costs linear time, not
 * exponential); a spread of a fragment that is being measured (a cycle, which validation refuses) adds nothing.
 */
export function measureOperation(
  op: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): { depth: number; fields: number } {
  const memo = new Map<string, { depth: number; fields: number }>();
  const open = new Set<string>();
  // `depth`: levels of non-introspection fields below the set (a set of leaves is 1). Below a `__schema`/`__type`
  // field, fields count but depth does not (graphql-js already bounds introspection nesting; aliases of it cost).
  const walk = (set: SelectionSetNode, intro: boolean): { depth: number; fields: number } => {
    let depth = 0;
    let fields = 0;
    for (const sel of set.selections) {
      let m: { depth: number; fields: number };
      if (sel.kind === Kind.FIELD) {
        const inIntro = intro || sel.name.value.startsWith('__');
        const below = sel.selectionSet ? walk(sel.selectionSet, inIntro) : { depth: 0, fields: 0 };
        m = { depth: inIntro ? 0 : 1 + below.depth, fields: 1 + below.fields };
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        m = walk(sel.selectionSet, intro);
      } else {
        const key = `${sel.name.value}|${intro}`;
        const frag = fragments.get(sel.name.value);
        const known = memo.get(key);
        if (known) m = known;
        else if (!frag || open.has(key)) m = { depth: 0, fields: 0 };
        else {
          open.add(key);
          m = walk(frag.selectionSet, intro);
          open.delete(key);
          memo.set(key, m);
        }
      }
      depth = Math.max(depth, m.depth);
      fields += m.fields;
    }
    return { depth, fields };
  };
  return walk(op.selectionSet, false);
}

/**
 * The cost of an operation: how many items its lists may return, the way GitHub's GraphQL API counts nodes.
 * Every field whose type is a list adds (number of its parent objects) × (its size), and its children are counted
 * once per item. A list's size is, in this order:
 * - its page argument ({@link PAGE_ARGUMENTS}: `first`, `last`, `limit`) as written or as the variable's value, brought
 *   into 1..{@link MAX_COUNTED_PAGE_SIZE} (a non-integer counts that maximum); absent or null, the argument's default
 *   value in the schema; with none of them in effect on a field that has `first` (a Relay connection, whose default
 *   size its resolver applies), {@link MAX_DEFAULT_PAGE_SIZE};
 * - for `_entities`, the number of representations;
 * - the page argument of its parent field when that field is a connection (an object with a page argument, e.g.
 *   `rows(first: 1000) { edges { node } }`: `edges` has 1 000 items; `pageInfo` and `totalCount` are single);
 * - otherwise {@link ASSUMED_LIST_SIZE}.
 * Scalars and single objects add nothing of their own (their number is bounded by `maxFields`); introspection fields
 * and fields the schema does not know count nothing. `@skip`/`@include` are not evaluated (the estimate is an upper
 * bound). Fragments are costed once per use context, so fragment bombs cost linear time.
 * Example: 100 aliases of `lakeTable(name:) { rows(first: 1000) { edges { node } } }` cost 100 × 1 000 = 100 000.
 * @param variables the request's variables (raw JSON); a variable left out takes its default from the operation.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  op: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> = {},
): number {
  const vars: Record<string, unknown> = {};
  for (const d of op.variableDefinitions ?? [])
    if (d.defaultValue) vars[d.variable.name.value] = valueFromASTUntyped(d.defaultValue);
  Object.assign(vars, variables);
  const fragments = fragmentsOf(document);
  const memo = new Map<string, number>();
  const open = new Set<string>();

  const valueOf = (node: ValueNode): unknown => valueFromASTUntyped(node, vars);
  const counted = (v: unknown) =>
    typeof v === 'number' && Number.isInteger(v)
      ? Math.min(Math.max(v, 1), MAX_COUNTED_PAGE_SIZE)
      : MAX_COUNTED_PAGE_SIZE;

  /** The page size a field's arguments give, or undefined when it has no page argument in effect. */
  const pageOf = (node: FieldNode, def: GraphQLField<unknown, unknown>): number | undefined => {
    if (def.name === '_entities') {
      const reps = node.arguments?.find((a) => a.name.value === 'representations');
      const v = reps ? valueOf(reps.value) : undefined;
      return Array.isArray(v) ? v.length : undefined;
    }
    for (const name of PAGE_ARGUMENTS) {
      const arg = def.args.find((a) => a.name === name);
      if (!arg) continue;
      const given = node.arguments?.find((a) => a.name.value === name);
      const v = given ? valueOf(given.value) : undefined;
      // An absent argument, or a variable with no value, takes the schema's default (GraphQL spec, CoerceArgumentValues);
      // DataPilot's fields read an explicit null the same way (or refuse it).
      if (v === undefined || v === null) {
        if (typeof arg.defaultValue === 'number') return counted(arg.defaultValue);
        continue;
      }
      return counted(v);
    }
    return def.args.some((a) => a.name === 'first') ? MAX_DEFAULT_PAGE_SIZE : undefined;
  };

  const cost = (set: SelectionSetNode, type: GraphQLNamedType | undefined, pending: number | undefined): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const def =
          type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[sel.name.value] : undefined;
        if (!def) continue;
        const page = pageOf(sel, def);
        const named = getNamedType(def.type);
        if (isListType(getNullableType(def.type))) {
          const size = page ?? pending ?? ASSUMED_LIST_SIZE;
          total += size + size * (sel.selectionSet ? cost(sel.selectionSet, named, undefined) : 0);
        } else if (sel.selectionSet) {
          total += cost(sel.selectionSet, named, page);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        total += cost(sel.selectionSet, cond, pending);
      } else {
        const frag = fragments.get(sel.name.value);
        const key = `${sel.name.value}|${pending ?? ''}`;
        const known = memo.get(key);
        if (known !== undefined) total += known;
        else if (frag && !open.has(key)) {
          open.add(key);
          const c = cost(frag.selectionSet, schema.getType(frag.typeCondition.name.value), pending);
          open.delete(key);
          memo.set(key, c);
          total += c;
        }
      }
    }
    return total;
  };
  return cost(op.selectionSet, schema.getRootType(op.operation) ?? undefined, undefined);
}

/**
 * What {@link checkOperation} measured of one parsed document that does not depend on the request: its literals, the
 * depth and fields of each operation, and the cost of each operation that declares no variables (per schema).
 * Servers reuse a parsed document for every request with the same text (Apollo Server's document store, ws.ts's
 * {@link DocumentCache}), so a repeated operation is measured once; the entries go with the document (WeakMap).
 */
type DocumentMeasures = {
  literals?: InputMeasure;
  operations: Map<OperationDefinitionNode, { depth: number; fields: number }>;
  costs: Map<OperationDefinitionNode, WeakMap<GraphQLSchema, number>>;
};
const documentMeasures = new WeakMap<DocumentNode, DocumentMeasures>();

function measuresOf(document: DocumentNode): DocumentMeasures {
  let m = documentMeasures.get(document);
  if (!m) documentMeasures.set(document, (m = { operations: new Map(), costs: new Map() }));
  return m;
}

/**
 * Checks one resolved operation of a parsed (and validated) document against `bounds`, in this order: the input
 * literals of the document, the request's variables, the operation's depth and fields, its cost.
 * The measures that depend on the document alone are kept with it ({@link DocumentMeasures}); the variables are
 * measured, and the cost of an operation with variables computed, on every call.
 * @param variables the request's variables as received (raw JSON), or undefined.
 * @throws DataPilotError BAD_USER_INPUT naming the measure and its bound (the cost refusal carries
 *   `extensions.cost` and `extensions.maxCost`).
 */
export function checkOperation(
  args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operation: OperationDefinitionNode;
    variables?: Readonly<Record<string, unknown>> | null;
  },
  bounds: OperationBounds = DEFAULT_BOUNDS,
): void {
  const { schema, document, operation } = args;
  const variables = args.variables ?? {};
  const known = measuresOf(document);
  for (const [m, what] of [
    [(known.literals ??= measureLiterals(document)), 'The values written in the document'],
    [measureJson(variables), 'The variables'],
  ] as const) {
    if (m.depth > bounds.maxInputDepth)
      throw refuse(
        `An input value (${m.deepestAt}) is nested ${m.depth} levels deep; at most ${bounds.maxInputDepth} are allowed.`,
      );
    if (m.values > bounds.maxInputValues)
      throw refuse(`${what} hold ${m.values} input values; at most ${bounds.maxInputValues} are allowed.`);
  }
  let shape = known.operations.get(operation);
  if (!shape) known.operations.set(operation, (shape = measureOperation(operation, fragmentsOf(document))));
  const { depth, fields } = shape;
  if (depth > bounds.maxDepth)
    throw refuse(`The operation is ${depth} levels deep; at most ${bounds.maxDepth} are allowed.`);
  if (fields > bounds.maxFields)
    throw refuse(`The operation selects ${fields} fields; at most ${bounds.maxFields} are allowed.`);
  // Without variables the cost is the document's own (per schema: the gateway's and a subgraph's differ).
  let cost: number;
  if (operation.variableDefinitions?.length) cost = operationCost(schema, document, operation, variables);
  else {
    let bySchema = known.costs.get(operation);
    if (!bySchema) known.costs.set(operation, (bySchema = new WeakMap()));
    const hit = bySchema.get(schema);
    if (hit === undefined) bySchema.set(schema, (cost = operationCost(schema, document, operation)));
    else cost = hit;
  }
  if (cost > bounds.maxCost)
    throw refuse(
      `The operation may return ${cost} items (its cost); the budget is ${bounds.maxCost}. ` +
        'Ask for smaller pages (first, limit) or fewer lists in one operation.',
      { cost, maxCost: bounds.maxCost },
    );
}

/** {@link DEFAULT_BOUNDS} with the given values instead. */
export function resolveBounds(bounds: Partial<OperationBounds> = {}): OperationBounds {
  const out = { ...DEFAULT_BOUNDS };
  for (const [k, v] of Object.entries(bounds)) if (v !== undefined) out[k as keyof OperationBounds] = v;
  return out;
}

/**
 * Apollo Server plugin of every DataPilot server (gateway and subgraphs). At `didResolveOperation` — after parsing
 * (bounded by {@link PARSE_OPTIONS}) and validation, before any resolver runs and before the gateway plans — it
 * refuses with BAD_USER_INPUT (HTTP 400):
 * - a document with several operations and no (or an unknown) `operationName`;
 * - a subscription sent over HTTP (subscriptions use graphql-ws at the same URL);
 * - an operation outside `bounds` ({@link checkOperation}).
 * Validation (graphql-js's rules) is linear in the document and runs first, so an invalid document keeps its
 * GRAPHQL_VALIDATION_FAILED code.
 */
export function useOperationBounds(bounds: Partial<OperationBounds> = {}): ApolloServerPlugin {
  const resolved = resolveBounds(bounds);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request }) {
          try {
            if (!operation)
              throw refuse('The document has several operations (or not the one named): send operationName.');
            if (operation.operation === 'subscription')
              throw refuse('Subscriptions are served over graphql-ws (WebSocket) at this same URL, not over HTTP.');
            checkOperation({ schema, document, operation, variables: request.variables }, resolved);
          } catch (e) {
            throw e instanceof DataPilotError ? e.asRequestError() : e;
          }
        },
      };
    },
  };
}
