// Keyset cursors of LakeTable.rows (src/data/cursor.ts), no I/O: what a cursor holds, and which texts are refused.
// Paging itself against Spark is in packages/lake/test/org-lake.test.ts and lake.test.ts.
import { describe, expect, it } from 'vitest';
import { MAX_ROW_TIES } from '@datapilot/lake-core';
import { decodeCursor, encodeCursor } from '../src/data/cursor.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');

describe('row cursors', () => {
  it('round-trip a position of their own table: the key as Spark prints it, nulls, and the tie count', () => {
    const p = { key: ['1', null, "O'Brien'; DROP TABLE x; --", '2024-01-01 01:00:00'], nth: 3 };
    const c = encodeCursor('orders', p);
    expect(c).toBe(b64(['lakerow2', 'orders', p.key, 3]));
    expect(decodeCursor('orders', c)).toEqual(p);
    expect(decodeCursor('orders', encodeCursor('orders', { key: [], nth: MAX_ROW_TIES }))).toEqual({
      key: [],
      nth: MAX_ROW_TIES,
    });
  });

  it("refuses other tables' cursors, old offset cursors, malformed and oversized texts", () => {
    const p = { key: ['1'], nth: 1 };
    for (const bad of [
      encodeCursor('customers', p), // another table's
      Buffer.from('lakerow:6').toString('base64'), // an offset cursor of before
      b64(['lakerow2', 'orders', ['1'], 0]),
      b64(['lakerow2', 'orders', ['1'], MAX_ROW_TIES + 1]),
      b64(['lakerow2', 'orders', ['1'], 1.5]),
      b64(['lakerow2', 'orders', [1], 1]), // a number, not Spark's text
      b64(['lakerow2', 'orders', 'x', 1]),
      b64(['lakerow2', 'orders', ['1'], 1, 'extra']),
      `${encodeCursor('orders', p)}=`, // not canonical
      'not a cursor',
      encodeCursor('orders', { key: ['x'.repeat(40_000)], nth: 1 }),
    ])
      expect(decodeCursor('orders', bad), bad.slice(0, 60)).toBeNull();
  });
});
