import { describe, expect, it } from 'vitest';
import { CompositionError, composeSupergraph, supergraphFromSdl } from '../src/compose.ts';
import { breakingChanges } from '../../scripts/lib/supergraph.ts';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

describe('composeSupergraph', () => {
  it('composes subgraphs into a supergraph', () => {
    const c = composeSupergraph([
      { name: 'a', url: 'http://a/graphql', sdl: `${link}\ntype Query { a: Int }\ntype Subscription { ticks: Int }` },
      { name: 'b', url: 'http://b/graphql', sdl: `${link}\ntype Query { b: Int }` },
    ]);
    expect(c.supergraphSdl).toContain('join__Graph');
    expect(c.supergraphSdl).toContain('A @join__graph(name: "a", url: "http://a/graphql")');
    expect(c.supergraphSdl).toMatch(/type Subscription\s+@join__type\(graph: A\)\s*\{\s*ticks: Int\s*\}/);
  });

  it('refuses a clash between subgraphs and names it', () => {
    const clash = () =>
      composeSupergraph([
        {
          name: 'a',
          url: 'http://a/graphql',
          sdl: `${link}\ntype Query { a: Int }\ntype PageInfo { hasNextPage: Boolean! }`,
        },
        {
          name: 'b',
          url: 'http://b/graphql',
          sdl: `${link}\ntype Query { b: Int }\ntype PageInfo { hasNextPage: Boolean! }`,
        },
      ]);
    expect(clash).toThrow(CompositionError);
    expect(clash).toThrow(/PageInfo/);
  });

  it('reads the subgraphs back from a supergraph, at the configured endpoints', () => {
    const { supergraphSdl } = composeSupergraph([
      {
        name: 'a',
        url: 'http://written-a/graphql',
        sdl: `${link}\ntype Query { a: Int }\ntype Subscription { ticks: Int }`,
      },
      { name: 'b', url: 'http://written-b/graphql', sdl: `${link}\ntype Query { b: Int }` },
    ]);
    const sg = supergraphFromSdl(supergraphSdl, {
      a: { url: 'http://run-a/graphql', wsUrl: 'ws://run-a/graphql' },
      b: { url: 'http://run-b/graphql' },
    });
    expect(sg.subgraphs).toEqual([
      { name: 'a', url: 'http://run-a/graphql', wsUrl: 'ws://run-a/graphql' },
      { name: 'b', url: 'http://run-b/graphql' },
    ]);
    expect(() => supergraphFromSdl(supergraphSdl, { a: { url: 'http://run-a/graphql' } })).toThrow(/"b"/);
  });
});

describe('breakingChanges', () => {
  const compose = (sdl: string) =>
    composeSupergraph([{ name: 'a', url: 'http://a/graphql', sdl: `${link}\n${sdl}` }]).supergraphSdl;

  it('reports a removed field and a changed type, and nothing for an added field', () => {
    const before = compose('type Query { a: Int, b: String, c: Int! }');
    expect(breakingChanges(before, compose('type Query { a: Int, c: Int!, d: Int }'))).toEqual([
      'FIELD_REMOVED: Query.b was removed.',
    ]);
    expect(breakingChanges(before, compose('type Query { a: Int, b: String, c: String! }'))).toEqual([
      'FIELD_CHANGED_KIND: Query.c changed type from Int! to String!.',
    ]);
    expect(breakingChanges(before, compose('type Query { a: Int, b: String, c: Int!, d: Int }'))).toEqual([]);
  });
});
