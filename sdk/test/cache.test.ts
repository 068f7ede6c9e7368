// The SDK's Apollo Client cache policy (src/cache.ts), without I/O: the connection fields it pages are those of
// schema.graphql, found here with a regular expression over the file's text (not with graphql-js, which the generator
// uses), and its merge of pages is checked on pages written by hand.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataPilotTypePolicies, relayConnection } from '../src/index.ts';

const SCHEMA = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');

/** `Type.field` of every field of schema.graphql whose type is a `…Connection` (descriptions removed first). */
function connectionFieldsOf(sdl: string): string[] {
  const text = sdl.replace(/"""[\s\S]*?"""/g, '').replace(/"[^"\n]*"/g, '');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:type|extend type) (\w+)[^{]*\{([\s\S]*?)^\}/gm)) {
    const flat = m[2]!.replace(/\([^)]*\)/g, '');
    for (const f of flat.matchAll(/^\s*(\w+)\s*:\s*(\w+)!?\s*$/gm))
      if (f[2]!.endsWith('Connection')) out.push(`${m[1]}.${f[1]}`);
  }
  return out.sort();
}

const edge = (c: string) => ({ cursor: c, node: { __ref: `Row:${c}` } });
const page = (cursors: string[], pageInfo: Record<string, unknown>) => ({
  edges: cursors.map(edge),
  pageInfo,
  totalCount: 9,
});

describe('dataPilotTypePolicies', () => {
  it('pages every connection field of schema.graphql, and keys tables and datasets by name', () => {
    const policies = dataPilotTypePolicies();
    const paged = Object.entries(policies)
      .flatMap(([type, p]) => Object.keys(p.fields ?? {}).map((f) => `${type}.${f}`))
      .filter((tf) => tf !== 'LakeTable.columns')
      .sort();
    expect(paged).toEqual(connectionFieldsOf(SCHEMA));
    expect(paged).toContain('LakeTable.rows');
    expect(policies.LakeTable!.keyFields).toEqual(['name']);
    expect(policies.Dataset!.keyFields).toEqual(['name']);
    expect(policies.Me!.keyFields).toEqual([]);
    for (const t of ['LakeColumn', 'MessageResult', 'MessageEvent', 'AnswerPlan'])
      expect(policies[t]!.keyFields, t).toBe(false);
  });

  it("hands each connection's non-paging arguments to Apollo's relayStylePagination when given", () => {
    const seen: unknown[] = [];
    const policies = dataPilotTypePolicies({ relayStylePagination: (k) => (seen.push(k), { keyArgs: k }) });
    expect(policies.Query!.fields!.pipelineRuns).toEqual({ keyArgs: ['table'] });
    expect(policies.LakeTable!.fields!.rows).toEqual({ keyArgs: false });
    expect(seen.length).toBe(connectionFieldsOf(SCHEMA).length);
  });
});

describe('relayConnection', () => {
  const merge = relayConnection([]).merge as (
    e: unknown,
    i: unknown,
    o: { args: Record<string, unknown> | null },
  ) => any;

  it('appends a page fetched after the last cursor, keeping the start of the list', () => {
    const first = page(['a', 'b', 'c'], {
      hasNextPage: true,
      endCursor: 'c',
      hasPreviousPage: false,
      startCursor: 'a',
    });
    const second = page(['d', 'e'], { hasNextPage: false, endCursor: 'e', hasPreviousPage: true, startCursor: 'd' });
    const merged = merge(first, second, { args: { first: 3, after: 'c' } });
    expect(merged.edges.map((e: any) => e.cursor)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(merged.pageInfo).toEqual({ hasNextPage: false, endCursor: 'e', hasPreviousPage: false, startCursor: 'a' });
    expect(merged.totalCount).toBe(9);
  });

  it('replaces what followed a cursor in the middle, puts a `before` page in front, and restarts without either', () => {
    const list = page(['a', 'b', 'c', 'd'], { hasNextPage: true, endCursor: 'd' });
    const after = merge(list, page(['x'], { hasNextPage: false, endCursor: 'x' }), { args: { after: 'b' } });
    expect(after.edges.map((e: any) => e.cursor)).toEqual(['a', 'b', 'x']);
    const before = merge(list, page(['p', 'q'], { hasPreviousPage: false, startCursor: 'p' }), {
      args: { last: 2, before: 'c' },
    });
    expect(before.edges.map((e: any) => e.cursor)).toEqual(['p', 'q', 'c', 'd']);
    expect(before.pageInfo).toEqual({ hasPreviousPage: false, startCursor: 'p', hasNextPage: true, endCursor: 'd' });
    const restart = merge(list, page(['z'], { hasNextPage: false }), { args: { first: 1 } });
    expect(restart.edges.map((e: any) => e.cursor)).toEqual(['z']);
    expect(merge(undefined, list, { args: { after: 'q' } })).toBe(list);
  });
});
