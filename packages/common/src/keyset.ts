/**
 * Relay "Cursor Connections" paging (https://relay.dev/graphql/connections.htm), one implementation for every list
 * of every service: the arguments `first`/`after` (forward) and `last`/`before` (backward), and keyset pagination
 * over PostgreSQL rows ordered by `(created_at, id)`, ascending or descending.
 *
 * A cursor is the row's OWN position, never a global counter, so it reveals nothing about other rows, users or
 * organizations (QA finding F7: a global sequence number revealed the platform's volume). Clients treat it as opaque.
 *
 * `pageInfo` follows the specification's HasPreviousPage / HasNextPage, taking the "if the server can efficiently
 * determine" branches at no extra cost: each page's statement also fetches the row its near cursor names (`after` on
 * a forward page, `before` on a backward one). So on a forward page `hasPreviousPage` is true exactly when `after`
 * names a row that is still in the list (false without `after`, and false when that row has left the list since:
 * deleted, or no longer visible, though older rows may remain); on a backward page `hasNextPage` is true exactly when
 * `before` names a row still in the list. The other flag (`hasNextPage` forward, `hasPreviousPage` backward) is
 * exact: one more row than the page is fetched.
 */
import { badUserInput } from './errors.ts';

/**
 * A position in a list: the row's own creation time (ISO-8601 UTC with microseconds, `2025-01-02T03:04:05.123456Z`,
 * PostgreSQL's full precision) and id (lower-case UUID). Lists order by (createdAt, id); `id` breaks ties.
 */
export type Keyset = { createdAt: string; id: string };

/** The Relay paging arguments of a connection field as the client sent them (GraphQL nulls included). */
export type ConnectionArgs = {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
};

/**
 * A checked page request (the specification's pagination algorithm): the list's items strictly after `after` and
 * strictly before `before` (each optional), and of those the first `size` (`backward` false: `first`) or the last
 * `size` (`backward` true: `last`). `C` is the decoded cursor: a {@link Keyset}, or a list's own position type.
 */
export type PageRequest<C = Keyset> = { size: number; backward: boolean; after: C | null; before: C | null };

/** Relay's `PageInfo`: the same four fields in every subgraph (and in @neo4j/graphql's generated type). */
export type PageInfo = {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** The cursor of the page's first edge; null when the page is empty. */
  startCursor: string | null;
  /** The cursor of the page's last edge; null when the page is empty. */
  endCursor: string | null;
};

/** One page of a list: its items in list order, each with its cursor, and the page's {@link PageInfo}. */
export type Page<T> = { items: { node: T; cursor: string }[]; pageInfo: PageInfo };

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
 * Checks the Relay arguments of a connection field and decodes its cursors with `decode` (null: not a cursor of
 * this list). Without `first` and `last` the page has `def` items and goes forward, or backward when only `before`
 * is given (the items just before it).
 * @param def the page size when the client gives neither `first` nor `last` (1..{@link MAX_DEFAULT_PAGE_SIZE});
 *   `max` the largest a client may ask for (the least is 1).
 * @throws BAD_USER_INPUT naming the argument: `last` when both `first` and `last` are given (the specification
 *   discourages it; here it is refused), `first` or `last` outside 1..`max`, `after` or `before` not a cursor of
 *   this list.
 */
export function pageRequest<C>(
  args: ConnectionArgs,
  decode: (cursor: string) => C | null,
  def: number,
  max: number,
): PageRequest<C> {
  if (!(def >= 1 && def <= Math.min(max, MAX_DEFAULT_PAGE_SIZE)))
    throw new Error(`default page size ${def} is not within 1..${Math.min(max, MAX_DEFAULT_PAGE_SIZE)}`);
  const { first, last } = args;
  if (first != null && last != null) throw badUserInput('Give first or last, not both.', 'last');
  for (const [name, n] of [
    ['first', first],
    ['last', last],
  ] as const)
    if (n != null && (!Number.isInteger(n) || n < 1 || n > max))
      throw badUserInput(`${name} must be between 1 and ${max}.`, name);
  const cursor = (name: 'after' | 'before') => {
    const text = args[name];
    if (text == null) return null;
    const c = decode(text);
    if (c === null) throw badUserInput(`${name} is not a cursor of this list.`, name);
    return c;
  };
  const after = cursor('after');
  const before = cursor('before');
  const backward = last != null || (first == null && before !== null && after === null);
  return { size: first ?? last ?? def, backward, after, before };
}

/**
 * The largest page a connection serves when the client gives neither `first` nor `last` (the lists of records: 20;
 * a conversation's messages and a table's rows: 50). {@link pageRequest} refuses a larger default, and the bounds'
 * cost (bounds.ts) counts a connection paged by default as this many items.
 */
export const MAX_DEFAULT_PAGE_SIZE = 50;

