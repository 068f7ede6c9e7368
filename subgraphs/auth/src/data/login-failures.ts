/**
 * SQL of login throttling (table `auth.login_failures`, migrations/002_login_failures.sql). Not tenant-bound: the
 * caller is not authenticated yet; each statement is scoped by the SHA-256 of a normalised email. Every time is the
 * database's clock (`now()`), so replicas with skewed clocks agree. Windows are in seconds.
 */
import type { Db } from './accounts.ts';

/**
 * Counts one login attempt for `key` unless `maxFailures` attempts are already inside the last `windowSeconds`
 * seconds. Atomic across replicas: the upsert locks the email's row, so concurrent attempts are counted one after
 * the other and never more than `maxFailures` pass. Timestamps that left the window are dropped on the way.
 * @returns the number of attempts in the window including this one (1..maxFailures), or undefined when the
 *   limit is reached (nothing recorded).
 */
export async function countAttempt(
  db: Db,
  key: Buffer,
  windowSeconds: number,
  maxFailures: number,
): Promise<number | undefined> {
  const r = await db.query<{ failures: number }>(
    `INSERT INTO auth.login_failures AS f (email_sha256, failed_at, last_failed_at)
     VALUES ($1, ARRAY[now()], now())
     ON CONFLICT (email_sha256) DO UPDATE
        SET failed_at = ARRAY(SELECT t FROM unnest(f.failed_at) AS t
                               WHERE t > now() - make_interval(secs => $2::float8) ORDER BY t) || now(),
            last_failed_at = now()
      WHERE (SELECT count(*) FROM unnest(f.failed_at) AS t WHERE t > now() - make_interval(secs => $2::float8))
            < $3::int
     RETURNING cardinality(failed_at) AS failures`,
    [key, windowSeconds, maxFailures],
  );
  return r.rows[0]?.failures;
}

/**
 * Whole seconds until `key` may try again: until the `maxFailures`-th newest failure in the window leaves it
 * (then fewer than `maxFailures` remain). Undefined when fewer than `maxFailures` failures are in the window.
 */
export async function secondsUntilAllowed(
  db: Db,
  key: Buffer,
  windowSeconds: number,
  maxFailures: number,
): Promise<number | undefined> {
  const r = await db.query<{ seconds: number }>(
    `SELECT ceil(extract(epoch FROM t + make_interval(secs => $2::float8) - now()))::int AS seconds
       FROM auth.login_failures f CROSS JOIN LATERAL unnest(f.failed_at) AS t
      WHERE f.email_sha256 = $1 AND t > now() - make_interval(secs => $2::float8)
      ORDER BY t DESC
     OFFSET $3::int - 1 LIMIT 1`,
    [key, windowSeconds, maxFailures],
  );
  return r.rows[0]?.seconds;
}

/** Forgets every counted attempt of `key` (after a correct password). */
export async function clearFailures(db: Db, key: Buffer): Promise<void> {
  await db.query(`DELETE FROM auth.login_failures WHERE email_sha256 = $1`, [key]);
}

/** Deletes the rows whose newest failure is older than `windowSeconds`; returns how many. */
export async function pruneFailures(db: Db, windowSeconds: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM auth.login_failures WHERE last_failed_at <= now() - make_interval(secs => $1::float8)`,
    [windowSeconds],
  );
  return r.rowCount ?? 0;
}
