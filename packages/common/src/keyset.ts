/**
 * Keyset (cursor) pagination over PostgreSQL rows ordered by `(created_at, id)`, one implementation for every list
 * of every service (Relay "Cursor Connections" forward paging: `first`, `after`, `pageInfo.endCursor`).
 *
 * A cursor is the row's OWN position, never a global counter, so it reveals nothing about other rows, users or
 * organizations (QA finding F7: a global sequence number revealed the platform's volume). Clients treat it as opaque.
 */
import { badUserInput } from './errors.ts';

/**
 * A position in a list: the row's own creation time (ISO-8601 UTC with microseconds, `2025-01-02T03:04:05.123456Z`,
 * PostgreSQL's full precision) and id (lower-case UUID). Lists order by (createdAt, id); `id` breaks ties.
 */
export type Keyset = { createdAt: string; id: string };

/** One page of a keyset-paginated list; `endCursor` is the cursor of the last item (null when empty). */
export type Page<T> = { items: { node: T; cursor: string }[]; hasNextPage: boolean; endCursor: string | null };

const UUID_TEXT = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CURSOR_TEXT = new RegExp(
  `^([a-z]{1,20})\\|([1-9]\\d{3}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3})(\\d{3})Z\\|(${UUID_TEXT})$`,
);

/**
 * An opaque cursor: base64url (no padding) of `<list>|<createdAt>|<id>`. `list` (lower-case letters, e.g.
 * `conversation`, `upload`) names the list, so that a cursor of one list is not accepted by another.
 */
export function encodeCursor(list: string, key: Keyset): string {
  return Buffer.from(`${list}|${key.createdAt}|${key.id}`, 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor} for `list`. Null when malformed: not canonical base64url, another
 * list's cursor, not a real UTC instant with microseconds in years 1000..9999, or not a lower-case UUID. So what
 * reaches SQL is always a valid timestamptz and uuid.
 */
export function decodeCursor(list: string, cursor: string): Keyset | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const m = CURSOR_TEXT.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || m[1] !== list) return null;
  const [, , millis, micros, id] = m as unknown as [string, string, string, string, string];
  // A real instant: Date normalizes Feb 30 or 25:00 to another text, which then differs.
  const t = new Date(`${millis}Z`);
  if (Number.isNaN(t.getTime()) || t.toISOString() !== `${millis}Z`) return null;
  const key = { createdAt: `${millis}${micros}Z`, id };
  return encodeCursor(list, key) === cursor ? key : null;
}

/**
 * The `first` and decoded `after` arguments of a connection field.
 * @param def `first` when the client gave none; `max` its upper bound (lower bound 1).
 * @throws BAD_USER_INPUT naming `first` or `after` (a malformed cursor or another list's).
 */
export function pageArgs(
  args: { first?: number | null; after?: string | null },
  list: string,
  def: number,
  max: number,
): { first: number; after: Keyset | null } {
  const first = args.first ?? def;
  if (!Number.isInteger(first) || first < 1 || first > max)
    throw badUserInput(`first must be between 1 and ${max}.`, 'first');
  const after = args.after == null ? null : decodeCursor(list, args.after);
  if (args.after != null && after === null) throw badUserInput('after is not a cursor of this list.', 'after');
  return { first, after };
}

/**
 * A SQL select item: `<column>` (a timestamptz) as the cursor's text, `cursor_at`: ISO-8601 UTC with all six
 * fractional digits (a JS Date keeps only three). `column` is SQL text: pass identifiers only, never input.
 */
export const cursorAtColumn = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;

/**
 * A page from `rows` fetched with `LIMIT first + 1` (the extra row says whether there is a next page); each row
 * selected {@link cursorAtColumn} and its `id`.
 */
export function keysetPage<R extends { id: string; cursor_at: string }, T>(
  rows: R[],
  first: number,
  list: string,
  map: (r: R) => T,
): Page<T> {
  const items = rows
    .slice(0, first)
    .map((r) => ({ node: map(r), cursor: encodeCursor(list, { createdAt: r.cursor_at, id: r.id }) }));
  return { items, hasNextPage: rows.length > first, endCursor: items.at(-1)?.cursor ?? null };
}

/** A {@link Page} in the shape of a Relay connection: `{ edges, pageInfo: { hasNextPage, endCursor } }`. */
export const connection = <T>(p: Page<T>) => ({
  edges: p.items,
  pageInfo: { hasNextPage: p.hasNextPage, endCursor: p.endCursor },
});
