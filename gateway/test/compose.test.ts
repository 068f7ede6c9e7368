import { describe, expect, it } from 'vitest';
import { CompositionError, composeSupergraph } from '../src/compose.ts';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

describe('composeSupergraph', () => {
  it('composes subgraphs and records which subgraph owns each subscription field', () => {
    const c = composeSupergraph([
      { name: 'a', url: 'http://a/graphql', sdl: `${link}\ntype Query { a: Int }\ntype Subscription { ticks: Int }` },
      { name: 'b', url: 'http://b/graphql', sdl: `${link}\ntype Query { b: Int }` },
    ]);
    expect(c.supergraphSdl).toContain('join__Graph');
    expect([...c.subscriptionOwners]).toEqual([['ticks', 'a']]);
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
});
