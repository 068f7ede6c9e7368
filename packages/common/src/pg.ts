import type { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` in one transaction on one pooled client: BEGIN, `fn(client)`, then COMMIT — or ROLLBACK
 * when `fn` throws (the error is rethrown) or when `commitIf(result)` is false (the result is returned).
 * The client is always released.
 */
export async function inTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  commitIf: (result: T) => boolean = () => true,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query(commitIf(out) ? 'COMMIT' : 'ROLLBACK');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
