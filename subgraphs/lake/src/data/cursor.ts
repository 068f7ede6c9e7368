/**
 * Keyset cursors of `LakeTable.rows`: a row's cursor is its {@link RowPosition} in the table's row order (its key
 * columns' values as Spark prints them, and which of the rows with that key it is), so that any page costs one
 * filtered scan and a top-K of a page, wherever it lies (OrgLake.rowsPage).
 */
import { MAX_ROW_KEY_CHARS, MAX_ROW_TIES, type RowPosition } from '@datapilot/lake-core';

const TAG = 'lakerow2';
/** Longest cursor text accepted: a key of {@link MAX_ROW_KEY_CHARS} characters, JSON-escaped and base64url. */
const MAX_CURSOR_CHARS = 8 * MAX_ROW_KEY_CHARS + 256;

/** The opaque cursor of a row of table `table`: base64url of the JSON `["lakerow2", table, key, nth]`. */
export function encodeCursor(table: string, p: RowPosition): string {
  return Buffer.from(JSON.stringify([TAG, table, p.key, p.nth]), 'utf8').toString('base64url');
}

/**
 * The position a cursor of table `table` stands for, or null when it is not one this subgraph made for that table's
 * rows (malformed, not canonical, another table's, too long, `nth` outside 1..MAX_ROW_TIES). Whether the key fits
 * the table's columns is checked by OrgLake.rowsPage (BAD_USER_INPUT too); key values reach Spark only as bound
 * parameters, read back with `CAST(:p AS <column type>)`.
 */
export function decodeCursor(table: string, cursor: string): RowPosition | null {
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length !== 4 || v[0] !== TAG || v[1] !== table) return null;
  const [, , key, nth] = v as [string, string, unknown, unknown];
  if (!Array.isArray(key) || !key.every((x) => x === null || typeof x === 'string')) return null;
  // The key's own text is bounded (MAX_ROW_KEY_CHARS), not only the cursor's: escapes make the two differ.
  if (key.reduce((n: number, x) => n + (x?.length ?? 0), 0) > MAX_ROW_KEY_CHARS) return null;
  if (typeof nth !== 'number' || !Number.isInteger(nth) || nth < 1 || nth > MAX_ROW_TIES) return null;
  const p = { key: key as (string | null)[], nth };
  return encodeCursor(table, p) === cursor ? p : null;
}
