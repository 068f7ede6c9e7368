// Relay paging (src/keyset.ts), no I/O: the arguments' checks, the SQL of a page written out by hand, and the page a
// fetch turns into. The pages of real lists are checked against PostgreSQL in each subgraph's tests.
import { describe, expect, it } from 'vitest';
import { encodeCursor, keysetPage, keysetSql, pageArgs, type Keyset, type PageRequest } from '../src/index.ts';

const K1: Keyset = { createdAt: '2026-01-02T03:04:05.000001Z', id: '00000000-0000-4000-8000-000000000001' };
const K2: Keyset = { createdAt: '2026-01-02T03:04:05.000002Z', id: '00000000-0000-4000-8000-000000000002' };
const c1 = encodeCursor('item', K1);
const c2 = encodeCursor('item', K2);

/** The code, field and message of what `fn` throws, or the value it returns. */
const outcome = (fn: () => unknown) => {
  try {
    return fn();
  } catch (e) {
    const ext = (e as { extensions: { code: string; field?: string } }).extensions;
    return `${ext.code} ${ext.field}: ${(e as Error).message}`;
  }
};
const args = (a: Parameters<typeof pageArgs>[0]) => outcome(() => pageArgs(a, 'item', 20, 100));

describe('pageArgs', () => {
  it('reads first/after forward and last/before backward, with the default size when neither size is given', () => {
    expect(args({})).toEqual({ size: 20, backward: false, after: null, before: null });
    expect(args({ first: 5, after: c1 })).toEqual({ size: 5, backward: false, after: K1, before: null });
    expect(args({ last: 5, before: c2 })).toEqual({ size: 5, backward: true, after: null, before: K2 });
    expect(args({ last: 100 })).toEqual({ size: 100, backward: true, after: null, before: null });
    // The specification's general case: both cursors bound the range, the size picks its start or its end.
    expect(args({ first: 3, after: c1, before: c2 })).toEqual({ size: 3, backward: false, after: K1, before: K2 });
    expect(args({ last: 3, after: c1, before: c2 })).toEqual({ size: 3, backward: true, after: K1, before: K2 });
    // `before` alone: the default number of items just before it; with `after` too, forward from `after`.
    expect(args({ before: c2 })).toEqual({ size: 20, backward: true, after: null, before: K2 });
    expect(args({ after: c1, before: c2 })).toEqual({ size: 20, backward: false, after: K1, before: K2 });
    expect(args({ first: null, after: null, last: null, before: null })).toEqual(args({}));
  });

  it('answers BAD_USER_INPUT naming the argument', () => {
    expect(args({ first: 1, last: 1 })).toBe('BAD_USER_INPUT last: Give first or last, not both.');
    expect(args({ first: 0 })).toBe('BAD_USER_INPUT first: first must be between 1 and 100.');
    expect(args({ first: 101 })).toBe('BAD_USER_INPUT first: first must be between 1 and 100.');
    expect(args({ last: 0 })).toBe('BAD_USER_INPUT last: last must be between 1 and 100.');
    expect(args({ last: 2.5 })).toBe('BAD_USER_INPUT last: last must be between 1 and 100.');
    expect(args({ after: 'nope' })).toBe('BAD_USER_INPUT after: after is not a cursor of this list.');
    expect(args({ before: 'nope' })).toBe('BAD_USER_INPUT before: before is not a cursor of this list.');
    // A cursor of another list, with the same position.
    expect(args({ before: encodeCursor('other', K1) })).toBe(
      'BAD_USER_INPUT before: before is not a cursor of this list.',
    );
  });

  it('refuses a default page size beyond MAX_DEFAULT_PAGE_SIZE (a programming error, not a client one)', () => {
    expect(() => pageArgs({}, 'item', 51, 100)).toThrow('default page size 51 is not within 1..50');
  });
});