/** {@link pageRequest} for a keyset list named `list` (cursors made by {@link encodeCursor} for that list). */
export function pageArgs(args: ConnectionArgs, list: string, def: number, max: number): PageRequest<Keyset> {
  return pageRequest(args, (c) => decodeCursor(list, c), def, max);
}

/**
 * A list's keyset order: the SQL expressions of its time and id columns (identifiers only, never input), and whether
 * the list runs newest first (`descending`).
 */
export type KeysetOrder = { at: string; id: string; descending: boolean };

/**
 * The ORDER BY list (without the keywords) in which a page's rows are FETCHED: the list's order, reversed for a
 * backward page (its last `size` rows are the first ones fetched). Use it for every ORDER BY of the page's statement
 * (an outer query that joins the page's rows sorts again with the outer aliases); {@link keysetPage} puts the rows
 * back in list order.
 */
export function keysetOrderBy(req: PageRequest, order: KeysetOrder): string {
  const dir = order.descending !== req.backward ? 'DESC' : 'ASC';
  return `${order.at} ${dir}, ${order.id} ${dir}`;
}

/**
 * The SQL of one page of a list ordered by `order`, for a statement whose next free parameter is `$n`: `where`
 * (` AND <keyset conditions>`, or empty), `orderBy` ({@link keysetOrderBy}), `limit` (an integer to write into the
 * statement) and `params` (append them to the statement's parameters). The near cursor's bound is inclusive (its
 * row tells {@link keysetPage} whether there is a previous, or next, page); the far one is strict.
 */
export function keysetSql(
  req: PageRequest,
  order: KeysetOrder,
  n: number,
): { where: string; orderBy: string; limit: number; params: string[] } {
  const conditions: string[] = [];
  const params: string[] = [];
  const bound = (k: Keyset | null, side: 'after' | 'before', inclusive: boolean) => {
    if (!k) return;
    const greater = (side === 'after') !== order.descending;
    const op = (greater ? '>' : '<') + (inclusive ? '=' : '');
    const p = n + params.length;
    conditions.push(` AND (${order.at}, ${order.id}) ${op} ($${p}::timestamptz, $${p + 1}::uuid)`);
    params.push(k.createdAt, k.id);
  };
  bound(req.after, 'after', !req.backward);
  bound(req.before, 'before', req.backward);
  const near = req.backward ? req.before : req.after;
  return {
    where: conditions.join(''),
    orderBy: keysetOrderBy(req, order),
    limit: req.size + 1 + (near ? 1 : 0),
    params,
  };
}

/**
 * A SQL select item: `<column>` (a timestamptz) as the cursor's text, `cursor_at`: ISO-8601 UTC with all six
 * fractional digits (a JS Date keeps only three). `column` is SQL text: pass identifiers only, never input.
 */
export const cursorAtColumn = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;

/**
 * The page from the rows of a statement built with {@link keysetSql} for `req`, in the order it fetched them; each row
 * selected {@link cursorAtColumn} and its `id`. Drops the near cursor's own row (its presence sets `hasPreviousPage`
 * forward, `hasNextPage` backward), keeps `req.size` rows (one more sets the other flag) and returns them in list
 * order.
 */
export function keysetPage<R extends { id: string; cursor_at: string }, T>(
  rows: R[],
  req: PageRequest,
  list: string,
  map: (r: R) => T,
): Page<T> {
  const near = req.backward ? req.before : req.after;
  const nearFound = near !== null && rows[0]?.id === near.id && rows[0]?.cursor_at === near.createdAt;
  const rest = nearFound ? rows.slice(1) : rows;
  const kept = rest.slice(0, req.size);
  const items = (req.backward ? kept.reverse() : kept).map((r) => ({
    node: map(r),
    cursor: encodeCursor(list, { createdAt: r.cursor_at, id: r.id }),
  }));
  return pageOf(items, req.backward, rest.length > req.size, nearFound);
}

/**
 * A {@link Page} of `items` (in list order) of a page request going `backward` or forward: `more` says that the
 * range between the cursors holds more items beyond the page, away from the near cursor (so `hasPreviousPage` on a
 * backward page, `hasNextPage` on a forward one); `nearFound` that the item of the near cursor (`before` backward,
 * `after` forward) is still in the list (the other flag).
 */
export function pageOf<T>(
  items: { node: T; cursor: string }[],
  backward: boolean,
  more: boolean,
  nearFound: boolean,
): Page<T> {
  return {
    items,
    pageInfo: {
      hasNextPage: backward ? nearFound : more,
      hasPreviousPage: backward ? more : nearFound,
      startCursor: items[0]?.cursor ?? null,
      endCursor: items.at(-1)?.cursor ?? null,
    },
  };
}

/** A {@link Page} in the shape of a Relay connection: `{ edges, pageInfo }`. */
export const connection = <T>(p: Page<T>) => ({ edges: p.items, pageInfo: p.pageInfo });
