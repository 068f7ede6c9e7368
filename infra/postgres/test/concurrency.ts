/**
 * Concurrency checks run against any PostgreSQL URL: two transactions on two connections.
 * Each returns the values it observed so the test asserts them.
 */
import pg from 'pg';

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

async function pidOf(c: pg.Client): Promise<number> {
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

/**
 * Row lock: A takes `SELECT ... FOR UPDATE` on a row holding 100 and subtracts 30; B's `balance * 2` on the
 * same row must wait for A (seen from a third connection in `pg_blocking_pids`) and then compute on A's
 * committed value: (100 - 30) * 2 = 140. Without locking B would read 100 and write 200 (a lost update).
 */
export async function rowLockScenario(url: string) {
  const [a, b, watcher] = await Promise.all([connect(url), connect(url), connect(url)]);
  try {
    await a.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
    await a.query('INSERT INTO accounts VALUES (1, 100)');
    const [pidA, pidB] = [await pidOf(a), await pidOf(b)];
    await a.query('BEGIN');
    const lockedRead = (await a.query('SELECT balance FROM accounts WHERE id = 1 FOR UPDATE')).rows[0]
      .balance as number;
    await a.query('UPDATE accounts SET balance = balance - 30 WHERE id = 1');
    await b.query('BEGIN');
    let bDone = false;
    const bUpdate = b
      .query<{ balance: number }>('UPDATE accounts SET balance = balance * 2 WHERE id = 1 RETURNING balance')
      .finally(() => (bDone = true));
    // Wait until the server reports B as blocked, and by whom.
    let blockers: number[] = [];
    for (let i = 0; i < 200 && blockers.length === 0; i++) {
      blockers = (await watcher.query<{ b: number[] }>('SELECT pg_blocking_pids($1) AS b', [pidB])).rows[0]!.b;
      if (blockers.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    const bFinishedWhileLocked = bDone;
    await a.query('COMMIT');
    const bResult = (await bUpdate).rows[0]!.balance;
    await b.query('COMMIT');
    const final = (await watcher.query('SELECT balance FROM accounts WHERE id = 1')).rows[0].balance as number;
    return { pidA, blockers, lockedRead, bFinishedWhileLocked, bResult, final };
  } finally {
    await Promise.all([a.end(), b.end(), watcher.end()]);
  }
}

/**
 * SERIALIZABLE write skew (the classic on-call doctors): both transactions read 2 doctors on call and each
 * takes one off. Under SERIALIZABLE one of them must fail with SQLSTATE 40001 so that one doctor stays on call.
 */
export async function writeSkewScenario(url: string) {
  const [a, b, watcher] = await Promise.all([connect(url), connect(url), connect(url)]);
  try {
    await a.query('CREATE TABLE doctors (name text PRIMARY KEY, on_call boolean NOT NULL)');
    await a.query("INSERT INTO doctors VALUES ('alice', true), ('bob', true)");
    const count = async (c: pg.Client) =>
      Number((await c.query('SELECT count(*) AS n FROM doctors WHERE on_call')).rows[0].n);
    await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    const seenByA = await count(a);
    const seenByB = await count(b);
    await a.query("UPDATE doctors SET on_call = false WHERE name = 'alice'");
    await b.query("UPDATE doctors SET on_call = false WHERE name = 'bob'");
    const outcome = async (c: pg.Client) => {
      try {
        await c.query('COMMIT');
        return 'committed';
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        return (e as { code?: string }).code ?? 'error';
      }
    };
    const commitA = await outcome(a);
    const commitB = await outcome(b);
    const onCall = (await watcher.query('SELECT name FROM doctors WHERE on_call ORDER BY name')).rows.map(
      (r) => r.name,
    );
    return { seenByA, seenByB, commitA, commitB, onCall };
  } finally {
    await Promise.all([a.end(), b.end(), watcher.end()]);
  }
}