describe('keysetSql', () => {
  const asc = { at: 't.at', id: 't.id', descending: false };
  const desc = { at: 't.at', id: 't.id', descending: true };
  const req = (r: Partial<PageRequest>): PageRequest => ({
    size: 10,
    backward: false,
    after: null,
    before: null,
    ...r,
  });

  it('forward: the list order, the after-row included (it tells hasPreviousPage), one row beyond the page', () => {
    expect(keysetSql(req({}), asc, 2)).toEqual({ where: '', orderBy: 't.at ASC, t.id ASC', limit: 11, params: [] });
    expect(keysetSql(req({ after: K1 }), asc, 2)).toEqual({
      where: ' AND (t.at, t.id) >= ($2::timestamptz, $3::uuid)',
      orderBy: 't.at ASC, t.id ASC',
      limit: 12,
      params: [K1.createdAt, K1.id],
    });
    expect(keysetSql(req({ after: K2, before: K1 }), desc, 4)).toEqual({
      where: ' AND (t.at, t.id) <= ($4::timestamptz, $5::uuid) AND (t.at, t.id) > ($6::timestamptz, $7::uuid)',
      orderBy: 't.at DESC, t.id DESC',
      limit: 12,
      params: [K2.createdAt, K2.id, K1.createdAt, K1.id],
    });
  });

  it('backward: the reverse order, the before-row included, the after bound strict', () => {
    expect(keysetSql(req({ backward: true }), asc, 1)).toEqual({
      where: '',
      orderBy: 't.at DESC, t.id DESC',
      limit: 11,
      params: [],
    });
    expect(keysetSql(req({ backward: true, before: K2, after: K1 }), asc, 1)).toEqual({
      where: ' AND (t.at, t.id) > ($1::timestamptz, $2::uuid) AND (t.at, t.id) <= ($3::timestamptz, $4::uuid)',
      orderBy: 't.at DESC, t.id DESC',
      limit: 12,
      params: [K1.createdAt, K1.id, K2.createdAt, K2.id],
    });
    expect(keysetSql(req({ backward: true, before: K1 }), desc, 3)).toEqual({
      where: ' AND (t.at, t.id) >= ($3::timestamptz, $4::uuid)',
      orderBy: 't.at ASC, t.id ASC',
      limit: 12,
      params: [K1.createdAt, K1.id],
    });
  });
});

describe('keysetPage', () => {
  // Rows a, b, c, d of a list, as a statement would return them (`cursor_at`, `id`).
  const row = (n: number) => ({
    id: `00000000-0000-4000-8000-00000000000${n}`,
    cursor_at: `2026-01-02T03:04:05.00000${n}Z`,
  });
  const key = (n: number): Keyset => ({ createdAt: row(n).cursor_at, id: row(n).id });
  const cur = (n: number) => encodeCursor('item', key(n));
  const page = (rows: number[], r: PageRequest) => keysetPage(rows.map(row), r, 'item', (x) => Number(x.id.slice(-1)));

  it('forward: drops the after-row when found (hasPreviousPage), keeps size rows (one more: hasNextPage)', () => {
    const r = { size: 2, backward: false, after: key(1), before: null };
    expect(page([1, 2, 3, 4], r)).toEqual({
      items: [
        { node: 2, cursor: cur(2) },
        { node: 3, cursor: cur(3) },
      ],
      pageInfo: { hasNextPage: true, hasPreviousPage: true, startCursor: cur(2), endCursor: cur(3) },
    });
    // The after-row has gone: rows after it only, no previous page claimed.
    expect(page([2, 3], r).pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: cur(2),
      endCursor: cur(3),
    });
  });

  it('backward: rows come newest first and leave in list order; the before-row sets hasNextPage', () => {
    const r = { size: 2, backward: true, after: null, before: key(4) };
    expect(page([4, 3, 2, 1], r)).toEqual({
      items: [
        { node: 2, cursor: cur(2) },
        { node: 3, cursor: cur(3) },
      ],
      pageInfo: { hasNextPage: true, hasPreviousPage: true, startCursor: cur(2), endCursor: cur(3) },
    });
    expect(page([], { ...r, before: null })).toEqual({
      items: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });
});
