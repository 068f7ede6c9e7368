import { badUserInput } from '@datapilot/common';
import { MAX_ROWS_OFFSET } from '@datapilot/lake-core';

const PREFIX = 'lakerow:';

/** The opaque cursor of the row at 0-based position `offset`: base64 of `lakerow:<offset>`. */
export function encodeCursor(offset: number): string {
  return Buffer.from(`${PREFIX}${offset}`, 'utf8').toString('base64');
}

/**
 * The position a cursor stands for.
 * @throws BAD_USER_INPUT (field `after`) when the cursor is not one this subgraph made.
 */
export function decodeCursor(cursor: string): number {
  const bad = () => badUserInput('The cursor is malformed.', 'after');
  if (!/^[A-Za-z0-9+/]{4,64}={0,2}$/.test(cursor)) throw bad();
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  const m = /^lakerow:(0|[1-9]\d{0,9})$/.exec(text);
  if (!m || encodeCursor(Number(m[1])) !== cursor) throw bad();
  const offset = Number(m[1]);
  if (offset >= MAX_ROWS_OFFSET) throw bad();
  return offset;
}
