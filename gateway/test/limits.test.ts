import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ApolloServer } from '@apollo/server';
import { measureOperation, useOperationLimits } from '../src/limits.ts';

function measure(source: string) {
  const doc = parse(source);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const frags = new Map(
    doc.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  return measureOperation(op, frags);
}

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
});

describe('useOperationLimits', () => {
  const server = new ApolloServer({
    typeDefs: 'type Query { a: A } type A { a: A b: Int }',
    resolvers: { Query: { a: () => ({}) }, A: { a: () => ({}), b: () => 1 } },
    plugins: [useOperationLimits({ maxDepth: 3, maxFields: 5 })],
  });
  const run = async (query: string, operationName?: string) => {
    const res = await server.executeOperation({ query, operationName });
    const single = res.body.kind === 'single' ? res.body.singleResult : undefined;
    return {
      status: res.http.status ?? 200,
      data: single?.data,
      codes: single?.errors?.map((e) => e.extensions?.code),
    };
  };

  it('lets operations within the bounds through', async () => {
    expect(await run('{ a { a { b } } }')).toEqual({ status: 200, data: { a: { a: { b: 1 } } }, codes: undefined });
  });

  it('refuses a deeper or wider operation, and several operations without a name, with BAD_USER_INPUT and HTTP 400', async () => {
    const refused = { status: 400, data: undefined, codes: ['BAD_USER_INPUT'] };
    expect(await run('{ a { a { a { b } } } }')).toEqual(refused); // depth 4
    expect(await run('{ x: a { b } y: a { b } z: a { b } }')).toEqual(refused); // 6 fields
    expect(await run('query P { a { b } } query Q { a { b } }')).toEqual(refused);
    expect((await run('query P { a { b } } query Q { a { b } }', 'Q')).status).toBe(200);
  });
});
