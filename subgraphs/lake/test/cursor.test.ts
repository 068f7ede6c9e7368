// Offset paging of LakeTable.rows (src/data/cursor.ts), no I/O: a list of seven rows read from an array, every page
// and pageInfo worked out by hand. The same paging against Spark is in lake.test.ts.
import { describe, expect, it } from 'vitest';
import type { PageRequest } from '@datapilot/common';
import { decodeCursor, encodeCursor, offsetPage } from '../src/data/cursor.ts';

const ROWS = ['a', 'b', 'c', 'd', 'e', 'f', 'g']; // positions 0..6
const reads: [number, number][] = [];
let counts = 0;
const page = (r: Partial<PageRequest<number>>) => {
  reads.length = 0;
  counts = 0;
  return offsetPage<string>(
    { size: 3, backward: false, after: null, before: null, ...r },
    async (offset, limit) => {
      reads.push([offset, limit]);
      return ROWS.slice(offset, offset + limit);
    },
    async () => {
      counts++;
      return ROWS.length;
    },
  );
};
/** The page as `nodes @ positions | flags`, e.g. `abc 0-2 | next`. */
const show = async (r: Partial<PageRequest<number>>) => {
  const p = await page(r);
  const pos = p.items.map((i) => decodeCursor(i.cursor));
  const { hasNextPage, hasPreviousPage, startCursor, endCursor } = p.pageInfo;
  expect(startCursor).toBe(p.items[0]?.cursor ?? null);
  expect(endCursor).toBe(p.items.at(-1)?.cursor ?? null);
  return `${p.items.map((i) => i.node).join('')} ${pos.join(',')} |${hasPreviousPage ? ' prev' : ''}${hasNextPage ? ' next' : ''}`;
};

describe('offsetPage', () => {
  it('pages forward: after is read with the page (hasPreviousPage), one row beyond it (hasNextPage)', async () => {
    expect(await show({})).toBe('abc 0,1,2 | next');
    expect(reads).toEqual([[0, 4]]);
    expect(await show({ after: 2 })).toBe('def 3,4,5 | prev next');
    expect(reads).toEqual([[2, 5]]);
    expect(await show({ after: 5 })).toBe('g 6 | prev');
    expect(await show({ after: 6 })).toBe('  | prev');
    expect(await show({ after: 9 })).toBe('  |'); // position 9 is not there: no claim of earlier rows
    expect(await show({ after: 0, before: 3 })).toBe('bc 1,2 | prev'); // the range ends at `before`
  });

  it('pages backward: ends at before (read with the page: hasNextPage) or at the counted end', async () => {
    expect(await show({ backward: true })).toBe('efg 4,5,6 | prev');
    expect(counts).toBe(1);
    expect(reads).toEqual([[4, 3]]);
    expect(await show({ backward: true, before: 4 })).toBe('bcd 1,2,3 | prev next');
    expect(counts).toBe(0);
    expect(reads).toEqual([[1, 4]]);
    expect(await show({ backward: true, before: 1 })).toBe('a 0 | next');
    expect(await show({ backward: true, before: 0 })).toBe('  | next');
    expect(await show({ backward: true, before: 6, after: 3 })).toBe('ef 4,5 | next'); // the range starts after 3
    expect(await show({ backward: true, before: 2, after: 4 })).toBe('  | next'); // an empty range
  });

  it('walks the whole list both ways with the cursors it issues', async () => {
    const forward: string[] = [];
    let after: number | null = null;
    for (;;) {
      const p = await page({ after });
      forward.push(p.items.map((i) => i.node).join(''));
      if (!p.pageInfo.hasNextPage) break;
      after = decodeCursor(p.pageInfo.endCursor!);
    }
    expect(forward).toEqual(['abc', 'def', 'g']);
    const backward: string[] = [];
    let before: number | null = null;
    for (;;) {
      const p = await page({ backward: true, before });
      backward.push(p.items.map((i) => i.node).join(''));
      if (!p.pageInfo.hasPreviousPage) break;
      before = decodeCursor(p.pageInfo.startCursor!);
    }
    expect(backward).toEqual(['efg', 'bcd', 'a']);
  });

  it('decodes only its own cursors', () => {
    expect(encodeCursor(6)).toBe(Buffer.from('lakerow:6').toString('base64'));
    expect(decodeCursor(encodeCursor(6))).toBe(6);
    expect(decodeCursor(Buffer.from('lakerow:06').toString('base64'))).toBeNull();
    expect(decodeCursor(Buffer.from('upload|x').toString('base64url'))).toBeNull();
    expect(decodeCursor(Buffer.from('lakerow:2000000000').toString('base64'))).toBeNull(); // MAX_ROWS_OFFSET
  });
});
