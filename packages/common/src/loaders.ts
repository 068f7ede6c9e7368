/**
 * Per-request batching of entity references. The gateway resolves a list of references (`_entities` with N
 * representations) by calling each subgraph once; the subgraph's `__resolveReference` runs once per representation.
 * A request loader collects the keys asked in one tick and loads them with ONE backend call (one SQL statement, one
 * Cypher query, one listing), so that the cost of a federated request does not grow with the number of references.
 */
import DataLoader from 'dataloader';

const LOADERS = new WeakMap<object, Map<string, DataLoader<unknown, unknown>>>();

/**
 * The loader named `name` of one request (`ctx`, the request's context object: a new one per HTTP request and per
 * WebSocket operation), created on first use with `batch`. It batches the loads of one tick and caches nothing (a
 * subscription keeps its context across events, and each event must read fresh rows).
 * @param batch loads every key of one tick; returns one value per key, in key order (null: not found or not visible
 *   to the caller — a reference the caller may not see resolves to null, never to an error that reveals it).
 */
export function requestLoader<K, V>(
  ctx: object,
  name: string,
  batch: (keys: readonly K[]) => Promise<readonly (V | null)[]>,
): DataLoader<K, V | null> {
  let byName = LOADERS.get(ctx);
  if (!byName) {
    byName = new Map();
    LOADERS.set(ctx, byName);
  }
  let loader = byName.get(name) as DataLoader<K, V | null> | undefined;
  if (!loader) {
    loader = new DataLoader<K, V | null>(batch, { cache: false });
    byName.set(name, loader as DataLoader<unknown, unknown>);
  }
  return loader;
}

/**
 * Orders the rows of a batch by the keys asked: `keyOf(row)` of each row; keys without a row get null. Keys are
 * compared as given (normalize case before loading).
 */
export function byKeys<K, V>(keys: readonly K[], rows: readonly V[], keyOf: (row: V) => K): (V | null)[] {
  const found = new Map<K, V>();
  for (const row of rows) found.set(keyOf(row), row);
  return keys.map((k) => found.get(k) ?? null);
}
