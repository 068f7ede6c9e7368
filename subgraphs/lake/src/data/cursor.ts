/**
 * Offset cursors of `LakeTable.rows`: a row's cursor is its 0-based position in the table's stable order, and a page
 * is a window of positions (Relay paging as in @datapilot/common's keyset.ts: same arguments, same `pageInfo` rules,
 * computed here with offsets instead of keysets).
 */
import { pageOf, type Page, type PageRequest } from '@datapilot/common';
import { MAX_ROWS_OFFSET } from '@datapilot/lake-core';

const PREFIX = 'lakerow:';

/** The opaque cursor of the row at 0-based position `offset`: base64 of `lakerow:<offset>`. */
export function encodeCursor(offset: number): string {
  return Buffer.from(`${PREFIX}${offset}`, 'utf8').toString('base64');
}

/**
 * The position a cursor stands for, or null when the cursor is not one this subgraph made for rows (malformed, not
 * canonical, or a position at or beyond MAX_ROWS_OFFSET).
 */
export function decodeCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9+/]{4,64}={0,2}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  const m = /^lakerow:(0|[1-9]\d{0,9})$/.exec(text);
  if (!m || encodeCursor(Number(m[1])) !== cursor) return null;
  const offset = Number(m[1]);
  return offset < MAX_ROWS_OFFSET ? offset : null;
}

/**
 * One page of a list read by position: the positions strictly between `req.after` and `req.before`, the first (or,
 * backward, the last) `req.size` of them. Like a keyset page, the read also takes the row of the near cursor (`after`
 * forward, `before` backward) to tell whether it is still there (`hasPreviousPage` forward, `hasNextPage` backward),
 * and one row beyond the page for the other flag; a backward page ends at `before`, or at the list's end (`count()`,
 * called only then).
 * @param read rows `offset` .. `offset + limit - 1` (fewer at the list's end); not called for `limit` 0.
 */
export async function offsetPage<T>(
  req: PageRequest<number>,
  read: (offset: number, limit: number) => Promise<T[]>,
  count: () => Promise<number>,
): Promise<Page<T>> {
  const readSome = (offset: number, limit: number) => (limit > 0 ? read(offset, limit) : Promise.resolve([]));
  const lo = req.after === null ? 0 : req.after + 1; // the first position in range
  if (!req.backward) {
    const inRange = Math.max(0, Math.min(req.size + 1, (req.before ?? Infinity) - lo));
    const near = req.after !== null;
    const rows = await readSome(near ? lo - 1 : lo, inRange + (near ? 1 : 0));
    const rest = near ? rows.slice(1) : rows;
    const items = rest.slice(0, req.size).map((node, i) => ({ node, cursor: encodeCursor(lo + i) }));
    return pageOf(items, false, rest.length > req.size, near && rows.length > 0);
  }
  const end = req.before ?? (await count()); // one past the last position in range
  const start = Math.min(end, Math.max(lo, end - req.size));
  const n = end - start;
  const near = req.before !== null;
  const rows = await readSome(start, n + (near ? 1 : 0));
  const items = rows.slice(0, n).map((node, i) => ({ node, cursor: encodeCursor(start + i) }));
  return pageOf(items, true, start > lo && rows.length > 0, near && rows.length > n);
}
