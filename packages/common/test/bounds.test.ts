// The bounds of every GraphQL endpoint (src/bounds.ts): measures computed by hand from the documents below, and the
// Apollo Server plugin on a real in-process server. The gateway's planner and the subgraphs are in gateway/test and
// the subgraphs' tests.
import { Kind, buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ApolloServer } from '@apollo/server';
import {
  ASSUMED_LIST_SIZE,
  DEFAULT_BOUNDS,
  MAX_COUNTED_PAGE_SIZE,
  MAX_DEFAULT_PAGE_SIZE,
  MAX_NESTING,
  checkOperation,
  checkSource,
  fragmentsOf,
  measureJson,
  measureLiterals,
  measureOperation,
  operationCost,
  useOperationBounds,
} from '../src/index.ts';

const firstOp = (source: string) => {
  const doc = parse(source);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return { doc, op };
};
const measure = (source: string) => {
  const { doc, op } = firstOp(source);
  return measureOperation(op, fragmentsOf(doc));
};
/** The code and message of what `fn` throws, or 'accepted'. */
const outcome = (fn: () => void) => {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    return `${(e as { extensions: { code: string } }).extensions.code}: ${(e as Error).message}`;
  }
};

describe('measureOperation', () => {
  it('counts depth from the root fields and every field, aliases each time', () => {
    // a(1) > b(2) > c(3); x and y are aliases of one field at depth 1: 5 fields, depth 3.
    expect(measure('{ a { b { c } } x: d y: d }')).toEqual({ depth: 3, fields: 5 });
  });

  it('follows fragment spreads and inline fragments; introspection fields count but add no depth', () => {
    // q(1) > F{ r(2) > s(3) } and an inline fragment t(2), __typename: 5 fields, depth 3;
    // __schema > types > name: 3 more fields, no depth.
    const src =
      'query { q { ...F ... on Q { t } __typename } __schema { types { name } } } fragment F on Q { r { s } }';
    expect(measure(src)).toEqual({ depth: 3, fields: 8 });
  });

  it('bounds aliased introspection: 30 aliases of __schema { types { name fields { name } } } (5 fields each) are 150 fields', () => {
    const src = `{ ${Array.from({ length: 30 }, (_, i) => `s${i}: __schema { types { name fields { name } } }`).join(' ')} }`;
    expect(measure(src)).toEqual({ depth: 0, fields: 150 });
  });

  it('counts a fragment as many times as it is spread', () => {
    expect(measure('{ a { ...F } b { ...F } } fragment F on T { x y }')).toEqual({ depth: 2, fields: 6 });
  });

  it('measures a fragment bomb (each of 40 fragments spreads the next twice) in linear time: 2^40 fields', () => {
    const frags = Array.from({ length: 40 }, (_, i) => `fragment F${i} on T { ...F${i + 1} ...F${i + 1} }`);
    const src = `{ t { ...F0 } } ${frags.join(' ')} fragment F40 on T { leaf }`;
    const started = performance.now();
    // t, then 2^40 leaves.
    expect(measure(src)).toEqual({ depth: 2, fields: 1 + 2 ** 40 });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('stops at a fragment cycle (which validation refuses) instead of looping', () => {
    expect(measure('{ t { ...A } } fragment A on T { x ...B } fragment B on T { y ...A }')).toEqual({
      depth: 2,
      fields: 3,
    });
  });
});

describe('measureLiterals and measureJson', () => {
  it('measures every literal of fields, directives and variable defaults, in operations and fragments', () => {
    // x: object(1) > list(2) > object(3) > 1: depth 3, 4 values. y: list + 2 ints: depth 1, 3 values.
    // @include(if: true): 1 value. $v default [[1]]: depth 2, 3 values. Fragment field z("s"): 1 value.
    const doc = parse(
      'query($v: [[Int]] = [[1]]) { a(x: { AND: [{ b: 1 }] }, y: [1, 2]) @include(if: true) ...F } ' +
        'fragment F on Q { z(s: "s") }',
    );
    expect(measureLiterals(doc)).toEqual({ depth: 3, values: 12, deepestAt: 'argument "x" of field "a"' });
  });

  it('finds a deep literal in a fragment as in the operation', () => {
    const deep = (n: number): string => (n === 0 ? '1' : `{ n: ${deep(n - 1)} }`);
    const doc = parse(`{ ...F } fragment F on Q { f(w: ${deep(12)}) }`);
    expect(measureLiterals(doc)).toEqual({ depth: 12, values: 13, deepestAt: 'argument "w" of field "f"' });
  });

  it('measures JSON variables: arrays and objects are levels, every value counts', () => {
    // w: {NOT: {NOT: 1}} is depth 2 with 3 values; n: [1, 2, 3] is depth 1 with 4 values; s: 1 value.
    expect(measureJson({ w: { NOT: { NOT: 1 } }, n: [1, 2, 3], s: 'x' })).toEqual({
      depth: 2,
      values: 8,
      deepestAt: 'variable "$w"',
    });
  });

  it('measures a value nested 100 000 levels deep without overflowing the stack', () => {
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(measureJson({ v }).depth).toBe(100_000);
  });
});

describe('checkSource', () => {
  it(`refuses brackets nested more than ${MAX_NESTING} deep before parsing, and ignores brackets in strings and comments`, () => {
    // `{` and `(` are 2 levels; k brackets more make 2 + k.
    const nested = (k: number) => `{ a(x: ${'['.repeat(k)}1${']'.repeat(k)}) }`;
    expect(outcome(() => checkSource(nested(MAX_NESTING - 2)))).toBe('accepted');
    expect(outcome(() => checkSource(nested(MAX_NESTING - 1)))).toBe(
      `BAD_USER_INPUT: The document nests brackets more than ${MAX_NESTING} levels deep (line 1).`,
    );
    expect(outcome(() => checkSource(nested(5000)))).toMatch(/^BAD_USER_INPUT/);
    expect(outcome(() => checkSource(`# ${'{'.repeat(500)}\n{ a(s: "${'['.repeat(500)}") }`))).toBe('accepted');
    // A lexical error is left to the parser.
    expect(outcome(() => checkSource('{ a(s: "unterminated'))).toBe('accepted');
  });
});

// A schema of lists and connections; every expected cost below is worked out by hand from the rule in bounds.ts.
const schema = buildSchema(`
  scalar _Any
  union _Entity = Item
  type Query {
    tables: [Table!]!
    table(name: String): Table
    page(first: Int = 20): Conn!
    relay(first: Int, after: String, last: Int, before: String): Conn!
    items(limit: Int): [Item!]!
    _entities(representations: [_Any!]!): [_Entity]!
  }
  type Table { name: String columns: [Col!]! rows(first: Int = 50): Conn! }
  type Conn { edges: [Edge!]! pageInfo: PI! total: Int }
  type Edge { node: Item cursor: String }
  type Item { id: ID tags: [String] }
  type Col { name: String }
  type PI { hasNext: Boolean }
`);
const cost = (source: string, variables?: Record<string, unknown>) => {
  const { doc, op } = firstOp(source);
  return operationCost(schema, doc, op, variables);
};
const ROWS = 'table(name: "t") { rows(first: 1000) { edges { node { id } } pageInfo { hasNext } total } }';

describe('operationCost', () => {
  it('counts the items of a connection page once: edges × first; pageInfo and total are single', () => {
    expect(cost(`{ ${ROWS} }`)).toBe(1000);
  });

  it('multiplies aliases: 100 aliases of a 1 000-row page cost 100 000', () => {
    expect(cost(`{ ${Array.from({ length: 100 }, (_, i) => `t${i}: ${ROWS}`).join(' ')} }`)).toBe(100_000);
  });

  it(`multiplies along the path, with ${ASSUMED_LIST_SIZE} for a list without a page argument and the schema default for an absent one`, () => {
    // tables: 10; per table: columns 10 + rows (default 50) edges 50 = 60 → 10 + 10 × 60.
    expect(cost('{ tables { columns { name } rows { edges { cursor } } } }')).toBe(610);
  });

  it('reads page sizes from variables, their defaults in the operation, and the schema default', () => {
    // edges n, then per edge one node with tags (10): n + 10 n.
    const q = (def = '') => `query($n: Int${def}) { page(first: $n) { edges { node { tags } } } }`;
    expect(cost(q(), { n: 7 })).toBe(77);
    expect(cost(q(' = 3'))).toBe(33);
    expect(cost(q())).toBe(220); // schema default 20
  });

  it(`brings page values into 1..${MAX_COUNTED_PAGE_SIZE}, reads null as absent, and counts an unpaged list ${ASSUMED_LIST_SIZE}`, () => {
    expect(cost('{ items(limit: 2147483647) { id } }')).toBe(MAX_COUNTED_PAGE_SIZE);
    expect(cost('{ items(limit: 0) { id } }')).toBe(1);
    expect(cost('{ items(limit: -5) { id } }')).toBe(1);
    expect(cost('query($l: Int) { items(limit: $l) { id } }', { l: 'many' })).toBe(MAX_COUNTED_PAGE_SIZE);
    expect(cost('query($l: Int) { items(limit: $l) { id } }', { l: null })).toBe(ASSUMED_LIST_SIZE);
    expect(cost('{ page(first: null) { edges { cursor } } }')).toBe(20); // the schema default
    expect(cost('{ items { id } }')).toBe(ASSUMED_LIST_SIZE);
  });

  it(`counts a Relay connection's last like first, and one paged by default as ${MAX_DEFAULT_PAGE_SIZE} items`, () => {
    // edges 7 (or 50), then per edge one node with tags (10): n + 10 n.
    expect(cost('{ relay(last: 7, before: "x") { edges { node { tags } } } }')).toBe(77);
    expect(cost('{ relay(first: 7) { edges { node { tags } } } }')).toBe(77);
    expect(MAX_DEFAULT_PAGE_SIZE).toBe(50);
    expect(cost('{ relay { edges { node { tags } } } }')).toBe(550);
    expect(cost('query($l: Int) { relay(last: $l) { edges { cursor } } }', { l: null })).toBe(50);
  });

  it('follows fragments and inline fragments; introspection counts nothing', () => {
    expect(cost('{ ...Q } fragment Q on Query { page(first: 5) { ... on Conn { edges { node { id } } } } }')).toBe(5);
    expect(cost('{ __schema { types { fields { name } } } }')).toBe(0);
  });

  it('weighs _entities by its number of representations', () => {
    // 3 entities, each with tags (10): 3 + 30.
    expect(cost('{ _entities(representations: [{ a: 1 }, { a: 2 }, { a: 3 }]) { ... on Item { tags } } }')).toBe(33);
    const reps = Array.from({ length: 400 }, (_, i) => ({ __typename: 'Item', id: String(i) }));
    expect(cost('query($r: [_Any!]!) { _entities(representations: $r) { ... on Item { id } } }', { r: reps })).toBe(
      400,
    );
  });
});

describe('checkOperation', () => {
  const check = (source: string, variables?: Record<string, unknown>, bounds = DEFAULT_BOUNDS) =>
    outcome(() => {
      const { doc, op } = firstOp(source);
      checkOperation({ schema, document: doc, operation: op, variables }, bounds);
    });
  const deep = (n: number): string => (n === 0 ? '1' : `{ a: ${deep(n - 1)} }`);
  const deepJson = (n: number): unknown => (n === 0 ? 1 : { a: deepJson(n - 1) });

  it('refuses each measure over its bound with BAD_USER_INPUT naming it', () => {
    expect(check(`{ table(name: "x") { name } }`)).toBe('accepted');
    expect(check(`{ _entities(representations: [${deep(10)}]) { __typename } }`)).toBe(
      'BAD_USER_INPUT: An input value (argument "representations" of field "_entities") is nested 11 levels deep; at most 10 are allowed.',
    );
    expect(check(`query($r: [_Any!]!) { _entities(representations: $r) { __typename } }`, { r: [deepJson(10)] })).toBe(
      'BAD_USER_INPUT: An input value (variable "$r") is nested 11 levels deep; at most 10 are allowed.',
    );
    const many = Array.from({ length: 2500 }, () => '{ a: 1 }').join(','); // 2 values each, plus the list
    expect(check(`{ _entities(representations: [${many}]) { __typename } }`)).toBe(
      'BAD_USER_INPUT: The values written in the document hold 5001 input values; at most 5000 are allowed.',
    );
    expect(
      check(`query($r: [_Any!]!) { _entities(representations: $r) { __typename } }`, {
        r: Array.from({ length: 5000 }, () => 1),
      }),
    ).toBe('BAD_USER_INPUT: The variables hold 5001 input values; at most 5000 are allowed.');
    expect(check(`{ ${ROWS} }`, undefined, { ...DEFAULT_BOUNDS, maxDepth: 4 })).toBe(
      'BAD_USER_INPUT: The operation is 5 levels deep; at most 4 are allowed.',
    );
    expect(check(`{ ${Array.from({ length: 501 }, (_, i) => `a${i}: table { name }`).join(' ')} }`)).toBe(
      'BAD_USER_INPUT: The operation selects 1002 fields; at most 500 are allowed.',
    );
    expect(check(`{ ${Array.from({ length: 11 }, (_, i) => `t${i}: ${ROWS}`).join(' ')} }`)).toBe(
      'BAD_USER_INPUT: The operation may return 11000 items (its cost); the budget is 10000. ' +
        'Ask for smaller pages (first, limit) or fewer lists in one operation.',
    );
  });

  it('checks a parsed document again on every request: variables each time, and the same answer from what it kept', () => {
    // One document object reused, as servers reuse parsed documents (Apollo's document store, ws.ts's cache).
    const paged = firstOp(
      `query($n: Int) { a: table(name: "a") { rows(first: $n) { edges { node { id } } } } b: table(name: "b") { rows(first: $n) { edges { node { id } } } } }`,
    );
    const run = (variables: Record<string, unknown>, bounds = DEFAULT_BOUNDS) =>
      outcome(() => checkOperation({ schema, document: paged.doc, operation: paged.op, variables }, bounds));
    // 2 × 1 000 = 2 000 items, then 2 × 6 000 → each page counted 1 000 at most: 2 000; 2 × 10 → 20.
    expect(run({ n: 1000 }, { ...DEFAULT_BOUNDS, maxCost: 1999 })).toBe(
      'BAD_USER_INPUT: The operation may return 2000 items (its cost); the budget is 1999. ' +
        'Ask for smaller pages (first, limit) or fewer lists in one operation.',
    );
    expect(run({ n: 10 }, { ...DEFAULT_BOUNDS, maxCost: 1999 })).toBe('accepted');
    expect(run({ n: 1000 }, { ...DEFAULT_BOUNDS, maxCost: 1999 })).toMatch(/may return 2000 items/);
    // Without variables: the kept cost is that of this document, refused again under a lower bound.
    const fixed = firstOp(`{ ${Array.from({ length: 11 }, (_, i) => `t${i}: ${ROWS}`).join(' ')} }`);
    const once = (bounds = DEFAULT_BOUNDS) =>
      outcome(() => checkOperation({ schema, document: fixed.doc, operation: fixed.op }, bounds));
    expect(once()).toMatch(/may return 11000 items/);
    expect(once({ ...DEFAULT_BOUNDS, maxCost: 11_000 })).toBe('accepted');
    expect(once()).toMatch(/may return 11000 items/);
    // ... and kept per schema: `rows` defaults to 5 items in `other` (11 aliases: 55) and to 50 in `schema` (550).
    const other = buildSchema(`
      type Query { table(name: String): Table }
      type Table { rows(first: Int = 5): Conn! }
      type Conn { edges: [Edge!]! }
      type Edge { node: Item }
      type Item { id: ID }
    `);
    const unpaged = firstOp(
      `{ ${Array.from({ length: 11 }, (_, i) => `t${i}: table(name: "t") { rows { edges { node { id } } } }`).join(' ')} }`,
    );
    const under549 = (s: typeof schema) =>
      outcome(() =>
        checkOperation(
          { schema: s, document: unpaged.doc, operation: unpaged.op },
          { ...DEFAULT_BOUNDS, maxCost: 549 },
        ),
      );
    expect(under549(other)).toBe('accepted');
    expect(under549(schema)).toBe(
      'BAD_USER_INPUT: The operation may return 550 items (its cost); the budget is 549. ' +
        'Ask for smaller pages (first, limit) or fewer lists in one operation.',
    );
    expect(under549(other)).toBe('accepted');
  });
});

describe('useOperationBounds', () => {
  const server = new ApolloServer({
    typeDefs: 'type Query { a: A list(first: Int = 10): [A!]! } type A { a: A b: Int }',
    resolvers: {
      Query: {
        a: () => ({}),
        list: (_: unknown, { first }: { first: number }) => Array.from({ length: first }, () => ({})),
      },
      A: { a: () => ({}), b: () => 1 },
    },
    plugins: [useOperationBounds({ maxDepth: 3, maxFields: 5, maxCost: 100 })],
  });
  const run = async (query: string, operationName?: string, variables?: Record<string, unknown>) => {
    const res = await server.executeOperation({ query, operationName, variables });
    const single = res.body.kind === 'single' ? res.body.singleResult : undefined;
    return {
      status: res.http.status ?? 200,
      data: single?.data,
      codes: single?.errors?.map((e) => e.extensions?.code),
    };
  };
  const refused = { status: 400, data: undefined, codes: ['BAD_USER_INPUT'] };

  it('lets operations within the bounds through', async () => {
    expect(await run('{ a { a { b } } }')).toEqual({ status: 200, data: { a: { a: { b: 1 } } }, codes: undefined });
    expect(await run('query($n: Int) { list(first: $n) { b } }', undefined, { n: 2 })).toEqual({
      status: 200,
      data: { list: [{ b: 1 }, { b: 1 }] },
      codes: undefined,
    });
  });

  it('refuses, before any resolver runs, with BAD_USER_INPUT and HTTP 400', async () => {
    expect(await run('{ a { a { a { b } } } }')).toEqual(refused); // depth 4
    expect(await run('{ x: a { b } y: a { b } z: a { b } }')).toEqual(refused); // 6 fields
    expect(await run('query($n: Int) { list(first: $n) { b } }', undefined, { n: 101 })).toEqual(refused); // cost 101
    expect(await run('{ list(first: 1) { b } }', undefined)).toEqual({
      status: 200,
      data: { list: [{ b: 1 }] },
      codes: undefined,
    });
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    // Before variables are coerced (an Int would refuse it with another code).
    expect(await run('query($v: Int) { list(first: $v) { b } }', undefined, { v: deep(11) })).toEqual(refused);
    expect(await run('query P { a { b } } query Q { a { b } }')).toEqual(refused);
    expect((await run('query P { a { b } } query Q { a { b } }', 'Q')).status).toBe(200);
  });
});
